/** Flags of `stoopt spectrum` into typed settings: a trace file's spectrum, or simulated sweeps; the run is cli/run/spectrum.ts. */
import os from "node:os";
import { paramsFromOptions } from "../model.js";
import { choiceFlag, intFlag, optionReader, quantityFlag, seedFlag, temperatureFlag, timeFlag } from "./parse.js";
import { FREQUENCY, TIME, parseQuantity } from "../io/units.js";
import { UsageError } from "../errors.js";
import { integerRatio, Scheme } from "../simulator.js";
import { MIN_SEGMENT, WINDOWS, WindowName } from "../spectrum/psd.js";
import { parseSweep, PointSettings } from "../spectrum/sweep.js";
import { checkCount, checkMemory, U32_MAX } from "../limits.js";
import { exportOptions } from "./figures.js";
import type { ExportOptions } from "../render/figures/export.js";
import type { SweepSettings } from "../run/spectrum.js";

/** `--segment`: a whole number of samples, or a duration (with a time unit) turned into samples. */
export function segmentFlag(text: string | undefined, sampleS: number): number | undefined {
  if (text === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(text)) return intFlag(text, "--segment", MIN_SEGMENT);
  const t = parseQuantity(text, TIME, "s", "--segment").value;
  const n = Math.round(t / sampleS);
  if (n < MIN_SEGMENT) throw new UsageError(`--segment: ${text} is ${n} samples of ${sampleS} s; at least ${MIN_SEGMENT}`);
  return n;
}

function overlapFlag(text: string): number {
  const m = /^\s*([0-9.]+)\s*(%?)\s*$/.exec(text);
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(v >= 0 && v < 1)) throw new UsageError(`--overlap: expected a fraction in [0, 1) or a percentage below 100% (got '${text}')`);
  return v;
}

/** Where the results go. */
export interface SpectrumOutputs {
  /** -o FILE: the CSV (then stdout stays empty, or carries --json) */
  output?: string;
  /** --json: the result as JSON on stdout */
  json: boolean;
  /** --plot DIR, and its figures' --size, --format, --dpi */
  plot?: string;
  export: ExportOptions;
}

/** The spectrum of a trace file. */
export interface TraceRunSettings {
  kind: "trace";
  /** the trace CSV, or - for stdin */
  file: string;
  /** reading the trace: factor on the magnetization, first N trials, separator, measured column */
  scale: number;
  maxTrials?: number;
  delimiter?: string;
  signal?: string;
  window: WindowName;
  /** --segment as written: samples, or a duration read against the trace's sample interval (segmentFlag) */
  segment?: string;
  overlap: number;
  fMinHz: number;
  fMaxHz: number;
  outputs: SpectrumOutputs;
  /** unit assumptions of bare numbers, noted before the analysis */
  notes: string[];
}

/** Simulated sweeps over parameters. */
export interface SweepRunSettings {
  kind: "sweep";
  sweep: SweepSettings;
  threads: number;
  outputs: SpectrumOutputs;
  /** unit assumptions of bare numbers, noted before the work */
  notes: string[];
}

