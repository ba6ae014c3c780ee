/**
 * The work of `stoopt mnist` (settings: cli/options/mnist.ts), loaded when the
 * command runs: outputs checked, the network configured from the settings (or
 * the checkpoint of --resume, the flags given checked against it), trained epoch
 * by epoch (cli/network/trainer.ts), result.json written after every epoch.
 */
import { checkOutputDir, declareInput, refuseExistingRun as refuseOverRun, removeStaleTemps } from "../io/output.js";
import fs from "node:fs";
import { stopsCleanly } from "../signals.js";
import { checkMemory } from "../limits.js";
import path from "node:path";
import { Interrupted, RuntimeFailure, UsageError } from "../errors.js";
import { DEFAULT_DATA, loadDataset } from "../io/idx.js";
import { info, note, progress } from "../log.js";
import { checkAgainstCheckpoint, MnistSettings, netConfigFor } from "../options/mnist.js";
import { epochLine, runHeader } from "../render/mnist.js";
import { toJsonIndented } from "../render/text.js";
import { core } from "../core/wasm.js";
import { CHECKPOINT_FILE, loadCheckpoint } from "../network/checkpoint.js";
import { METRICS_FILE, RESULT_FILE } from "../network/trainer.js";
import { layout, NetConfig } from "../network/config.js";
import { couplingMatrix, initialTheta } from "../network/init.js";
import { RunState, runStateOf, Session, writeOutputs } from "../network/trainer.js";
import type { ExportOptions } from "../render/figures/export.js";

/** Run `stoopt mnist` with its settings (cli/options/mnist.ts): a new run, or --resume of a checkpoint (the flags given beside it checked against it). */
export async function runMnist(s: MnistSettings): Promise<MnistResult> {
  const { threads, plot: plotDir, export: figures } = s;
  const c = core();
  let state: RunState;
  let dataDir: string;
  let outDir: string | undefined = s.out;
  // outputs, checked before the work (cli/io/output.ts); a folder that holds a run is not started over silently
  if (outDir !== undefined) {
    checkOutputDir(outDir, "--out", OUTPUT_FILES);
    const resumingHere = s.resume !== undefined && path.resolve(s.resume.dir) === path.resolve(outDir);
    if (!resumingHere && !s.force) refuseExistingRun(outDir);
  }
  if (s.resume !== undefined) checkOutputDir(s.resume.dir, "--resume", OUTPUT_FILES);
  if (plotDir !== undefined) checkOutputDir(plotDir, "--plot");
  if (s.resume !== undefined) {
    const dir = s.resume.dir;
    const ck = loadCheckpoint(path.join(dir, CHECKPOINT_FILE));
    const cfg = ck.header.config;
    if (outDir !== undefined && path.resolve(outDir) !== path.resolve(dir)) declareInput(path.join(dir, CHECKPOINT_FILE), "checkpoint");
    // refuse settings that contradict the checkpoint
    checkAgainstCheckpoint(s.resume.overrides, cfg, dir);
    dataDir = s.data ?? ck.header.data.dir;
    outDir = outDir ?? dir;
    state = runStateOf(ck);
    const data = loadDataset(dataDir);
    if (data.fingerprint !== ck.header.data.fingerprint)
      throw new UsageError(
        `--resume ${dir}: the data in ${dataDir} is not the data the checkpoint was trained on (fingerprint ${data.fingerprint.slice(0, 12)} vs ${ck.header.data.fingerprint.slice(0, 12)})`,
      );
    for (const f of removeStaleTemps(outDir)) note(`removed ${f}, left half-written by an interrupted run`);
    note(`resuming ${dir} after epoch ${state.epochsDone} of ${cfg.epochs}`);
    return run(state, data, threads, outDir, s.json, plotDir, figures);
  }
  dataDir = s.data ?? DEFAULT_DATA;
  const data = loadDataset(dataDir);
  const cfg = netConfigFor(s.fresh!, data);
  for (const n of s.notes) note(n);
  checkNetSize(cfg, threads);
  const theta0 = initialTheta(c, cfg);
  const f32 = cfg.precision === "f32";
  const mk = (n: number) => (f32 ? new Float32Array(n) : new Float64Array(n));
  state = {
    cfg,
    theta: f32 ? Float32Array.from(theta0) : theta0,
    adamM: mk(theta0.length),
    adamV: mk(theta0.length),
    wcp: couplingMatrix(c, cfg.seed, cfg.n),
    adamStep: 0,
    epochsDone: 0,
    history: [],
  };
  return run(state, data, threads, outDir, s.json, plotDir, figures);
}

