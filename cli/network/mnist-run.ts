/** The work of `stoopt mnist` (cli/commands/mnist.ts), loaded when the command runs. */
import { checkOutputDir, declareInput, refuseExistingRun as refuseOverRun, removeStaleTemps } from "../output.js";
import fs from "node:fs";
import { stopsCleanly } from "../signals.js";
import { checkCount, checkMemory, U32_MAX } from "../limits.js";
import { Command } from "commander";
import path from "node:path";
import { Interrupted, RuntimeFailure, UsageError } from "../errors.js";
import { DEFAULT_DATA, loadDataset } from "../idx.js";
import { info, note, progress } from "../log.js";
import { defaultParams, PARAMS, parseParamValue } from "../model.js";
import { intFlag, seedFlag, timeFlag, choiceFlag } from "../options.js";
import { core } from "../core/wasm.js";
import { CHECKPOINT_FILE, loadCheckpoint } from "./checkpoint.js";
import { METRICS_FILE, RESULT_FILE } from "./trainer.js";
import { NetConfig, parseTune, Precision, RANGES, X0Norm } from "./config.js";
import { couplingMatrix, initialTheta } from "./init.js";
import { integerRatio } from "../simulator.js";
import { RunState, Session, writeOutputs } from "./trainer.js";
import { exportOptions, ExportOptions } from "../plots/export.js";

function numberFlag(text: string, flag: string, min = 0): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < min) throw new UsageError(`${flag}: '${text}' is not a number >= ${min}`);
  return v;
}

export async function mnistAction(cmd: Command, opts: Record<string, string | boolean | undefined>): Promise<void> {
  const notes: string[] = [];
  const str = (k: string) => opts[k] as string;
  const explicit = (k: string) => cmd.getOptionValueSource(k) === "cli";
  const threads = intFlag(str("threads"), "--threads", 1, 64);
  const c = core();
  let state: RunState;
  let dataDir: string;
  let outDir: string | undefined = opts.out as string | undefined;
  const plotDir = opts.plot as string | undefined;
  const figures = exportOptions(opts, notes);
  if (plotDir !== undefined && outDir === undefined && opts.resume === undefined)
    throw new UsageError("--plot needs --out (the figures are drawn from the run's result and checkpoint)");
  // outputs, checked before the work (cli/output.ts); a folder that holds a run is not started over silently
  if (outDir !== undefined) {
    checkOutputDir(outDir, "--out", OUTPUT_FILES);
    const resumingHere = opts.resume !== undefined && path.resolve(str("resume")) === path.resolve(outDir);
    if (!resumingHere && !opts.force) refuseExistingRun(outDir);
  }
  if (opts.resume !== undefined) checkOutputDir(str("resume"), "--resume", OUTPUT_FILES);
  if (plotDir !== undefined) checkOutputDir(plotDir, "--plot");
  if (opts.resume !== undefined) {
    const dir = str("resume");
    const ck = loadCheckpoint(path.join(dir, CHECKPOINT_FILE));
    const cfg = ck.header.config;
    if (outDir !== undefined && path.resolve(outDir) !== path.resolve(dir)) declareInput(path.join(dir, CHECKPOINT_FILE), "checkpoint");
    // refuse settings that contradict the checkpoint
    if (explicit("n") && intFlag(str("n"), "--n", 1) !== cfg.n) throw new UsageError(`--resume ${dir}: the checkpoint has N = ${cfg.n}, not ${str("n")}`);
    if (explicit("tune") && parseTune(str("tune")).name !== cfg.tune)
      throw new UsageError(`--resume ${dir}: the checkpoint was trained with --tune ${cfg.tune}, not ${str("tune")}`);
    if (explicit("cm") && numberFlag(str("cm"), "--cm") !== cfg.cmOe)
      throw new UsageError(`--resume ${dir}: the checkpoint has CM = ${cfg.cmOe}, not ${str("cm")}`);
    if (explicit("precision") && str("precision") !== cfg.precision)
      throw new UsageError(`--resume ${dir}: the checkpoint is ${cfg.precision}, not ${str("precision")}`);
    if (explicit("x0Norm") && str("x0Norm") !== (cfg.x0Norm ?? "unit"))
      throw new UsageError(`--resume ${dir}: the checkpoint was trained with --x0-norm ${cfg.x0Norm ?? "unit"}, not ${str("x0Norm")}`);
    if (explicit("epochs")) cfg.epochs = intFlag(str("epochs"), "--epochs", 1);
    dataDir = opts.data !== undefined ? str("data") : ck.header.data.dir;
    outDir = outDir ?? dir;
    state = {
      cfg,
      theta: ck.theta,
      adamM: ck.adamM,
      adamV: ck.adamV,
      wcp: ck.wcp,
      adamStep: ck.header.adam_step,
      epochsDone: ck.header.epochs_done,
      history: ck.header.history,
    };
    const data = loadDataset(dataDir);
    if (data.fingerprint !== ck.header.data.fingerprint)
      throw new UsageError(
        `--resume ${dir}: the data in ${dataDir} is not the data the checkpoint was trained on (fingerprint ${data.fingerprint.slice(0, 12)} vs ${ck.header.data.fingerprint.slice(0, 12)})`,
      );
    for (const f of removeStaleTemps(outDir)) note(`removed ${f}, left half-written by an interrupted run`);
    note(`resuming ${dir} after epoch ${state.epochsDone} of ${cfg.epochs}`);
    await run(state, data, threads, outDir, Boolean(opts.json), plotDir, figures);
    return;
  }
  const tune = parseTune(str("tune"));
  const dtS = timeFlag(str("dt"), "--dt", notes);
  const durationS = timeFlag(str("duration"), "--duration", notes);
  const steps = checkCount(integerRatio(durationS, dtS, "--duration"), "--duration", "the RK4 steps (--duration / --dt)", U32_MAX, 1);
  const precision = choiceFlag<Precision>(str("precision"), "--precision", ["f32", "f64"]);
  const x0Norm = choiceFlag<X0Norm>(str("x0Norm"), "--x0-norm", ["unit", "raw"]);
  const p = (name: string) => PARAMS.find((q) => q.name === name)!;
  const hAppl0 = parseParamValue(p("H_appl"), str("H_appl"), "--H_appl", notes);
  const jDc0 = parseParamValue(p("j_DC"), str("j_DC"), "--j_DC", notes);
  const alpha0 = parseParamValue(p("alpha"), str("alpha"), "--alpha", notes);
  const inRange = (v: number, [lo, hi]: [number, number], flag: string) => {
    if (v < lo || v > hi) throw new UsageError(`${flag}: ${v} is outside the training range [${lo}, ${hi}]`);
  };
  inRange(hAppl0, RANGES.happl, "--H_appl");
  inRange(jDc0, RANGES.jdc, "--j_DC");
  inRange(alpha0, RANGES.alpha, "--alpha");
  dataDir = opts.data !== undefined ? str("data") : DEFAULT_DATA;
  const data = loadDataset(dataDir);
  const cfg: NetConfig = {
    n: intFlag(str("n"), "--n", 1, 5000),
    nIn: data.rows * data.cols,
    nOut: 10,
    cmOe: numberFlag(str("cm"), "--cm"),
    dtS,
    steps,
    tune: tune.name,
    groups: tune.groups,
    precision,
    x0Norm,
    seed: seedFlag(str("seed"), "--seed"),
    batch: intFlag(str("batch"), "--batch", 1, 100000),
    epochs: intFlag(str("epochs"), "--epochs", 1),
    lr: {
      win: numberFlag(str("lrWin"), "--lr-win"),
      wout: numberFlag(str("lrWout"), "--lr-wout"),
      happl: numberFlag(str("lrHappl"), "--lr-happl"),
      jdc: numberFlag(str("lrJdc"), "--lr-jdc"),
      alpha: numberFlag(str("lrAlpha"), "--lr-alpha"),
      decay: numberFlag(str("lrDecay"), "--lr-decay"),
    },
    hAppl0,
    jDc0,
    alpha0,
    params: Array.from(defaultParams()),
    trainLimit: opts.trainLimit !== undefined ? intFlag(str("trainLimit"), "--train-limit", 1) : data.train.count,
    testLimit: opts.testLimit !== undefined ? intFlag(str("testLimit"), "--test-limit", 1) : data.test.count,
    val: intFlag(str("val"), "--val", 0, data.train.count - 1),
  };
  for (const n of notes) note(n);
  checkNetSize(cfg, threads);
  const theta0 = initialTheta(c, cfg);
  const f32 = precision === "f32";
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
  await run(state, data, threads, outDir, Boolean(opts.json), plotDir, figures);
}

