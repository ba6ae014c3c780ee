/**
 * The work of `stoopt reservoir` (cli/commands/reservoir.ts): build the task,
 * run the STO reservoir (untuned, then tuned by the exact gradient through
 * the driven trajectory) or the ESN baseline, choose the ridge
 * regularization on the validation part, report the test part.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { core, Core } from "../core/wasm.js";
import { RuntimeFailure, UsageError } from "../errors.js";
import { info } from "../log.js";
import { writeFileAtomic } from "../io/output.js";
import { pausePoint } from "../signals.js";
import { couplingMatrix, rngFill } from "../network/init.js";
import { RANGES } from "../network/config.js";
import { Adam, esnRun, Feat, featuresPerHold, Problem, StoEngine, thetaLayout } from "../core/reservoir.js";
import { csvTask, mackeyGlass, makeSplit, memoryCapacity, narma10, nrmse, Split, squaredCorrelation, Task, TaskName } from "./tasks.js";

export type Group = "happl" | "jdc" | "alpha" | "scale" | "win";
export const GROUPS: Group[] = ["happl", "jdc", "alpha", "scale", "win"];
export interface Rates {
  happl: number;
  jdc: number;
  alpha: number;
  field: number;
  current: number;
  win: number;
}

export interface ReservoirSettings {
  task: TaskName;
  model: "sto" | "esn";
  input?: { file: string; column: string; target: string; sha256: string };
  horizons: number[];
  mcDelays: number;
  length: number;
  washout: number;
  train: number;
  val: number;
  test: number;
  seed: string;
  n: number;
  virtual: number;
  feat: Feat;
  inputMode: "field" | "current" | "both";
  dtS: number;
  holdS: number;
  sub: number;
  cmOe: number;
  hAppl0Oe: number;
  jDc0A: number;
  alpha0: number;
  inField0Oe: number;
  inCurrent0A: number;
  tune: Group[];
  epochs: number;
  lr: Rates;
  checkpointEvery: number;
  params: number[];
  lambdas: number[];
  /** the tuning objective: ridge training loss (train) or held-out loss on standardized features (heldout); absent in older checkpoints = train */
  objective?: "train" | "heldout";
}

/** Streams of the one seed (xoshiro256++ in the core). */
const STREAM = { series: 11n, win: 12n, m0: 13n, esnIn: 22n, esnBias: 23n } as const;

export interface EpochRow {
  epoch: number;
  /** the tuning objective: ridge training loss at the fixed lambda of epoch 0 */
  train_objective: number;
  /** 1 if this epoch's Adam step was kept, 0 if it raised the objective (undone, rates halved, Adam's moments restarted) */
  accepted: number;
  lr_scale: number;
  train_loss: number;
  val_nrmse: number;
  test_nrmse: number;
  lambda: number;
  test_mc: number | null;
  h_appl_mean_oe: number;
  h_appl_min_oe: number;
  h_appl_max_oe: number;
  j_dc_a: number;
  alpha: number;
  in_field_oe: number;
  in_current_a: number;
  win_rms: number;
  grad_norm: number | null;
  epoch_s: number;
}

