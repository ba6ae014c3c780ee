/** Flags of `stoopt reservoir` into typed settings (all checked before any work), then the run. */
import { Command } from "commander";
import fs from "node:fs";
import path from "node:path";
import { Interrupted, UsageError } from "../errors.js";
import { checkOutputDir, declareInput, refuseExistingRun, removeStaleTemps } from "../output.js";
import { stopsCleanly } from "../signals.js";
import { checkCount, checkMemory, U32_MAX } from "../limits.js";
import { info, note } from "../log.js";
import { defaultParams, PARAMS, parseParamValue } from "../model.js";
import { choiceFlag, intFlag, quantityFlag, seedFlag, timeFlag } from "../options.js";
import { CURRENT, FIELD } from "../units.js";
import { RANGES } from "../network/config.js";
import { CHECKPOINT_FILE, fileSha256, GROUPS, Group, loadCheckpoint, ReservoirSettings, RUN_FILES, RunResult, runEsn, runSto } from "./run.js";
import { TaskName } from "./tasks.js";

function numberFlag(text: string, flag: string, min = 0): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < min) throw new UsageError(`${flag}: '${text}' is not a number >= ${min}`);
  return v;
}

/** Whole number of steps in `total` (relative tolerance 1e-9), at least 1. */
function wholeSteps(total: number, step: number, flag: string, what: string): number {
  const r = total / step;
  const k = Math.round(r);
  if (k < 1) throw new UsageError(`${flag}: ${what} (${total * 1e12} ps) is shorter than one RK4 step (${step * 1e12} ps)`);
  if (Math.abs(r - k) > 1e-9 * r) throw new UsageError(`${flag}: ${what} (${total * 1e12} ps) is not a whole number of RK4 steps of ${step * 1e12} ps`);
  return k;
}

