/** Flags of `stoopt reservoir` into typed settings (all checked before any work); the run is cli/run/reservoir.ts. */
import { UsageError } from "../errors.js";
import { checkCount, U32_MAX } from "../limits.js";
import { defaultParams, PARAMS, parseParamValue } from "../model.js";
import { choiceFlag, FlagValues, intFlag, numberFlag, quantityFlag, seedFlag, timeFlag } from "./parse.js";
import { CURRENT, FIELD } from "../io/units.js";
import { RANGES } from "../network/config.js";
import { GROUPS, Group, ReservoirSettings } from "../reservoir/run.js";
import { TaskName } from "../reservoir/tasks.js";
import { exportOptions } from "./figures.js";
import type { ExportOptions } from "../render/figures/export.js";

/** Every setting of `stoopt reservoir`, checked before any file is read. */
export interface ReservoirRunSettings {
  /** --out DIR */
  out?: string;
  /** --plot DIR, and its figures' --size, --format, --dpi */
  plot?: string;
  export?: ExportOptions;
  /** --resume DIR: the settings come from its checkpoint */
  resume?: string;
  /** --epochs given beside --resume (extends the run) */
  resumeEpochs?: number;
  /** --force: start afresh over a folder that holds a run */
  force: boolean;
  /** --json: result.json on stdout at the end */
  json: boolean;
  /** --input FILE (declared as an input even beside --resume) */
  input?: string;
  /** a new run's settings (no --resume) */
  fresh?: ReservoirSettings;
  /** unit assumptions of bare numbers, noted when a new run starts */
  notes: string[];
}

/** `given`: whether a flag was on the command line (not a default). */
export function reservoirSettingsFromFlags(opts: FlagValues, given: (flag: string) => boolean): ReservoirRunSettings {
  const notes: string[] = [];
  const plot = opts.plot as string | undefined;
  const s: ReservoirRunSettings = {
    out: opts.out as string | undefined,
    plot,
    // figure settings are checked before any work
    export: plot !== undefined ? exportOptions(opts, notes) : undefined,
    resume: opts.resume as string | undefined,
    force: Boolean(opts.force),
    json: Boolean(opts.json),
    input: opts.input as string | undefined,
    notes,
  };
  if (s.resume !== undefined) {
    if (given("epochs")) s.resumeEpochs = intFlag(opts.epochs as string, "--epochs", 0, 100000);
  } else s.fresh = settingsFromFlags(opts, notes);
  return s;
}

/** Whole number of steps in `total` (relative tolerance 1e-9), at least 1. */
function wholeSteps(total: number, step: number, flag: string, what: string): number {
  const r = total / step;
  const k = Math.round(r);
  if (k < 1) throw new UsageError(`${flag}: ${what} (${total * 1e12} ps) is shorter than one RK4 step (${step * 1e12} ps)`);
  if (Math.abs(r - k) > 1e-9 * r) throw new UsageError(`${flag}: ${what} (${total * 1e12} ps) is not a whole number of RK4 steps of ${step * 1e12} ps`);
  return k;
}