export interface Evaluation {
  lambda: number;
  trainLoss: number;
  valNrmse: number[];
  testNrmse: number[];
  testMc?: number[];
  testPred: Float64Array;
  testTarget: Float64Array;
  w: Float64Array;
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

export function buildTask(c: Core, s: ReservoirSettings): Task {
  const uniform = (n: number) => rngFill(c, BigInt(s.seed), STREAM.series, "uniform", 0, 1, n);
  switch (s.task) {
    case "narma10":
      return narma10(uniform, s.length);
    case "mackey-glass":
      return mackeyGlass(s.length, s.horizons);
    case "memory-capacity":
      return memoryCapacity(uniform, s.length, s.mcDelays);
    case "csv": {
      const inp = s.input!;
      const t = csvTask(inp.file, inp.column, inp.target);
      return t;
    }
  }
}

export function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Choose lambda on validation (mean NMSE over outputs), report test. */
export function evaluate(p: Problem, split: Split, lambdas: number[], task: Task): Evaluation {
  const ws = p.solve(split.train[0], split.train[1], lambdas);
  const yv = p.targets(split.val[0], split.val[1]);
  let best: { i: number; score: number; valN: number[] } | undefined;
  ws.forEach((w, i) => {
    if (!w) return;
    const pv = p.predict(w, split.val[0], split.val[1]);
    const valN = Array.from({ length: p.nOut }, (_, o) => nrmse(pv, yv, p.nOut, o));
    const score = mean(valN.map((v) => v * v));
    if (Number.isFinite(score) && (!best || score < best.score)) best = { i, score, valN };
  });
  if (!best) throw new RuntimeFailure("no regularization in the grid gives a solvable ridge readout (features constant or not finite)");
  const w = ws[best.i]!;
  const lambda = lambdas[best.i];
  const trainLoss = p.lossAndGrad(w, lambda, split.train[0], split.train[1]) / p.nOut;
  const pt = p.predict(w, split.test[0], split.test[1]);
  const yt = p.targets(split.test[0], split.test[1]);
  const testNrmse = Array.from({ length: p.nOut }, (_, o) => nrmse(pt, yt, p.nOut, o));
  const testMc = task.delays ? task.delays.map((_, o) => squaredCorrelation(pt, yt, p.nOut, o)) : undefined;
  return { lambda, trainLoss, valNrmse: best.valN, testNrmse, testMc, testPred: pt, testTarget: yt, w };
}

export interface Checkpoint {
  format: "stoopt-reservoir-checkpoint";
  version: 1;
  settings: ReservoirSettings;
  theta: number[];
  adam_m: number[];
  adam_v: number[];
  adam_step: number;
  epochs_done: number;
  history: EpochRow[];
  best: { epoch: number; theta: number[]; val: number };
  lr_scale: number;
}

export const CHECKPOINT_FILE = "checkpoint.json";
/** the files of a run in --out DIR, written after every epoch (each atomically) */
export const RUN_FILES = ["metrics.csv", "predictions.csv", "result.json", CHECKPOINT_FILE];

export function loadCheckpoint(dir: string): Checkpoint {
  const file = path.join(dir, CHECKPOINT_FILE);
  if (!existsSync(file)) throw new UsageError(`--resume ${dir}: no ${CHECKPOINT_FILE} there`);
  let ck: Checkpoint;
  try {
    ck = JSON.parse(readFileSync(file, "utf8")) as Checkpoint;
  } catch (e) {
    throw new UsageError(`${file}: not a reservoir checkpoint (${(e as Error).message})`);
  }
  if (ck.format !== "stoopt-reservoir-checkpoint" || ck.version !== 1) throw new UsageError(`${file}: not a version-1 stoopt reservoir checkpoint`);
  return ck;
}

export interface RunResult {
  command: "reservoir";
  settings: ReservoirSettings;
  task_note: string;
  split: Split;
  outputs: string[];
  model: string;
  epochs_done: number;
  /** the epoch whose parameters are reported (best validation) */
  chosen_epoch: number;
  lambda: number;
  val_nrmse: number[];
  test_nrmse: number[];
  test_nrmse_mean: number;
  untuned_test_nrmse?: number[];
  memory_capacity?: number;
  untuned_memory_capacity?: number;
  mc_curve?: number[];
  esn?: { rho: number; sigma: number; bias: number };
  theta?: { H_appl_oe: number[]; j_DC_a: number; alpha: number; in_field_oe: number; in_current_a: number; W_in: number[] };
  state_words?: number;
  wall_s: number;
  history: EpochRow[];
  test_prediction: { t0: number; target: number[]; prediction: number[] };
}

function summary(theta: Float64Array, n: number, k: number) {
  const L = thetaLayout(n, k);
  const h = Array.from(theta.subarray(0, n));
  const w = theta.subarray(L.win[0], L.win[1]);
  return {
    h_appl_mean_oe: mean(h),
    h_appl_min_oe: Math.min(...h),
    h_appl_max_oe: Math.max(...h),
    j_dc_a: theta[L.jdc],
    alpha: theta[L.alpha],
    in_field_oe: theta[L.sf],
    in_current_a: theta[L.sc],
    win_rms: Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length),
  };
}