export function settingsFromFlags(opts: Record<string, string | boolean | undefined>, notes: string[]): ReservoirSettings {
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

/** What the core must hold for a run (cli/limits.ts): exit 2 naming the flags if one core cannot. */
export function checkReservoirSize(s: ReservoirSettings): void {
  const nOut = s.task === "memory-capacity" ? s.mcDelays : s.task === "mackey-glass" ? s.horizons.length : 1;
  const nodes = s.n * s.virtual;
  const f = s.model === "esn" ? nodes : s.virtual * (s.feat === "all" ? 3 * s.n : s.n);
  // features and their gradient (T x F), targets, the ridge Gram matrix (core/reservoir.ts Problem)
  let words = 2 * s.length * f + s.length * nOut + (f + 1) * (f + 1 + 2 * nOut);
  if (s.model === "esn") words += nodes * nodes + 3 * nodes;
  // checkpoints and one recorded segment of the adjoint (core-rs/src/reservoir.rs state_words)
  else words += (Math.ceil(s.length / s.checkpointEvery) + 1) * 3 * s.n + s.checkpointEvery * s.virtual * s.sub * 20 * s.n + s.n * s.n;
  checkMemory(8 * words, `--length, --n, --virtual, --hold and --checkpoint-every (${s.length} holds, ${f} features per hold)`, "the reservoir");
}

/** The run's epoch, read from DIR/result.json, for messages. */
function runAt(dir: string): string | undefined {
  const r = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8")) as { epochs_done?: number; settings?: { epochs?: number } };
  return typeof r.epochs_done === "number" ? `a run at epoch ${r.epochs_done} of ${r.settings?.epochs ?? "?"}` : undefined;
}

export async function reservoirAction(cmd: Command, opts: Record<string, string | boolean | undefined>): Promise<void> {
  const notes: string[] = [];
  let s: ReservoirSettings;
  let outDir = opts.out as string | undefined;
  const plotDir = opts.plot as string | undefined;
  const resumeDir = opts.resume as string | undefined;
  let result: RunResult;
  // figure settings are checked before any work
  const { exportOptions } = await import("../plots/export.js");
  const figureExport = plotDir !== undefined ? exportOptions(opts, notes) : undefined;
  // inputs, then outputs, before any work (cli/output.ts): an output over an input is refused
  if (opts.input !== undefined) declareInput(opts.input as string, "input series");
  const ck = resumeDir !== undefined ? loadCheckpoint(resumeDir) : undefined;
  if (ck?.settings.input) declareInput(ck.settings.input.file, "input series");
  const resumingHere = resumeDir !== undefined && (outDir === undefined || path.resolve(outDir) === path.resolve(resumeDir));
  if (resumeDir !== undefined && !resumingHere) declareInput(path.join(resumeDir, CHECKPOINT_FILE), "checkpoint");
  if (outDir !== undefined) {
    checkOutputDir(outDir, "--out", RUN_FILES);
    if (!resumingHere && !opts.force) refuseExistingRun(outDir, "--out", RUN_FILES, runAt);
  }
  if (resumingHere) checkOutputDir(resumeDir!, "--resume", RUN_FILES);
  if (plotDir !== undefined) checkOutputDir(plotDir, "--plot");
  if (ck !== undefined) {
    const dir = resumeDir!;
    s = ck.settings;
    if (cmd.getOptionValueSource("epochs") === "cli") s.epochs = intFlag(opts.epochs as string, "--epochs", 0, 100000);
    if (s.input && fileSha256(s.input.file) !== s.input.sha256)
      throw new UsageError(`--resume ${dir}: ${s.input.file} is not the series the checkpoint was trained on`);
    checkReservoirSize(s);
    outDir = outDir ?? dir;
    for (const f of removeStaleTemps(outDir)) note(`removed ${f}, left half-written by an interrupted run`);
    note(`resuming ${dir} after epoch ${ck.epochs_done} of ${s.epochs}`);
    result = await stopping(outDir, () => runSto(s, outDir, ck));
  } else {
    s = settingsFromFlags(opts, notes);
    checkReservoirSize(s);
    if (s.input) s.input.sha256 = fileSha256(s.input.file);
    for (const n of notes) note(n);
    // the series and the split are checked before any integration
    const { buildTask } = await import("./run.js");
    const { core } = await import("../core/wasm.js");
    const { makeSplit } = await import("./tasks.js");
    const t = buildTask(core(), s);
    makeSplit(t.u.length, s.washout, s.train, s.val, s.test, s.input ? s.input.file : `--length`);
    result = await stopping(outDir, () => (s.model === "esn" ? runEsn(s, outDir) : runSto(s, outDir)));
  }
  const mc = result.memory_capacity !== undefined ? `, memory capacity ${result.memory_capacity.toFixed(2)}` : "";
  info(
    `${result.model}: test NRMSE ${result.test_nrmse.map((v) => v.toFixed(4)).join(", ")} (${result.outputs.length > 4 ? "mean " + result.test_nrmse_mean.toFixed(4) : result.outputs.join(", ")})${mc}; epoch ${result.chosen_epoch} chosen on validation; lambda ${result.lambda}`,
  );
  if (plotDir !== undefined) {
    const { plotReservoir } = await import("../plots/reservoir.js");
    const files = await plotReservoir(result, plotDir, figureExport!);
    info(`wrote ${files.join(", ")}`);
  }
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}

/**
 * Run the work so that SIGINT/SIGTERM stop it cleanly (cli/signals.ts): the
 * run files in `outDir` are those of the last finished epoch (each written
 * atomically after it), and the message says which epoch that is.
 */
async function stopping(outDir: string | undefined, work: () => Promise<RunResult>): Promise<RunResult> {
  const release = stopsCleanly();
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    let kept = "no tuned epoch finished; nothing was written";
    if (outDir !== undefined && fs.existsSync(path.join(outDir, CHECKPOINT_FILE))) {
      const done = (JSON.parse(fs.readFileSync(path.join(outDir, CHECKPOINT_FILE), "utf8")) as { epochs_done: number }).epochs_done;
      kept = `${outDir} keeps epoch ${done} (continue with --resume ${outDir})`;
    } else if (outDir === undefined) kept = "no --out, nothing was kept";
    throw new Interrupted(err.signal, `interrupted by ${err.signal}: ${kept}`);
  } finally {
    release();
  }
}
