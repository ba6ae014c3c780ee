/**
 * System identification (paper eq. 4, Fig. 2-3): fit model parameters to
 * teacher trajectories by Adam on gradients from the wasm core
 * (core-rs/src/sysid.rs: forward-mode duals or the discrete RK4 adjoint).
 */
import { Core, core, Buf } from "./core.js";
import { Adam } from "./adam.js";
import { N_PARAMS, PARAMS, ParamSpec } from "./model.js";
import { UsageError } from "./errors.js";

export type GradientMode = "dual" | "adjoint";
const MODE_CODE = { loss: 0, dual: 1, adjoint: 2 } as const;

/** Teacher trajectories flattened for the core: trial i owns samples offsets[i]..offsets[i+1]. */
export interface TeacherArrays {
  offsets: Uint32Array;
  t_s: Float64Array;
  mx: Float64Array;
  /** full initial state per trial (3 each) */
  m0: Float64Array;
  labels: string[];
}

/** Sums over compared samples; the loss is sumAbs / count. */
export interface Parts {
  sumAbs: number;
  count: number;
  sumSq: number;
  grad: number[];
  jtj: number[][];
  /** J^T r = sum over compared samples of r * d m_x/d theta, r = student - teacher m_x (dual mode; zeros otherwise) */
  jtr: number[];
}

export function addParts(a: Parts, b: Parts): Parts {
  return {
    sumAbs: a.sumAbs + b.sumAbs,
    count: a.count + b.count,
    sumSq: a.sumSq + b.sumSq,
    grad: a.grad.map((g, i) => g + b.grad[i]),
    jtj: a.jtj.map((row, i) => row.map((v, j) => v + b.jtj[i][j])),
    jtr: a.jtr.map((v, i) => v + b.jtr[i]),
  };
}

/** Anything that evaluates loss parts: the local core, or a pool of workers. */
export interface Evaluator {
  evaluate(values: Float64Array, fit: number[], mode: keyof typeof MODE_CODE, sel: number[]): Promise<Parts>;
  close(): Promise<void>;
}

/** The teacher resident in one core's memory, evaluated there. */
export class CoreEvaluator implements Evaluator {
  private readonly bufs: { offsets: Buf<Int32Array>; t: Buf<Float64Array>; mx: Buf<Float64Array>; m0: Buf<Float64Array>; params: Buf<Float64Array>; fit: Buf<Int32Array>; sel: Buf<Int32Array>; out: Buf<Float64Array> };
  readonly nTrials: number;
  readonly totalSamples: number;

  constructor(
    readonly teacher: TeacherArrays,
    readonly dtS: number,
    readonly washoutS: number,
    private readonly c: Core = core(),
  ) {
    this.nTrials = teacher.offsets.length - 1;
    this.totalSamples = teacher.offsets[this.nTrials];
    this.bufs = {
      offsets: c.i32(teacher.offsets.length),
      t: c.f64(teacher.t_s.length),
      mx: c.f64(teacher.mx.length),
      m0: c.f64(teacher.m0.length),
      params: c.f64(N_PARAMS),
      fit: c.i32(N_PARAMS),
      sel: c.i32(this.nTrials),
      out: c.f64(3 + 2 * N_PARAMS + N_PARAMS * N_PARAMS),
    };
    this.bufs.offsets.view().set(new Int32Array(teacher.offsets.buffer, teacher.offsets.byteOffset, teacher.offsets.length));
    this.bufs.t.view().set(teacher.t_s);
    this.bufs.mx.view().set(teacher.mx);
    this.bufs.m0.view().set(teacher.m0);
  }

  evaluateSync(values: Float64Array, fit: number[], mode: keyof typeof MODE_CODE, sel: number[], student?: Float64Array): Parts {
    const b = this.bufs;
    b.params.view().set(values);
    b.fit.view().set(fit);
    b.sel.view().set(sel);
    const st = student ? this.c.f64(3 * this.totalSamples) : undefined;
    try {
      this.c.check(
        this.c.exports.stoopt_sysid_eval(b.params.ptr, b.fit.ptr, fit.length, MODE_CODE[mode], this.dtS, this.washoutS, this.nTrials, b.offsets.ptr, b.t.ptr, b.mx.ptr, b.m0.ptr, b.sel.ptr, sel.length, b.out.ptr, st ? st.ptr : 0),
        "sysid",
      );
      if (st && student) student.set(st.view());
    } finally {
      st?.free();
    }
    const o = b.out.view();
    const k = fit.length;
    return {
      sumAbs: o[0],
      count: o[1],
      sumSq: o[2],
      grad: Array.from(o.subarray(3, 3 + k)),
      jtj: Array.from({ length: k }, (_, a) => Array.from(o.subarray(3 + k + a * k, 3 + k + (a + 1) * k))),
      jtr: Array.from(o.subarray(3 + k + k * k, 3 + 2 * k + k * k)),
    };
  }