function writeRun(outDir: string | undefined, result: RunResult, ck?: Checkpoint): void {
  if (outDir === undefined) return;
  mkdirSync(outDir, { recursive: true });
  const h = result.history;
  if (h.length) {
    const cols = Object.keys(h[0]) as (keyof EpochRow)[];
    writeFileAtomic(
      path.join(outDir, "metrics.csv"),
      [cols.join(","), ...h.map((r) => cols.map((c) => (r[c] === null ? "" : String(r[c]))).join(","))].join("\n") + "\n",
      "--out",
    );
  }
  const p = result.test_prediction;
  writeFileAtomic(
    path.join(outDir, "predictions.csv"),
    ["t,target,prediction", ...p.target.map((y, i) => `${p.t0 + i},${y},${p.prediction[i]}`)].join("\n") + "\n",
    "--out",
  );
  writeFileAtomic(path.join(outDir, "result.json"), JSON.stringify(result, null, 2) + "\n", "--out");
  if (ck) writeFileAtomic(path.join(outDir, CHECKPOINT_FILE), JSON.stringify(ck) + "\n", "--out");
}

function predictionPart(ev: Evaluation, split: Split, nOut: number) {
  const n = ev.testTarget.length / nOut;
  const target: number[] = [];
  const prediction: number[] = [];
  for (let t = 0; t < n; t++) {
    target.push(ev.testTarget[t * nOut]);
    prediction.push(ev.testPred[t * nOut]);
  }
  return { t0: split.test[0], target, prediction };
}

function sum(a: number[] | undefined): number | undefined {
  return a ? a.reduce((s, v) => s + v, 0) : undefined;
}

/** The ESN baseline: spectral radius, input scale and bias scale chosen on validation. A signal stops it between candidates (`Interrupted`; nothing written). */
export async function runEsn(s: ReservoirSettings, outDir?: string): Promise<RunResult> {
  const c = core();
  const t0 = performance.now();
  const task = buildTask(c, s);
  const split = makeSplit(task.u.length, s.washout, s.train, s.val, s.test, s.input ? s.input.file : `--task ${s.task}`);
  const n = s.n * s.virtual;
  const seed = BigInt(s.seed);
  const w = couplingMatrix(c, seed + 0n, n); // same construction as the STO coupling: Gaussian / spectral radius
  const wIn = rngFill(c, seed, STREAM.esnIn, "uniform", -1, 1, n);
  const b0 = rngFill(c, seed, STREAM.esnBias, "uniform", -1, 1, n);
  const p = new Problem(c, task.u.length, n, task.nOut, task.y);
  let best: { ev: Evaluation; rho: number; sigma: number; bias: number; score: number } | undefined;
  info(`stoopt reservoir: ${task.note}; ESN, ${n} tanh nodes: searching spectral radius, input and bias scale on validation`);
  try {
    for (const rho of [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.1, 1.25]) {
      for (const sigma of [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]) {
        for (const bias of [0, 0.2, 1]) {
          await pausePoint();
          const bias_ = b0.map((v) => v * bias);
          esnRun(c, n, w, wIn, bias_, rho, sigma, task.u, p);
          const ev = evaluate(p, split, s.lambdas, task);
          const score = mean(ev.valNrmse.map((v) => v * v));
          if (!best || score < best.score) best = { ev, rho, sigma, bias, score };
        }
      }
    }
  } finally {
    p.free();
  }
  const ev = best!.ev;
  const result: RunResult = {
    command: "reservoir",
    settings: s,
    task_note: task.note,
    split,
    outputs: task.outputs,
    model: `ESN, ${n} tanh nodes, spectral radius ${best!.rho}, input scale ${best!.sigma}, bias scale ${best!.bias} (chosen on validation)`,
    epochs_done: 0,
    chosen_epoch: 0,
    lambda: ev.lambda,
    val_nrmse: ev.valNrmse,
    test_nrmse: ev.testNrmse,
    test_nrmse_mean: mean(ev.testNrmse),
    memory_capacity: sum(ev.testMc),
    mc_curve: ev.testMc,
    esn: { rho: best!.rho, sigma: best!.sigma, bias: best!.bias },
    wall_s: (performance.now() - t0) / 1000,
    history: [],
    test_prediction: predictionPart(ev, split, task.nOut),
  };
  writeRun(outDir, result);
  return result;
}