export function spectrumSettingsFromFlags(file: string | undefined, opts: Record<string, unknown>): TraceRunSettings | SweepRunSettings {
  const { str, list } = optionReader(opts);
  const notes: string[] = [];
  const figureExport = exportOptions(opts, notes);
  const window = choiceFlag<WindowName>(str("window")!, "--window", WINDOWS);
  const overlap = overlapFlag(str("overlap")!);
  const fMinHz = quantityFlag(str("fmin")!, FREQUENCY, "Hz", "--fmin", notes);
  const fMaxHz = str("fmax") !== undefined ? quantityFlag(str("fmax")!, FREQUENCY, "Hz", "--fmax", notes) : Infinity;
  if (!(fMaxHz > fMinHz)) throw new UsageError(`--fmax must be above --fmin`);
  const sweeps = list("sweep");
  const outputs: SpectrumOutputs = { output: str("output"), json: Boolean(opts.json), plot: str("plot"), export: figureExport };
  if (sweeps.length === 0) {
    // ---------------- trace
    if (file === undefined) throw new UsageError("give a trace file (or - for stdin), or --sweep NAME=MIN:MAX:STEP to simulate one");
    const scale = Number(str("scale"));
    if (!Number.isFinite(scale) || scale === 0) throw new UsageError(`--scale: must be a non-zero number (got '${str("scale")}')`);
    const maxTrials = str("trials") !== undefined ? intFlag(str("trials")!, "--trials", 1) : undefined;
    return {
      kind: "trace",
      file,
      scale,
      maxTrials,
      delimiter: str("delimiter"),
      signal: str("signal"),
      window,
      segment: str("segment"),
      overlap,
      fMinHz,
      fMaxHz,
      outputs,
      notes,
    };
  }
  // ---------------- sweep
  if (file !== undefined) throw new UsageError(`--sweep simulates its own traces; drop the trace argument '${file}'`);
  const axes = sweeps.map((s) => parseSweep(s));
  const names = axes.map((a) => a.spec.name);
  if (new Set(names).size !== names.length) throw new UsageError("--sweep: a parameter is swept twice");
  for (const a of axes) if (opts[a.spec.name] !== undefined) throw new UsageError(`--${a.spec.name}: ${a.spec.name} is swept; drop the flag or the sweep`);
  const base = paramsFromOptions(opts, notes);
  const temperatureK = temperatureFlag(str("temperature")!, "--temperature", notes);
  const scheme = choiceFlag<Scheme>(str("scheme") ?? (temperatureK > 0 ? "heun" : "rk4"), "--scheme", ["rk4", "heun"]);
  const dtS = timeFlag(str("dt")!, "--dt", notes);
  const sampleS = timeFlag(str("sample")!, "--sample", notes);
  const durationS = timeFlag(str("duration")!, "--duration", notes);
  const washoutS = timeFlag(str("washout")!, "--washout", notes, false);
  const maxWashoutS = Math.max(washoutS, timeFlag(str("max-washout")!, "--max-washout", notes, false));
  const chunkS = timeFlag(str("settle-chunk")!, "--settle-chunk", notes);
  const tolText = str("settle-tol");
  const settleTol = tolText !== undefined ? Number(tolText) : temperatureK > 0 ? 1e-2 : 1e-3;
  if (!(settleTol > 0)) throw new UsageError(`--settle-tol: must be a number > 0 (got '${tolText}')`);
  const trials = str("trials") !== undefined ? intFlag(str("trials")!, "--trials", 1, 4096) : 1;
  const threads = str("threads") !== undefined ? intFlag(str("threads")!, "--threads", 1, 64) : Math.min(2, os.availableParallelism());
  const point: PointSettings = {
    scheme,
    dtS,
    sampleS,
    durationS,
    washoutS,
    maxWashoutS,
    chunkS,
    settleTol,
    temperatureK,
    trials,
    seed: seedFlag(str("seed")!, "--seed"),
    window,
    segment: segmentFlag(str("segment"), sampleS),
    overlap,
  };
  // check step ratios, the counts the core takes (cli/limits.ts) and the segment before the work
  checkCount(integerRatio(sampleS, dtS, "--sample"), "--sample", "the steps per sample (--sample / --dt)", U32_MAX, 1);
  const windowSamples = checkCount(
    integerRatio(durationS, sampleS, "--duration"),
    "--duration",
    "the samples of the window (--duration / --sample)",
    U32_MAX,
    1,
  );
  const chunkSamples = checkCount(
    integerRatio(chunkS, sampleS, "--settle-chunk"),
    "--settle-chunk",
    "the samples per chunk (--settle-chunk / --sample)",
    U32_MAX,
    1,
  );
  checkCount(Math.ceil(maxWashoutS / chunkS - 1e-9), "--max-washout", "the washout chunks (--max-washout / --settle-chunk)", U32_MAX, 0);
  // one point's trajectory buffer (spectrum-sweep.ts runPoint): 3 components x trials x samples
  checkMemory(
    8 * 3 * trials * Math.max(chunkSamples, windowSamples),
    `--duration, --sample and --trials (${trials} x ${Math.max(chunkSamples, windowSamples)} samples)`,
    "one point's trajectories",
  );
  if (windowSamples < MIN_SEGMENT) throw new UsageError(`--duration: ${windowSamples} samples of --sample; at least ${MIN_SEGMENT}`);
  if (point.segment !== undefined && point.segment > windowSamples)
    throw new UsageError(`--segment: ${point.segment} samples, longer than the window (--duration, ${windowSamples} samples)`);
  return { kind: "sweep", sweep: { base, axes, point, threshold: opts.threshold !== false, growthS: 30e-9 }, threads, outputs, notes };
}