  async evaluate(values: Float64Array, fit: number[], mode: keyof typeof MODE_CODE, sel: number[]): Promise<Parts> {
    return this.evaluateSync(values, fit, mode, sel);
  }

  async close(): Promise<void> {
    for (const b of Object.values(this.bufs)) b.free();
  }
}

export interface FitParam {
  spec: ParamSpec;
  range: [number, number];
  start: number;
}

/** One stage of a learning-rate schedule (supplement: H_appl alone until loss < 0.15, then both). */
export interface Stage {
  /** learning rate per fitted parameter name (internal units per step) */
  lr: Record<string, number>;
  /** the stage ends once an epoch's loss is below this */
  untilLoss?: number;
  /** the stage ends after this many epochs (default: the run's --epochs) */
  epochs?: number;
}

export interface FitOptions {
  base: Float64Array;
  params: FitParam[];
  stages: Stage[];
  mode: GradientMode;
  /** trials per Adam step; all trials if >= nTrials */
  batch: number;
  seed: number;
  /** stop with failure after this many consecutive rejected steps */
  maxFailures: number;
  shouldStop?: () => boolean;
  onEpoch?: (e: EpochRecord) => void;
}

export interface EpochRecord {
  start: number;
  stage: number;
  epoch: number;
  loss: number;
  values: Record<string, number>;
  lr: Record<string, number>;
}

export interface FitEvent {
  start: number;
  epoch: number;
  kind: "lr_halved" | "nonfinite_step_rejected" | "stopped_after_failures" | "interrupted";
  detail: string;
}

export interface StartResult {
  start: number;
  startValues: Record<string, number>;
  values: Record<string, number>;
  loss: number;
  epochs: number;
  status: "ok" | "failed" | "interrupted";
}

/** Seeded PRNG (mulberry32) for shuffling and multi-start placement. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(n: number, rnd: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const finite = (p: Parts) => Number.isFinite(p.sumAbs) && p.grad.every(Number.isFinite);

/**
 * Run one start: the stages in order, Adam per batch, the paper's rule
 * (learning rates halved whenever an epoch's loss rises), steps projected
 * onto the ranges, non-finite steps rejected with the learning rate halved.
 */
export async function fitOnce(ev: Evaluator, nTrials: number, opts: FitOptions, startIndex: number, startValues: number[], events: FitEvent[], history: EpochRecord[]): Promise<StartResult> {
  const values = Float64Array.from(opts.base);
  opts.params.forEach((p, i) => (values[p.spec.index] = startValues[i]));
  const rnd = prng(opts.seed + 7919 * startIndex);
  const named = (v: Float64Array) => Object.fromEntries(opts.params.map((p) => [p.spec.name, v[p.spec.index]]));
  const all = Array.from({ length: nTrials }, (_, i) => i);
  let best = { loss: Infinity, values: Float64Array.from(values) };
  let epochTotal = 0;
  let status: StartResult["status"] = "ok";
  stages: for (let s = 0; s < opts.stages.length; s++) {
    const stage = opts.stages[s];
    const active = opts.params.filter((p) => stage.lr[p.spec.name] !== undefined);
    const fit = active.map((p) => p.spec.index);
    const lr = active.map((p) => stage.lr[p.spec.name]);
    const adam = new Adam(active.length);
    // the point and optimizer state before the last step, to undo a step that led to a non-finite loss
    let undo: { values: Float64Array; adam: ReturnType<Adam["snapshot"]> } | undefined;
    let prevLoss = Infinity;
    let failures = 0;
    for (let e = 0; e < (stage.epochs ?? 0); e++) {
      const order = opts.batch >= nTrials ? all : shuffled(nTrials, rnd);
      let sumAbs = 0;
      let count = 0;
      for (let b0 = 0; b0 < nTrials; b0 += opts.batch) {
        const sel = order.slice(b0, b0 + opts.batch);
        const before = Float64Array.from(values);
        const parts = await ev.evaluate(values, fit, opts.mode, sel);
        if (!finite(parts)) {
          failures += 1;
          lr.forEach((_, i) => (lr[i] *= 0.5));
          events.push({ start: startIndex, epoch: epochTotal + 1, kind: "nonfinite_step_rejected", detail: `non-finite loss or gradient at ${JSON.stringify(named(values))}; step undone, learning rates halved` });
          if (undo) {
            values.set(undo.values);
            adam.restore(undo.adam);
            undo = undefined;
          }
          if (failures >= opts.maxFailures) {
            events.push({ start: startIndex, epoch: epochTotal + 1, kind: "stopped_after_failures", detail: `${failures} consecutive non-finite steps` });
            status = "failed";
            break stages;
          }
          continue;
        }
        failures = 0;
        sumAbs += parts.sumAbs;
        count += parts.count;
        if (opts.batch >= nTrials && parts.sumAbs / parts.count < best.loss) best = { loss: parts.sumAbs / parts.count, values: before };
        undo = { values: before, adam: adam.snapshot() };
        const delta = adam.step(parts.grad.map((g) => g / parts.count), lr);
        active.forEach((p, i) => {
          const v = values[p.spec.index] + delta[i];
          values[p.spec.index] = Math.min(p.range[1], Math.max(p.range[0], v));
        });
        if (opts.shouldStop?.()) break;
      }
      epochTotal += 1;
      const loss = count > 0 ? sumAbs / count : NaN;
      const rec: EpochRecord = { start: startIndex, stage: s, epoch: epochTotal, loss, values: named(values), lr: Object.fromEntries(active.map((p, i) => [p.spec.name, lr[i]])) };
      history.push(rec);
      opts.onEpoch?.(rec);
      if (opts.shouldStop?.()) {
        status = "interrupted";
        events.push({ start: startIndex, epoch: epochTotal, kind: "interrupted", detail: "SIGINT: stopped after the current step" });
        break stages;
      }
      if (loss > prevLoss) {
        lr.forEach((_, i) => (lr[i] *= 0.5));
        events.push({ start: startIndex, epoch: epochTotal, kind: "lr_halved", detail: `loss rose from ${prevLoss.toPrecision(6)} to ${loss.toPrecision(6)}` });
      }
      prevLoss = Math.min(prevLoss, loss);
      if (stage.untilLoss !== undefined && loss < stage.untilLoss) break;
    }
  }
  // the lowest loss seen: full-batch epochs know it exactly; compare with the final point
  const final = await ev.evaluate(values, [], "loss", all);
  const finalLoss = final.sumAbs / final.count;
  if (Number.isFinite(finalLoss) && finalLoss <= best.loss) best = { loss: finalLoss, values: Float64Array.from(values) };
  if (!Number.isFinite(best.loss)) status = "failed"; // no finite loss anywhere: the start values are kept
  return { start: startIndex, startValues: Object.fromEntries(opts.params.map((p, i) => [p.spec.name, startValues[i]])), values: named(best.values), loss: best.loss, epochs: epochTotal, status };
}