/** Where the physics tuning stands: parameters, Adam's moments and step count, rate scale. */
export interface TuneState {
  theta: Float64Array;
  m: Float64Array;
  v: Float64Array;
  step: number;
  lrScale: number;
}

/**
 * One Adam step on `groups` (rates x st.lrScale), kept if the objective at the new point
 * (`objectiveAt`) is not above `cur`. Otherwise the step is undone: theta back, every rate
 * halved (the paper's rule) and Adam's moments restarted. Keeping the moments would retry
 * the same direction: Adam steps along the momentum of earlier gradients, which after a
 * rejected step is in general no descent direction at the old point (measured: N = 1 x 50
 * virtual nodes, NARMA10, every step from epoch 9 on undone down to rate x 3e-5, with
 * g . step > 0 in every group; results/reservoir/n1-diagnosis.txt). A restarted Adam's first
 * step is -lr sign(g) per coordinate, a descent direction, so halving ends in a kept step.
 * Updates `st` in place.
 */
export function guardedAdamStep(
  adam: Adam,
  st: TuneState,
  grad: Float64Array,
  groups: { range: [number, number]; lr: number; lo: number; hi: number }[],
  cur: number,
  objectiveAt: (theta: Float64Array) => number,
): { accepted: boolean; objective: number } {
  const prev = st.theta.slice();
  const theta = st.theta.slice();
  const m = st.m.slice();
  const v = st.v.slice();
  adam.step(
    theta,
    m,
    v,
    grad,
    st.step + 1,
    groups.map((g) => ({ ...g, lr: g.lr * st.lrScale })),
  );
  const next = objectiveAt(theta);
  if (next <= cur) {
    Object.assign(st, { theta, m, v, step: st.step + 1 });
    return { accepted: true, objective: next };
  }
  Object.assign(st, { theta: prev, m: new Float64Array(m.length), v: new Float64Array(v.length), step: 0, lrScale: st.lrScale / 2 });
  return { accepted: false, objective: cur };
}

/**
 * The STO reservoir: untuned (epoch 0), then `epochs` Adam steps on the physics.
 * A signal stops it at the next pass boundary (`Interrupted`, cli/signals.ts): the
 * run files in `outDir` stay those of the last finished epoch.
 */
