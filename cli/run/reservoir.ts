/**
 * The work of `stoopt reservoir`: inputs and outputs checked, the settings
 * of a new run (cli/options/reservoir.ts) or the checkpoint of --resume, then
 * the STO reservoir or the ESN (cli/reservoir/run.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { Interrupted, UsageError } from "../errors.js";
import { checkOutputDir, declareInput, refuseExistingRun, removeStaleTemps } from "../io/output.js";
import { stopsCleanly } from "../signals.js";
import { checkMemory } from "../limits.js";
import { info, note } from "../log.js";
import type { ReservoirRunSettings } from "../options/reservoir.js";
import { reservoirSummary } from "../render/reservoir.js";
import { CHECKPOINT_FILE, fileSha256, loadCheckpoint, ReservoirSettings, RUN_FILES, RunResult, runEsn, runSto } from "../reservoir/run.js";

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

/** Run `stoopt reservoir` with its settings (cli/options/reservoir.ts): a new run, or --resume of a checkpoint. Returns the run's result. */
export async function runReservoir(r: ReservoirRunSettings): Promise<RunResult> {
  let s: ReservoirSettings;
  let outDir = r.out;
  const plotDir = r.plot;
  const resumeDir = r.resume;
  let result: RunResult;
  // inputs, then outputs, before any work (cli/io/output.ts): an output over an input is refused
  if (r.input !== undefined) declareInput(r.input, "input series");
  const ck = resumeDir !== undefined ? loadCheckpoint(resumeDir) : undefined;
  if (ck?.settings.input) declareInput(ck.settings.input.file, "input series");
  const resumingHere = resumeDir !== undefined && (outDir === undefined || path.resolve(outDir) === path.resolve(resumeDir));
  if (resumeDir !== undefined && !resumingHere) declareInput(path.join(resumeDir, CHECKPOINT_FILE), "checkpoint");
  if (outDir !== undefined) {
    checkOutputDir(outDir, "--out", RUN_FILES);
    if (!resumingHere && !r.force) refuseExistingRun(outDir, "--out", RUN_FILES, runAt);
  }
  if (resumingHere) checkOutputDir(resumeDir!, "--resume", RUN_FILES);
  if (plotDir !== undefined) checkOutputDir(plotDir, "--plot");
  if (ck !== undefined) {
    const dir = resumeDir!;
    s = ck.settings;
    if (r.resumeEpochs !== undefined) s.epochs = r.resumeEpochs;
    if (s.input && fileSha256(s.input.file) !== s.input.sha256)
      throw new UsageError(`--resume ${dir}: ${s.input.file} is not the series the checkpoint was trained on`);
    checkReservoirSize(s);
    outDir = outDir ?? dir;
    for (const f of removeStaleTemps(outDir)) note(`removed ${f}, left half-written by an interrupted run`);
    note(`resuming ${dir} after epoch ${ck.epochs_done} of ${s.epochs}`);
    result = await stopping(outDir, () => runSto(s, outDir, ck));
  } else {
    s = r.fresh!;
    checkReservoirSize(s);
    if (s.input) s.input.sha256 = fileSha256(s.input.file);
    for (const n of r.notes) note(n);
    // the series and the split are checked before any integration
    const { buildTask } = await import("../reservoir/run.js");
    const { core } = await import("../core/wasm.js");
    const { makeSplit } = await import("../reservoir/tasks.js");
    const t = buildTask(core(), s);
    makeSplit(t.u.length, s.washout, s.train, s.val, s.test, s.input ? s.input.file : `--length`);
    result = await stopping(outDir, () => (s.model === "esn" ? runEsn(s, outDir) : runSto(s, outDir)));
  }
  info(reservoirSummary(result));
  if (plotDir !== undefined) {
    const { plotReservoir } = await import("../render/figures/reservoir.js");
    const files = await plotReservoir(result, plotDir, r.export!);
    info(`wrote ${files.join(", ")}`);
  }
  return result;
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