/**
 * Start points: the first at each parameter's start (the middle of its range
 * unless given), the others spread over the ranges by a seeded Latin hypercube.
 */
export function startPoints(params: FitParam[], starts: number, seed: number): number[][] {
  const pts = [params.map((p) => p.start)];
  if (starts <= 1) return pts;
  const rnd = prng(seed ^ 0x5bd1e995);
  const perms = params.map(() => shuffled(starts - 1, rnd));
  for (let k = 0; k < starts - 1; k++) {
    pts.push(params.map((p, i) => p.range[0] + ((perms[i][k] + rnd()) / (starts - 1)) * (p.range[1] - p.range[0])));
  }
  return pts;
}

/** Solve a small symmetric system by Gauss-Jordan with partial pivoting; null if singular. */
export function invert(a: number[][]): number[][] | null {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    const scale = Math.max(...a.map((row) => Math.abs(row[c])), 1e-300);
    if (!(Math.abs(m[p][c]) > 1e-14 * scale)) return null;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      if (f !== 0) for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(n));
}

export const UNCERTAINTY_METHOD =
  "Gauss-Newton: covariance sigma^2 (J^T J)^-1 of the least-squares residuals m_x(student) - m_x(teacher) at the fitted point, J from forward-mode sensitivities d m_x/d theta at every compared sample, sigma^2 = sum of squared residuals / (samples - fitted parameters); 1 sigma; treats residuals as independent";

/** 1-sigma uncertainties at `values` (NaN where J^T J is singular). */
export async function uncertainty(ev: Evaluator, nTrials: number, base: Float64Array, params: FitParam[], values: Record<string, number>): Promise<number[]> {
  const v = Float64Array.from(base);
  for (const p of params) v[p.spec.index] = values[p.spec.name];
  const parts = await ev.evaluate(v, params.map((p) => p.spec.index), "dual", Array.from({ length: nTrials }, (_, i) => i));
  const dof = parts.count - params.length;
  const inv = invert(parts.jtj);
  if (!inv || dof <= 0) return params.map(() => NaN);
  const s2 = parts.sumSq / dof;
  return params.map((_, i) => Math.sqrt(Math.max(0, s2 * inv[i][i])));
}

/** Parameters that enter the model only as a product cannot be fitted together. */
export function checkIdentifiable(names: string[]): void {
  if (names.includes("eta") && names.includes("j_DC")) {
    throw new UsageError("--fit: eta and j_DC enter the model only as the product eta*j_DC (eq. 2), so they cannot both be fitted; fit one and fix the other");
  }
}

export { PARAMS };