/** result.json of `stoopt mnist --out` (and --json): what `stoopt plot` reads (cli/io/schema.ts MNIST_RESULT). */
export interface MnistResult {
  command: "mnist";
  config: Omit<NetConfig, "seed"> & { seed: string; dt_s: number; duration_s: number };
  data: { dir: string; fingerprint: string; train_images: number; test_images: number; val_images: number };
  epochs_done: number;
  test_accuracy: number | null;
  test_accuracy_note: string;
  wall_s: number;
  history: RunState["history"];
}

function resultObject(s: Session, wallS: number): MnistResult {
  const st = s.state;
  const cfg = st.cfg;
  const last = st.history[st.history.length - 1];
  return {
    command: "mnist",
    config: { ...cfg, seed: cfg.seed.toString(), dt_s: cfg.dtS, duration_s: cfg.dtS * cfg.steps },
    data: { dir: s.data.dir, fingerprint: s.data.fingerprint, train_images: s.trainCount, test_images: s.testCount, val_images: s.valCount },
    epochs_done: st.epochsDone,
    test_accuracy: last?.test_accuracy ?? null,
    test_accuracy_note: "fraction of the test images classified correctly after the last finished epoch",
    wall_s: wallS,
    history: st.history,
  };
}

const OUTPUT_FILES = [CHECKPOINT_FILE, METRICS_FILE, RESULT_FILE];

/** `--out DIR` over a finished or running run: refuse, pointing to --resume and --force. */
function refuseExistingRun(dir: string): void {
  refuseOverRun(dir, "--out", OUTPUT_FILES, (d) => {
    const r = JSON.parse(fs.readFileSync(path.join(d, RESULT_FILE), "utf8")) as { epochs_done?: number; config?: { epochs?: number } };
    return typeof r.epochs_done === "number" ? `a run at epoch ${r.epochs_done} of ${r.config?.epochs ?? "?"}` : undefined;
  });
}

/** The step count and each worker's core memory, against what the core takes. */
function checkNetSize(cfg: NetConfig, threads: number): void {
  const elem = cfg.precision === "f32" ? 4 : 8;
  const perWorker = Math.ceil(cfg.batch / threads) + 4;
  // trajectory and coupling fields per RK4 stage (cli/network mirrors core-rs/src/network.rs Net::new),
  // and the worker's optimizer: theta, Adam's m and v, one gradient slot per worker
  const params = layout(cfg.n, cfg.nIn, cfg.nOut).total;
  const bytes = elem * perWorker * (17 * cfg.n * cfg.steps + 8 * 3 * cfg.n + 3 * cfg.nIn) + 8 * cfg.n * cfg.n + elem * (3 + threads) * params;
  checkMemory(
    bytes,
    `--duration, --n and --batch (${cfg.steps} steps, N = ${cfg.n}, ${Math.ceil(cfg.batch / threads)} images per worker)`,
    "one worker's network",
  );
}