export async function runSto(s: ReservoirSettings, outDir?: string, resume?: Checkpoint): Promise<RunResult> {
  const c = core();
  const wall0 = performance.now();
  const task = buildTask(c, s);
  const split = makeSplit(task.u.length, s.washout, s.train, s.val, s.test, s.input ? s.input.file : `--task ${s.task}`);
  const seed = BigInt(s.seed);
  const shape = { n: s.n, k: s.virtual, sub: s.sub, holds: task.u.length, every: s.checkpointEvery, feat: s.feat };
  const L = thetaLayout(s.n, s.virtual);
  const wcp = s.n > 1 ? couplingMatrix(c, seed, s.n) : new Float64Array([0]);
  const m0 = rngFill(c, seed, STREAM.m0, "normal", 0, 1, 3 * s.n);
  let theta: Float64Array = new Float64Array(L.total);
  theta.fill(s.hAppl0Oe, 0, s.n);
  theta[L.jdc] = s.jDc0A;
  theta[L.alpha] = s.alpha0;
  theta[L.sf] = s.inputMode === "current" ? 0 : s.inField0Oe;
  theta[L.sc] = s.inputMode === "field" ? 0 : s.inCurrent0A;
  theta.set(rngFill(c, seed, STREAM.win, "uniform", -1, 1, s.virtual * s.n), L.win[0]);
  let adamM: Float64Array = new Float64Array(L.total);
  let adamV: Float64Array = new Float64Array(L.total);
  let adamStep = 0;
  let history: EpochRow[] = [];
  let best = { epoch: 0, theta: Array.from(theta), val: Infinity };
  let wallPrev = 0;
  if (resume) {
    theta = Float64Array.from(resume.theta);
    adamM = Float64Array.from(resume.adam_m);
    adamV = Float64Array.from(resume.adam_v);
    adamStep = resume.adam_step;
    history = resume.history;
    best = resume.best;
    wallPrev = history.reduce((a, r) => a + r.epoch_s, 0);
  }
  const f = featuresPerHold(shape);
  const p = new Problem(c, task.u.length, f, task.nOut, task.y);
  const eng = new StoEngine(c, shape, wcp, Float64Array.from(s.params), s.dtS, s.cmOe, task.u, m0);
  const adam = new Adam(c, L.total);
  const ranges: Record<Group, { range: [number, number]; lo: number; hi: number; lr: number }[]> = {
    happl: [{ range: L.happl, lo: RANGES.happl[0], hi: RANGES.happl[1], lr: s.lr.happl }],
    jdc: [{ range: [L.jdc, L.jdc + 1], lo: RANGES.jdc[0], hi: RANGES.jdc[1], lr: s.lr.jdc }],
    alpha: [{ range: [L.alpha, L.alpha + 1], lo: RANGES.alpha[0], hi: RANGES.alpha[1], lr: s.lr.alpha }],
    scale: [
      ...(s.inputMode !== "current" ? [{ range: [L.sf, L.sf + 1] as [number, number], lo: 0, hi: Infinity, lr: s.lr.field }] : []),
      ...(s.inputMode !== "field" ? [{ range: [L.sc, L.sc + 1] as [number, number], lo: -Infinity, hi: Infinity, lr: s.lr.current }] : []),
    ],
    win: [{ range: L.win, lo: -Infinity, hi: Infinity, lr: s.lr.win }],
  };
  const groups = s.tune.flatMap((g) => ranges[g]);
  let untuned: Evaluation | undefined;
  let chosen: Evaluation | undefined;
  const label = `N=${s.n}${s.virtual > 1 ? ` x ${s.virtual} virtual` : ""}`;
  info(
    `stoopt reservoir: ${task.note}; STO reservoir ${label}, features ${s.feat} (${f} per hold), input ${s.inputMode}, dt ${s.dtS * 1e12} ps x ${s.sub} steps per node (hold ${(s.holdS * 1e9).toPrecision(4)} ns), CM ${s.cmOe} Oe; washout ${split.washout} / train ${s.train} / val ${s.val} / test ${s.test} holds; checkpoint every ${s.checkpointEvery} holds`,
  );
  try {
    // --objective heldout: features standardized over the training part (scales kept for the
    // chain rule), readout fitted on its first half, loss on its second half
    const heldout = s.objective === "heldout";
    const [ta, tb] = split.train;
    const tm = ta + Math.floor((tb - ta) / 2);
    let sd: Float64Array | undefined;
    const evalAt = (th: Float64Array) => {
      eng.forward(th, p);
      if (heldout) sd = p.standardize(ta, tb);
      return evaluate(p, split, s.lambdas, task);
    };
    await pausePoint();
    let ev = evalAt(theta);
    // the tuning objective at one fixed lambda (the validation choice of epoch 0), so that
    // epochs are comparable: the ridge-optimal training loss (train) or the held-out loss
    // (heldout); leaves its feature gradient in p.g
    const objective = (lam: number) => {
      if (heldout) {
        const l = p.heldOutLossAndGrad(lam, ta, tm, tb);
        if (l === undefined)
          throw new RuntimeFailure(
            `the ridge readout at lambda ${lam} is not solvable on the first half of the training part (features constant or not finite)`,
          );
        return l / task.nOut;
      }
      const w = p.solve(ta, tb, [lam])[0];
      if (!w) throw new RuntimeFailure(`the ridge readout at lambda ${lam} is not solvable (features constant or not finite)`);
      return p.lossAndGrad(w, lam, ta, tb) / task.nOut;
    };
    // p.g with respect to the raw features (what the adjoint takes)
    const rawGradient = () => {
      if (heldout) p.standardizeBackward(ta, tb, sd!);
    };
    const lamTrain = history.length ? history[0].lambda : ev.lambda;
    let lrScale = resume ? resume.lr_scale : 1;
    let cur = objective(lamTrain);
    // what a resumed run starts from, after `epochsDone` epochs
    const checkpointAt = (epochsDone: number, lrScaleNow: number): Checkpoint => ({
      format: "stoopt-reservoir-checkpoint",
      version: 1,
      settings: s,
      theta: Array.from(theta),
      adam_m: Array.from(adamM),
      adam_v: Array.from(adamV),
      adam_step: adamStep,
      epochs_done: epochsDone,
      history,
      best,
      lr_scale: lrScaleNow,
    });
    // the history row of the current point (theta, its evaluation and objective)
    const rowOf = (epoch: number, accepted: number, gradNorm: number | null, epochS: number): EpochRow => ({
      epoch,
      train_objective: cur,
      accepted,
      lr_scale: lrScale,
      train_loss: ev.trainLoss,
      val_nrmse: mean(ev.valNrmse),
      test_nrmse: mean(ev.testNrmse),
      lambda: ev.lambda,
      test_mc: sum(ev.testMc) ?? null,
      ...summary(theta, s.n, s.virtual),
      grad_norm: gradNorm,
      epoch_s: epochS,
    });
    if (!resume) {
      untuned = ev;
      const row = rowOf(0, 1, null, 0);
      history.push(row);
      best = { epoch: 0, theta: Array.from(theta), val: row.val_nrmse };
      info(
        `epoch 0 (untuned): val NRMSE ${row.val_nrmse.toFixed(4)}, test NRMSE ${row.test_nrmse.toFixed(4)}${ev.testMc ? `, MC ${sum(ev.testMc)!.toFixed(2)}` : ""}, lambda ${ev.lambda}`,
      );
    }
    let wall = wallPrev;
    for (let e = history.length; e <= s.epochs; e++) {
      const te = performance.now();
      // exact gradient of the objective at the current theta (p.g set by objective())
      rawGradient();
      const grad = eng.backward(theta, p);
      await pausePoint();
      for (let i = 0; i < grad.length; i++) grad[i] /= task.nOut;
      const gn = Math.sqrt(groups.reduce((acc, g) => acc + Array.from(grad.subarray(g.range[0], g.range[1])).reduce((a, v) => a + v * v, 0), 0));
      const st: TuneState = { theta, m: adamM, v: adamV, step: adamStep, lrScale };
      const r = guardedAdamStep(adam, st, grad, groups, cur, (th) => {
        ev = evalAt(th);
        return objective(lamTrain);
      });
      ({ theta, m: adamM, v: adamV, step: adamStep, lrScale } = st);
      await pausePoint();
      const accepted = r.accepted ? 1 : 0;
      let next = r.objective;
      if (!r.accepted) {
        // back at the old point: its features, evaluation and objective gradient (p.g)
        ev = evalAt(theta);
        await pausePoint();
        next = objective(lamTrain);
      }
      cur = next;
      const dt = (performance.now() - te) / 1000;
      wall += dt;
      const row = rowOf(e, accepted, gn, dt);
      history.push(row);
      if (row.val_nrmse < best.val) best = { epoch: e, theta: Array.from(theta), val: row.val_nrmse };
      const S = summary(theta, s.n, s.virtual);
      info(
        `epoch ${e}/${s.epochs}: objective ${cur.toFixed(5)}${accepted ? "" : " (step undone, rates halved)"}, val NRMSE ${row.val_nrmse.toFixed(4)}, test NRMSE ${row.test_nrmse.toFixed(4)}${ev.testMc ? `, MC ${sum(ev.testMc)!.toFixed(2)}` : ""}; H_appl ${S.h_appl_mean_oe.toFixed(1)} Oe, j_DC ${(S.j_dc_a * 1e3).toFixed(3)} mA, alpha ${S.alpha.toFixed(5)}, s_f ${S.in_field_oe.toFixed(2)} Oe, s_c ${(S.in_current_a * 1e3).toFixed(3)} mA; ${dt.toFixed(1)} s`,
      );
      if (outDir !== undefined)
        writeRun(outDir, partialResult(s, task, split, history, best.epoch, ev, untuned, wall, eng.stateWords(), theta), checkpointAt(e, lrScale));
    }
    // the reported model: the epoch with the best validation NRMSE
    await pausePoint();
    chosen = evalAt(Float64Array.from(best.theta));
    const result = partialResult(s, task, split, history, best.epoch, chosen, untuned, wall, eng.stateWords(), Float64Array.from(best.theta));
    result.wall_s = wallPrev + (performance.now() - wall0) / 1000;
    writeRun(outDir, result, outDir !== undefined ? checkpointAt(s.epochs, history.length ? history[history.length - 1].lr_scale : 1) : undefined);
    return result;
  } finally {
    adam.free();
    eng.free();
    p.free();
  }
}

