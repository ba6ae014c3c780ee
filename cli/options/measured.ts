/** Flags of `stoopt sysid` on measured data (README "Fitting measured data") and their parsers; the fit is cli/run/sysid-measured.ts. */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { choiceFlag, intFlag, optionReader, timeFlag } from "./parse.js";
import { parseQuantity, VOLTAGE, DIMENSIONLESS } from "../io/units.js";
import { SIGNAL_UNITS } from "../io/teacher-csv.js";
import type { UncertaintyMethod } from "../fit/measured.js";

/** Flags that, given on the command line, select the measured-data path (`--m0 teacher` alone does not). */
export const MEASURED_FLAGS = ["signal", "offset", "amplitude", "m0", "window", "stride", "uncertainty", "bootstrap", "scan"];

export function addMeasuredOptions(cmd: Command): Command {
  return cmd
    .option(
      "--signal <column>",
      "fit a measured signal: the teacher column of that name (any header, unit in the name: V_mV, V_uV, V) modelled as offset + amplitude * m_x; implies --m0 fit",
    )
    .option("--offset <value|fit>", "signal offset (units allowed: 8mV; bare number: the signal column's unit), or 'fit' (default with --signal; 0 for m_x)")
    .option("--amplitude <value|fit>", "signal per unit m_x (may be negative; units as --offset), or 'fit' (default with --signal; 1 for m_x)")
    .option(
      "--m0 <how>",
      "initial state of each window: teacher (its full state at the window's first row; default where my, mz exist) or fit (an unknown per window, in a tangent-plane chart)",
    )
    .option("--window <time>", "fitted initial states: cut each trace into windows of this length (bare number: ns)", "1ns")
    .option("--stride <time>", "fitted initial states: a window starts every this long (default: --window; shorter overlaps windows)")
    .option(
      "--uncertainty <method>",
      "auto (bootstrap where there are at least 10 windows, else gauss-newton with a warning), bootstrap (windows resampled, refitted; fitted initial states) or gauss-newton (sigma^2 (J^T J)^-1; too small on thermal data)",
      "auto",
    )
    .option("--bootstrap <n>", "bootstrap resamples", "50")
    .option("--scan <n>", "fitted initial states: start candidates scored before Levenberg-Marquardt (the best --starts are fitted)", "12");
}

/** The measured-data flags, checked (what the windowed fit needs besides the teacher settings). */
export interface MeasuredSettings {
  /** --m0 as given: each window's initial state from the teacher or fitted (undefined: not given; fitted) */
  m0?: "teacher" | "fit";
  /** --offset and --amplitude as written: a value, read in the signal's unit once the data is read (levelFromFlag), or 'fit'; undefined: not given */
  offset?: string;
  amplitude?: string;
  /** window length [s] */
  windowS: number;
  /** a window starts every this long [s] (--stride, else --window) */
  strideS: number;
  /** whether --washout was given (with fitted initial states the comparison otherwise starts at each window's first sample) */
  washoutGiven: boolean;
  uncertainty: UncertaintyMethod | "auto";
  /** bootstrap resamples */
  bootstrap: number;
  /** start candidates scored before Levenberg-Marquardt */
  scan: number;
  /** unit assumptions of bare numbers (--window, --stride) */
  notes: string[];
}

/** The measured-data flag given on the command line that selects the measured path, if any (`--m0 teacher` alone does not). */
export function measuredFlagGiven(opts: Record<string, unknown>, given: (flag: string) => boolean): string | undefined {
  return MEASURED_FLAGS.find((k) => given(k) && !(k === "m0" && opts.m0 === "teacher"));
}

export function measuredSettingsFromFlags(opts: Record<string, unknown>, given: (flag: string) => boolean): MeasuredSettings {
  const { str } = optionReader(opts);
  const notes: string[] = [];
  const m0 = str("m0") !== undefined ? choiceFlag(str("m0")!, "--m0", ["teacher", "fit"] as const) : undefined;
  const windowS = timeFlag(str("window")!, "--window", notes);
  const strideS = str("stride") !== undefined ? timeFlag(str("stride")!, "--stride", notes) : windowS;
  const uncertainty = choiceFlag<UncertaintyMethod | "auto">(str("uncertainty")!, "--uncertainty", ["auto", "gauss-newton", "bootstrap"]);
  const bootstrap = intFlag(str("bootstrap")!, "--bootstrap", 2, 100000);
  const scan = intFlag(str("scan")!, "--scan", 1, 10000);
  return { m0, offset: str("offset"), amplitude: str("amplitude"), windowS, strideS, washoutGiven: given("washout"), uncertainty, bootstrap, scan, notes };
}

/** A signal level flag (--offset, --amplitude) read in the signal's unit `unit` (a voltage unit, or "" for none): its value, or undefined for 'fit'; `dflt` when not given. */
export function levelFromFlag(text: string | undefined, flag: string, unit: string, dflt: number | undefined, notes: string[]): number | undefined {
  if (text === undefined) return dflt;
  if (text.trim() === "fit") return undefined;
  let v: number;
  if (unit !== "" && SIGNAL_UNITS[unit] !== undefined) {
    const p = parseQuantity(text, VOLTAGE, unit, flag);
    if (p.assumed) notes.push(`${flag}: read ${text} in ${unit} (the signal's unit)`);
    v = p.value / SIGNAL_UNITS[unit];
  } else v = parseQuantity(text, DIMENSIONLESS, "", `${flag} (the signal has no voltage unit in its name: give a plain number in its unit, or 'fit')`).value;
  if (flag === "--amplitude" && v === 0) throw new UsageError("--amplitude: must be non-zero (or 'fit')");
  return v;
}