function resultObject(s: Session, wallS: number): unknown {
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
  // trajectory and coupling fields per RK4 stage (cli/network mirrors core-rs/src/network.rs Net::new)
  const bytes =
    elem * perWorker * (17 * cfg.n * cfg.steps + 8 * 3 * cfg.n + cfg.nIn) + 8 * cfg.n * cfg.n + elem * (cfg.nIn + 3 * cfg.n + 1) * (3 * cfg.n + cfg.nOut);
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
): Promise<void> {
  const cfg = state.cfg;
  if (data.rows * data.cols !== cfg.nIn) throw new UsageError(`${data.dir}: images are ${data.rows}x${data.cols}, the network expects ${cfg.nIn} pixels`);
  checkNetSize(cfg, threads);
  const s = new Session(state, data, threads);
  const release = stopsCleanly();
  try {
    info(
      `stoopt mnist: N=${cfg.n} CM=${cfg.cmOe} Oe tune=${cfg.tune} x0-norm=${cfg.x0Norm ?? "unit"} ${cfg.precision} dt=${cfg.dtS * 1e12} ps x ${cfg.steps} steps, batch ${cfg.batch}, ${threads} thread${threads > 1 ? "s" : ""}, ${s.trainCount} training / ${s.testCount} test${s.valCount ? ` / ${s.valCount} validation (held out from training)` : ""} images`,
    );
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
      info(
        `epoch ${e + 1}/${cfg.epochs}: train loss ${tr.loss.toFixed(4)} acc ${(100 * tr.accuracy).toFixed(2)} %, test acc ${(100 * ev.accuracy).toFixed(2)} %, ${va ? `val acc ${(100 * va.accuracy).toFixed(2)} %, ` : ""}` +
          `H_appl ${ph.mean.toFixed(1)} Oe (var ${ph.variance.toFixed(2)} Oe^2), j_DC ${(ph.jdc * 1e3).toFixed(4)} mA, alpha ${ph.alpha.toFixed(6)}, ` +
          `${(s.trainCount / tr.seconds).toFixed(0)} img/s, ${tr.seconds.toFixed(1)} s`,
      );
    }
    if (json) process.stdout.write(JSON.stringify(resultObject(s, wall), null, 2) + "\n");
    if (plotDir !== undefined && outDir !== undefined) {
      const { plotMnist } = await import("../commands/plot.js");
      const files = await plotMnist(JSON.parse(JSON.stringify(resultObject(s, wall))), plotDir, {
        checkpoint: path.join(outDir, CHECKPOINT_FILE),
        image: 0,
        stos: 5,
        export: figures,
      });
      info(`wrote ${files.join(", ")}`);
    }
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