/** A new run's flags into the reservoir's settings (cli/reservoir/run.ts). */
function settingsFromFlags(opts: FlagValues, notes: string[]): ReservoirSettings {
  const str = (k: string) => opts[k] as string;
  const model = choiceFlag(str("model"), "--model", ["sto", "esn"] as const);
  const n = intFlag(str("n"), "--n", 1, 2000);
  const virtual = intFlag(str("virtual"), "--virtual", 1, 1000);
  const dtS = timeFlag(str("dt"), "--dt", notes);
  const holdS = timeFlag(str("hold"), "--hold", notes);
  const steps = checkCount(wholeSteps(holdS, dtS, "--hold", "the hold"), "--hold", "the RK4 steps per hold (--hold / --dt)", U32_MAX, 1);
  if (steps % virtual !== 0) throw new UsageError(`--hold: ${steps} RK4 steps do not split into --virtual ${virtual} equal intervals`);
  const sub = steps / virtual;
  const p = (name: string) => PARAMS.find((q) => q.name === name)!;
  const hAppl0Oe = parseParamValue(p("H_appl"), str("H_appl"), "--H_appl", notes);
  const jDc0A = parseParamValue(p("j_DC"), str("j_DC"), "--j_DC", notes);
  const alpha0 = parseParamValue(p("alpha"), str("alpha"), "--alpha", notes);
  const inRange = (v: number, [lo, hi]: [number, number], flag: string) => {
    if (v < lo || v > hi) throw new UsageError(`${flag}: ${v} is outside the training range [${lo}, ${hi}]`);
  };
  inRange(hAppl0Oe, RANGES.happl, "--H_appl");
  inRange(jDc0A, RANGES.jdc, "--j_DC");
  inRange(alpha0, RANGES.alpha, "--alpha");
  const tuneText = str("tune").trim();
  const tune = tuneText === "none" || tuneText === "" ? [] : tuneText.split(",").map((g) => choiceFlag<Group>(g.trim(), "--tune", GROUPS));
  let task: TaskName = choiceFlag(str("task"), "--task", ["narma10", "mackey-glass", "memory-capacity"] as const);
  let input: ReservoirSettings["input"];
  if (opts.input !== undefined) {
    if (opts.target === undefined) throw new UsageError("--input needs --target COLUMN (the column to predict)");
    task = "csv";
    input = { file: str("input"), column: str("inputColumn"), target: str("target"), sha256: "" };
  } else if (opts.target !== undefined) throw new UsageError("--target needs --input FILE");
  const horizons = str("horizons")
    .split(",")
    .map((h) => intFlag(h, "--horizons", 1, 10000));
  const washout = intFlag(str("washout"), "--washout", 0);
  const train = intFlag(str("train"), "--train", 2);
  const val = intFlag(str("val"), "--val", 2);
  const test = intFlag(str("test"), "--test", 2);
  const length = checkCount(
    opts.length !== undefined ? intFlag(str("length"), "--length", 1) : washout + train + val + test,
    opts.length !== undefined ? "--length" : "--washout, --train, --val and --test",
    "the holds of the series",
    U32_MAX,
    1,
  );
  if (task !== "csv" && length < washout + train + val + test)
    throw new UsageError(`--length: ${length} holds is shorter than washout + train + validation + test = ${washout + train + val + test}`);
  const perHoldSteps = steps;
  const every =
    opts.checkpointEvery !== undefined
      ? intFlag(str("checkpointEvery"), "--checkpoint-every", 1)
      : Math.max(1, Math.round(Math.sqrt((3 * length) / (20 * perHoldSteps))));
  const s: ReservoirSettings = {
    task,
    model,
    input,
    horizons,
    mcDelays: intFlag(str("mcDelays"), "--mc-delays", 1, 10000),
    length,
    washout,
    train,
    val,
    test,
    seed: seedFlag(str("seed"), "--seed").toString(),
    n,
    virtual,
    feat: choiceFlag(str("features"), "--features", ["all", "mx", "mz"] as const),
    inputMode: choiceFlag(str("inputMode"), "--input-mode", ["field", "current", "both"] as const),
    dtS,
    holdS,
    sub,
    cmOe: quantityFlag(str("cm"), FIELD, "Oe", "--cm", notes),
    hAppl0Oe,
    jDc0A,
    alpha0,
    inField0Oe: quantityFlag(str("inField"), FIELD, "Oe", "--in-field", notes),
    inCurrent0A: quantityFlag(str("inCurrent"), CURRENT, "A", "--in-current", notes),
    tune,
    epochs: intFlag(str("epochs"), "--epochs", 0, 100000),
    lr: {
      happl: numberFlag(str("lrHappl"), "--lr-happl"),
      jdc: numberFlag(str("lrJdc"), "--lr-jdc"),
      alpha: numberFlag(str("lrAlpha"), "--lr-alpha"),
      field: numberFlag(str("lrField"), "--lr-field"),
      current: numberFlag(str("lrCurrent"), "--lr-current"),
      win: numberFlag(str("lrWin"), "--lr-win"),
    },
    checkpointEvery: every,
    params: Array.from(defaultParams()),
    lambdas: Array.from({ length: 15 }, (_, i) => 10 ** (i - 14)),
    objective: choiceFlag(str("objective"), "--objective", ["train", "heldout"] as const),
  };
  if (task === "memory-capacity" && washout < s.mcDelays)
    throw new UsageError(`--washout ${washout} is shorter than --mc-delays ${s.mcDelays}: the first targets would be zeros, not the input`);
  return s;
}