async function run(
  state: RunState,
  data: ReturnType<typeof loadDataset>,
  threads: number,
  outDir: string | undefined,
  json: boolean,
  plotDir?: string,
  figures?: ExportOptions,
): Promise<MnistResult> {
  const cfg = state.cfg;
  if (data.rows * data.cols !== cfg.nIn) throw new UsageError(`${data.dir}: images are ${data.rows}x${data.cols}, the network expects ${cfg.nIn} pixels`);
  checkNetSize(cfg, threads);
  const s = new Session(state, data, threads);
  const release = stopsCleanly();
  try {
    info(runHeader(cfg, threads, { train: s.trainCount, test: s.testCount, val: s.valCount }));
    let wall = state.history.length ? state.history[state.history.length - 1].wall_s : 0;
    for (let e = state.epochsDone; e < cfg.epochs; e++) {
      const t0 = performance.now();
      const bar = progress(s.trainCount, `epoch ${e + 1}/${cfg.epochs}`);
      let tr: Awaited<ReturnType<Session["trainEpoch"]>>;
      try {
        tr = await s.trainEpoch(e, (d) => bar.update(d));
      } finally {
        bar.stop();
      }
      const te0 = performance.now();
      const ev = await s.evaluate("test");
      const va = s.valCount > 0 ? await s.evaluate("val") : undefined;
      const evalS = (performance.now() - te0) / 1000;
      const ph = s.physicsSummary();
      state.epochsDone = e + 1;
      wall += (performance.now() - t0) / 1000;
      state.history.push({
        epoch: e + 1,
        train_loss: tr.loss,
        train_accuracy: tr.accuracy,
        test_loss: ev.loss,
        test_accuracy: ev.accuracy,
        val_loss: va ? va.loss : null,
        val_accuracy: va ? va.accuracy : null,
        h_appl_mean_oe: ph.mean,
        h_appl_var_oe2: ph.variance,
        j_dc_a: ph.jdc,
        alpha: ph.alpha,
        images_per_s: s.trainCount / tr.seconds,
        train_s: tr.seconds,
        eval_s: evalS,
        wall_s: wall,
      });
      if (outDir !== undefined) writeOutputs(outDir, s, resultObject(s, wall));
      info(epochLine(state.history[state.history.length - 1], cfg.epochs));
    }
    if (json) process.stdout.write(toJsonIndented(resultObject(s, wall)));
    if (plotDir !== undefined && outDir !== undefined) {
      const { plotMnist } = await import("./plot.js");
      const files = await plotMnist(JSON.parse(JSON.stringify(resultObject(s, wall))), plotDir, {
        checkpoint: path.join(outDir, CHECKPOINT_FILE),
        image: 0,
        stos: 5,
        export: figures,
      });
      info(`wrote ${files.join(", ")}`);
    }
    return resultObject(s, wall);
  } catch (err) {
    if (err instanceof Interrupted) {
      // the last finished epoch's checkpoint is on disk already: that is the consistent state
      const kept =
        outDir !== undefined && state.epochsDone > 0
          ? `${outDir} keeps epoch ${state.epochsDone} (continue with --resume ${outDir})`
          : "no epoch finished; nothing was written";
      throw new Interrupted(err.signal, `interrupted by ${err.signal} during epoch ${state.epochsDone + 1}: ${kept}`);
    }
    throw explainFailure(err, cfg, state.epochsDone, outDir);
  } finally {
    release();
    await s.close();
  }
}

/** A diverged step, said with its likely cause and what was kept. */
function explainFailure(err: unknown, cfg: RunState["cfg"], epochsDone: number, outDir: string | undefined): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  if (!/not finite/.test(msg)) return err;
  const hint =
    (cfg.x0Norm ?? "unit") === "raw" && cfg.groups.includes("win")
      ? "; with --x0-norm raw each STO keeps |m| = |(W_in u)_i|, and training W_in can grow it until the LLG is singular (1 + lambda m_x = 0): freeze W_in (--tune wout or wout,phys) or use --x0-norm unit"
      : "";
  const kept = outDir !== undefined && epochsDone > 0 ? `; ${outDir} keeps epoch ${epochsDone}` : "; nothing was written";
  return new RuntimeFailure(`epoch ${epochsDone + 1}: ${msg}${hint}${kept}`);
}