function partialResult(
  s: ReservoirSettings,
  task: Task,
  split: Split,
  history: EpochRow[],
  chosenEpoch: number,
  ev: Evaluation,
  untuned: Evaluation | undefined,
  wall: number,
  stateWords: number,
  theta: Float64Array,
): RunResult {
  const L = thetaLayout(s.n, s.virtual);
  const un = untuned ?? undefined;
  return {
    command: "reservoir",
    settings: s,
    task_note: task.note,
    split,
    outputs: task.outputs,
    model: `STO reservoir, N = ${s.n}${s.virtual > 1 ? `, ${s.virtual} virtual nodes` : ""}, features ${s.feat}, input ${s.inputMode}`,
    epochs_done: history.length ? history[history.length - 1].epoch : 0,
    chosen_epoch: chosenEpoch,
    lambda: ev.lambda,
    val_nrmse: ev.valNrmse,
    test_nrmse: ev.testNrmse,
    test_nrmse_mean: mean(ev.testNrmse),
    untuned_test_nrmse: un?.testNrmse ?? (history[0] ? [history[0].test_nrmse] : undefined),
    memory_capacity: sum(ev.testMc),
    untuned_memory_capacity: sum(un?.testMc) ?? history[0]?.test_mc ?? undefined,
    mc_curve: ev.testMc,
    theta: {
      H_appl_oe: Array.from(theta.subarray(0, s.n)),
      j_DC_a: theta[L.jdc],
      alpha: theta[L.alpha],
      in_field_oe: theta[L.sf],
      in_current_a: theta[L.sc],
      W_in: Array.from(theta.subarray(L.win[0], L.win[1])),
    },
    state_words: stateWords,
    wall_s: wall,
    history,
    test_prediction: predictionPart(ev, split, task.nOut),
  };
}
