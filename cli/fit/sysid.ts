/**
 * System identification (paper eq. 4, Fig. 2-3): fit model parameters to
 * teacher trajectories by Adam on gradients from the wasm core
 * (core-rs/src/sysid.rs: forward-mode duals or the discrete RK4 adjoint).
 */
import { Core, core } from "../core/wasm.js";
import { addParts, Parts, SysidMode, SysidProblem } from "../core/sysid.js";
import { Optimizer, OptimizerState } from "../core/optimizer.js";
import { uniformSource } from "../core/rng.js";
import { PARAMS, ParamSpec } from "../model.js";
import { Interrupted, UsageError } from "../errors.js";
import { pausePoint, stopRequested } from "../signals.js";
import { invertSpd, levenbergMarquardt, LmResult, LsqPoint } from "./lm.js";

export type GradientMode = "dual" | "adjoint";

/** Teacher trajectories flattened for the core: trial i owns samples offsets[i]..offsets[i+1]. */
export interface TeacherArrays {
  offsets: Uint32Array;
  t_s: Float64Array;
  mx: Float64Array;
  /** full initial state per trial (3 each) */
  m0: Float64Array;
  labels: string[];
}

export type { Parts };
export { addParts };

/**
 * Loss-only work offered to an evaluation: the trials `sel` at `values`. An
 * evaluator that splits the evaluation across threads does a prefix of it
 * on the threads whose share is lighter, in the time they would otherwise
 * wait (cli/fit/pool.ts); others take none of it.
 */
export interface SideWork {
  values: Float64Array;
  sel: number[];
}

/** An evaluation's parts, with the side work's loss parts and how many of its trials (a prefix) were taken. */
export type Evaluated = Parts & { side?: { parts: Parts; taken: number } };

/** Anything that evaluates loss parts: the local core, or a pool of workers. */
export interface Evaluator {
  evaluate(values: Float64Array, fit: number[], mode: SysidMode, sel: number[], side?: SideWork): Promise<Evaluated>;
  close(): Promise<void>;
  /**
   * One evaluator per thread, each evaluating whole selections on its own
   * thread (cli/fit/pool.ts): independent fits run side by side on them.
   */
  lanes?(): Evaluator[];
  /**
   * Run one whole start on this evaluator's own thread (a worker's lane):
   * no round trip per mini-batch. Without it, `fitOnce` runs here.
   */
  fitStart?(nTrials: number, opts: FitOptions, startIndex: number, startValues: number[]): Promise<StartRun>;
  /** Takes side work (`SideWork`) beside split evaluations: a fit then defers its epochs' full-data losses to it. */
  readonly takesSideWork?: boolean;
}

/** One start's result with its events and per-epoch history. */
export interface StartRun {
  result: StartResult;
  events: FitEvent[];
  history: EpochRecord[];
}

/** integration steps (times 1 + fitted parameters in the gradient modes) per core call on the main thread: about 0.1 s */
const STEPS_PER_CALL = 2e6;

/** The teacher resident in one core's memory, evaluated there. */
export class CoreEvaluator implements Evaluator {
  private readonly problem: SysidProblem;
  readonly nTrials: number;
  readonly totalSamples: number;
  /** integration steps of each trial */
  private readonly trialSteps: number[];

  constructor(
    readonly teacher: TeacherArrays,
    readonly dtS: number,
    readonly washoutS: number,
    c: Core = core(),
  ) {
    this.nTrials = teacher.offsets.length - 1;
    this.totalSamples = teacher.offsets[this.nTrials];
    this.trialSteps = Array.from({ length: this.nTrials }, (_, i) => 1 + (teacher.t_s[teacher.offsets[i + 1] - 1] - teacher.t_s[teacher.offsets[i]]) / dtS);
    this.problem = new SysidProblem({ offsets: teacher.offsets, t_s: teacher.t_s, y: teacher.mx, m0: teacher.m0 }, dtS, washoutS, 0, c);
  }

  evaluateSync(values: Float64Array, fit: number[], mode: SysidMode, sel: number[], student?: Float64Array): Parts {
    return this.problem.eval(values, fit, mode, sel, student);
  }

  /**
   * As `evaluateSync`, in pieces of at most STEPS_PER_CALL integration steps
   * with a `pausePoint` between them, so that the main thread sees signals
   * (throws `Interrupted`). A selection within one piece is one core call.
   */
  async evaluate(values: Float64Array, fit: number[], mode: SysidMode, sel: number[]): Promise<Parts> {
    await pausePoint();
    const budget = STEPS_PER_CALL / (mode === "loss" ? 1 : 1 + fit.length);
    const cost = sel.reduce((s, i) => s + this.trialSteps[i], 0);
    if (cost <= budget) return this.evaluateSync(values, fit, mode, sel);
    let total: Parts | undefined;
    for (let a = 0; a < sel.length;) {
      // pieces of whole pairs (the core pairs neighbouring trials on the same grid)
      let b = a;
      let c = 0;
      while (b < sel.length && (b === a || c + this.trialSteps[sel[b]] <= budget)) c += this.trialSteps[sel[b++]];
      if (b < sel.length && (b - a) % 2 === 1 && b - a > 1) b -= 1;
      const part = this.evaluateSync(values, fit, mode, sel.slice(a, b));
      total = total ? addParts(total, part) : part;
      a = b;
      if (a < sel.length) await pausePoint();
    }
    return total!;
  }

  async close(): Promise<void> {
    this.problem.free();
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
  /**
   * Hand-over to the refinement: the last stage ends once the loss on all the
   * data has improved by less than `minImprovement` (relative to the best so
   * far) in `patience` epochs in a row. Undefined or 0: every epoch runs.
   */
  patience?: number;
  minImprovement?: number;
  shouldStop?: () => boolean;
  /** the signal behind a stop, for the event's text (default: the main thread's) */
  stopReason?: () => string | undefined;
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
  kind: "lr_halved" | "nonfinite_step_rejected" | "stopped_after_failures" | "interrupted" | "plateau";
  detail: string;
}

export interface StartResult {
  start: number;
  startValues: Record<string, number>;
  /** the point with the lowest eq. 4 loss among the full-data evaluations of this start */
  values: Record<string, number>;
  loss: number;
  /** the point with the lowest sum of squared residuals among them, and that sum */
  lsqValues: Record<string, number>;
  sumSq: number;
  epochs: number;
  /** phase 1 ended early on a plateau (FitOptions.patience) */
  plateau: boolean;
  status: "ok" | "failed" | "interrupted";
}

/** Stream of the core generator for multi-start placement (the starts' shuffling uses streams 0, 1, ...). */
const STREAM_START_POINTS = 0x5bd1e995;

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
export async function fitOnce(
  ev: Evaluator,
  nTrials: number,
  opts: FitOptions,
  startIndex: number,
  startValues: number[],
  events: FitEvent[],
  history: EpochRecord[],
): Promise<StartResult> {
  const values = Float64Array.from(opts.base);
  opts.params.forEach((p, i) => (values[p.spec.index] = startValues[i]));
  // shuffling: the core's generator, stream = start index
  const rnd = uniformSource(opts.seed, startIndex);
  const named = (v: Float64Array) => Object.fromEntries(opts.params.map((p) => [p.spec.name, v[p.spec.index]]));
  const all = Array.from({ length: nTrials }, (_, i) => i);
  let best = { loss: Infinity, values: Float64Array.from(values) };
  let bestSq = { sumSq: Infinity, values: Float64Array.from(values) };
  // every full-data evaluation is a candidate for the returned point
  // the point of the last evaluation on all the data (a mini-batch epoch ends with one)
  let lastFull: Float64Array | undefined;
  const consider = (p: Parts, at: Float64Array): number => {
    lastFull = Float64Array.from(at);
    const loss = p.sumAbs / p.count;
    if (Number.isFinite(loss) && loss < best.loss) best = { loss, values: Float64Array.from(at) };
    if (Number.isFinite(p.sumSq) && p.sumSq < bestSq.sumSq) bestSq = { sumSq: p.sumSq, values: Float64Array.from(at) };
    return loss;
  };
  const stopReason = () => opts.stopReason?.() ?? stopRequested() ?? "signal";
  let epochTotal = 0;
  let plateau = false;
  let status: StartResult["status"] = "ok";
  // the values before the step in progress: what a signal keeps
  let settled = Float64Array.from(values);
  try {
    stages: for (let s = 0; s < opts.stages.length; s++) {
      const stage = opts.stages[s];
      const stageEpochs = stage.epochs ?? 0;
      const active = opts.params.filter((p) => stage.lr[p.spec.name] !== undefined);
      const fit = active.map((p) => p.spec.index);
      const lr = active.map((p) => stage.lr[p.spec.name]);
      // one group per parameter: its learning rate and its range
      const adam = new Optimizer("f64", active.length);
      const groups = () => active.map((p, i) => ({ start: i, end: i + 1, lr: lr[i], lo: p.range[0], hi: p.range[1] }));
      // the point and optimizer state before the last step, to undo a step that led to a non-finite loss
      let undo: { values: Float64Array; adam: OptimizerState } | undefined;
      let prevLoss = Infinity;
      let failures = 0;
      // the plateau rule (last stage only): the best loss on all the data, and epochs without enough improvement
      const watch = s === opts.stages.length - 1 && (opts.patience ?? 0) > 0;
      let plateauBest = Infinity;
      let flat = 0;
      /** the plateau rule after epoch `e` of this stage; true: the stage ends there (`handOver`) */
      const plateauAfter = (dataLoss: number, e: number): boolean => {
        if (!watch || !Number.isFinite(dataLoss)) return false;
        if (dataLoss < plateauBest * (1 - opts.minImprovement!)) flat = 0;
        else flat += 1;
        plateauBest = Math.min(plateauBest, dataLoss);
        return flat >= opts.patience! && e + 1 < stageEpochs;
      };
      /** the stage ends on the plateau after epoch `at` (over all stages) */
      const handOver = (at: number): void => {
        plateau = true;
        events.push({
          start: startIndex,
          epoch: at,
          kind: "plateau",
          detail: `the loss on all the data improved by less than ${100 * opts.minImprovement!} % in ${flat} epoch${flat > 1 ? "s" : ""} in a row: handed over to the refinement`,
        });
      };
      /**
       * With mini-batches split across threads (`ev.takesSideWork`), the loss on
       * all the data at the point an epoch ended is not evaluated then: its
       * trials are offered as side work to the next epoch's mini-batches, done
       * by the thread whose share is lighter while it would wait, and the rest
       * after them. That epoch's checks (best point, plateau rule) wait until
       * then; if the plateau rule ends the stage there, the next epoch is undone
       * (point, optimizer, learning rates, events), so the fit is the one a
       * sequential run gives. Only a signal during the next epoch may drop a
       * deferred point that was not finished.
       */
      let deferred:
        | {
            values: Float64Array;
            e: number;
            at: number;
            todo: number[];
            parts?: Parts;
            state: { adam: OptimizerState; lr: number[]; prevLoss: number; failures: number; undo: typeof undo; events: number };
          }
        | undefined;
      /** The deferred epoch's checks, its loss finished first; true: the stage ended there and what followed is undone. */
      const settle = async (): Promise<boolean> => {
        const d = deferred!;
        deferred = undefined;
        let p = d.parts;
        if (d.todo.length) {
          const rest = await ev.evaluate(d.values, [], "loss", d.todo);
          p = p ? addParts(p, rest) : rest;
        }
        const dataLoss = consider(p!, d.values);
        if (!plateauAfter(dataLoss, d.e)) return false;
        values.set(d.values);
        settled = Float64Array.from(d.values);
        adam.restore(d.state.adam);
        d.state.lr.forEach((x, i) => (lr[i] = x));
        prevLoss = d.state.prevLoss;
        failures = d.state.failures;
        undo = d.state.undo;
        events.length = d.state.events;
        handOver(d.at);
        return true;
      };
      try {
        epochs: for (let e = 0; e < stageEpochs; e++) {
          const order = opts.batch >= nTrials ? all : shuffled(nTrials, rnd);
          let sumAbs = 0;
          let count = 0;
          for (let b0 = 0; b0 < nTrials; b0 += opts.batch) {
            const sel = order.slice(b0, b0 + opts.batch);
            const before = Float64Array.from(values);
            settled = before;
            const side = deferred && deferred.todo.length ? { values: deferred.values, sel: deferred.todo } : undefined;
            const parts = await ev.evaluate(values, fit, opts.mode, sel, side);
            if (deferred && parts.side) {
              deferred.parts = deferred.parts ? addParts(deferred.parts, parts.side.parts) : parts.side.parts;
              deferred.todo = deferred.todo.slice(parts.side.taken);
            }
            if (!finite(parts)) {
              failures += 1;
              lr.forEach((_, i) => (lr[i] *= 0.5));
              events.push({
                start: startIndex,
                epoch: epochTotal + 1,
                kind: "nonfinite_step_rejected",
                detail: `non-finite loss or gradient at ${JSON.stringify(named(values))}; step undone, learning rates halved`,
              });
              if (undo) {
                values.set(undo.values);
                adam.restore(undo.adam);
                undo = undefined;
              }
              if (failures >= opts.maxFailures) {
                // the previous epoch may have ended the stage before this one began
                if (deferred && (await settle())) break epochs;
                events.push({ start: startIndex, epoch: epochTotal + 1, kind: "stopped_after_failures", detail: `${failures} consecutive non-finite steps` });
                status = "failed";
                break stages;
              }
              continue;
            }
            failures = 0;
            sumAbs += parts.sumAbs;
            count += parts.count;
            if (sel.length >= nTrials) consider(parts, before);
            undo = { values: before, adam: adam.snapshot() };
            adam.theta().set(active.map((p) => values[p.spec.index]));
            adam.setGroups(groups());
            adam.slot(0).set(parts.grad.map((g) => g / parts.count));
            adam.step();
            const th = adam.theta();
            active.forEach((p, i) => (values[p.spec.index] = th[i]));
            if (opts.shouldStop?.()) break;
          }
          if (deferred) {
            // a stop: no time for the rest of a pass, but a finished one counts
            if (opts.shouldStop?.()) {
              if (!deferred.todo.length && deferred.parts) consider(deferred.parts, deferred.values);
              deferred = undefined;
            } else if (await settle()) break;
          }
          epochTotal += 1;
          const loss = count > 0 ? sumAbs / count : NaN;
          // mini-batches: the epoch's loss mixes several points; evaluate the point reached on all the data
          // (full batch: the epoch's loss is that of all the data at the epoch's start point)
          let dataLoss = loss;
          const defer = opts.batch < nTrials && ev.takesSideWork === true && e + 1 < stageEpochs && !opts.shouldStop?.();
          if (opts.batch < nTrials && !opts.shouldStop?.() && !defer) dataLoss = consider(await ev.evaluate(values, [], "loss", all), values);
          const rec: EpochRecord = {
            start: startIndex,
            stage: s,
            epoch: epochTotal,
            loss,
            values: named(values),
            lr: Object.fromEntries(active.map((p, i) => [p.spec.name, lr[i]])),
          };
          history.push(rec);
          opts.onEpoch?.(rec);
          if (opts.shouldStop?.()) {
            status = "interrupted";
            events.push({
              start: startIndex,
              epoch: epochTotal,
              kind: "interrupted",
              detail: `${stopReason()}: stopped after the current step`,
            });
            break stages;
          }
          if (loss > prevLoss) {
            lr.forEach((_, i) => (lr[i] *= 0.5));
            events.push({
              start: startIndex,
              epoch: epochTotal,
              kind: "lr_halved",
              detail: `loss rose from ${prevLoss.toPrecision(6)} to ${loss.toPrecision(6)}`,
            });
          }
          prevLoss = Math.min(prevLoss, loss);
          if (stage.untilLoss !== undefined && loss < stage.untilLoss) {
            if (defer) consider(await ev.evaluate(values, [], "loss", all), values);
            break;
          }
          if (defer) {
            deferred = {
              values: Float64Array.from(values),
              e,
              at: epochTotal,
              todo: all,
              state: { adam: adam.snapshot(), lr: [...lr], prevLoss, failures, undo, events: events.length },
            };
          } else if (plateauAfter(dataLoss, e)) {
            handOver(epochTotal);
            break;
          }
        }
      } finally {
        adam.free();
      }
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    // a signal during an evaluation: keep the point before the unfinished step
    values.set(settled);
    status = "interrupted";
    events.push({ start: startIndex, epoch: epochTotal + 1, kind: "interrupted", detail: `${e.signal}: stopped during a step; the values before it are kept` });
  }
  if (status === "interrupted") {
    // no time for another pass over the data: the kept point stands for itself if nothing better was evaluated
    if (best.loss === Infinity) best = { loss: NaN, values: Float64Array.from(values) };
    if (bestSq.sumSq === Infinity) bestSq = { sumSq: NaN, values: Float64Array.from(values) };
  } else {
    // the lowest loss seen: full-batch epochs know it exactly; compare with the final point (unless it was just evaluated on all the data)
    if (!(lastFull && lastFull.every((x, i) => x === values[i]))) consider(await ev.evaluate(values, [], "loss", all), values);
    if (!Number.isFinite(best.loss)) status = "failed"; // no finite loss anywhere: the start values are kept
  }
  return {
    start: startIndex,
    startValues: Object.fromEntries(opts.params.map((p, i) => [p.spec.name, startValues[i]])),
    values: named(best.values),
    loss: best.loss,
    lsqValues: named(bestSq.values),
    sumSq: bestSq.sumSq,
    epochs: epochTotal,
    plateau,
    status,
  };
}

/**
 * Start points: the first at each parameter's start (the middle of its range
 * unless given), the others spread over the ranges by a seeded Latin hypercube.
 */
export function startPoints(params: FitParam[], starts: number, seed: number): number[][] {
  const pts = [params.map((p) => p.start)];
  if (starts <= 1) return pts;
  const rnd = uniformSource(seed, STREAM_START_POINTS);
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
  "Gauss-Newton covariance of the least-squares residuals r = m_x(student) - m_x(teacher) at the returned point: C = s^2 (J^T J)^-1, J = d r/d theta from forward-mode sensitivities at every compared sample, s^2 = sum r^2 / (N - k) (estimated from the residuals, as lmfit's scale_covar) or the square of --sigma if given; 1 sigma = sqrt(C_ii), combined in quadrature with the numerical resolution of the estimate (the last Levenberg-Marquardt step, at least 2 ulp of the value); treats residuals as independent";

/** Parameters that enter the model only as a product cannot be fitted together. */
export function checkIdentifiable(names: string[]): void {
  if (names.includes("eta") && names.includes("j_DC")) {
    throw new UsageError("--fit: eta and j_DC enter the model only as the product eta*j_DC (eq. 2), so they cannot both be fitted; fit one and fix the other");
  }
}

export { PARAMS };

export interface RefineOptions {
  ftol?: number;
  xtol?: number;
  gtol?: number;
  maxIterations?: number;
  shouldStop?: () => boolean;
}

export interface RefineResult {
  values: Record<string, number>;
  lm: LmResult;
  /** the evaluation (all trials, duals) at the returned point, if the refinement made one there */
  at?: Parts;
}

/**
 * Phase 2: Levenberg-Marquardt on the least-squares residuals
 * r = m_x(student) - m_x(teacher) over every compared sample of every trial,
 * from `start`, within the fitting ranges. J^T r and J^T J come from the
 * forward-mode duals, whatever gradient mode phase 1 used.
 */
export async function refine(
  ev: Evaluator,
  nTrials: number,
  base: Float64Array,
  params: FitParam[],
  start: Record<string, number>,
  opts: RefineOptions = {},
): Promise<RefineResult> {
  const fit = params.map((p) => p.spec.index);
  const all = Array.from({ length: nTrials }, (_, i) => i);
  const n = params.length;
  // the evaluations by point: the one at the returned point serves the statistics
  const seen = new Map<string, Parts>();
  const key = (x: ArrayLike<number>) => Array.from(x).join(",");
  const evaluate = async (x: Float64Array): Promise<LsqPoint> => {
    const v = Float64Array.from(base);
    params.forEach((p, i) => (v[p.spec.index] = x[i]));
    const parts = await ev.evaluate(v, fit, "dual", all);
    seen.set(key(x), parts);
    return {
      sumSq: parts.sumSq,
      count: parts.count,
      jtr: Float64Array.from(parts.jtr),
      jtj: Float64Array.from({ length: n * n }, (_, k) => parts.jtj[Math.floor(k / n)][k % n]),
    };
  };
  const lm = await levenbergMarquardt(
    evaluate,
    Float64Array.from(params, (p) => start[p.spec.name]),
    {
      lower: Float64Array.from(params, (p) => p.range[0]),
      upper: Float64Array.from(params, (p) => p.range[1]),
      ...opts,
    },
  );
  return { values: Object.fromEntries(params.map((p, i) => [p.spec.name, lm.x[i]])), lm, at: seen.get(key(lm.x)) };
}

// ---------------------------------------------------------------------------
// The whole fit of one teacher: phase 1 (the paper's Adam schedule, every
// start), phase 2 (Levenberg-Marquardt from the best point), the statistics.

export type Refinement = "lm" | "none";

export interface RunOptions extends Omit<FitOptions, "onEpoch"> {
  starts: number;
  refine: Refinement;
  lm?: RefineOptions;
  /** noise standard deviation of the teacher's m_x if known; else estimated from the residuals */
  sigma?: number;
  onEpoch?: (e: EpochRecord) => void;
}

export type RunStatus = "ok" | "at_bound" | "not_converged" | "failed" | "interrupted";
export type EndReason = "ftol" | "xtol" | "gtol" | "max_iterations" | "stalled" | "max_epochs" | "interrupted" | "failed";

export interface ParamOutcome {
  name: string;
  value: number;
  /** the start of the start that won */
  start: number;
  range: [number, number];
  /** total 1-sigma uncertainty (statistical and numerical in quadrature); NaN if J^T J is singular */
  stderr: number;
  statistical: number;
  numerical: number;
  atBound: boolean;
}

export interface FitStatistics {
  /** compared samples (residuals) */
  nData: number;
  /** fitted parameters */
  nFree: number;
  dof: number;
  /** eq. 4 at the returned point: mean |r| */
  lossEq4: number;
  /** sum r^2 */
  sumSq: number;
  /** sum (r / sigma)^2 with sigma = --sigma, or sum r^2 (unweighted, as lmfit) if not given */
  chiSquare: number;
  reducedChiSquare: number;
  aic: number;
  bic: number;
  /** noise standard deviation used for the covariance */
  sigma: number;
  sigmaSource: "given" | "estimated";
}

export interface FitOutcome {
  status: RunStatus;
  objective: "least_squares" | "eq4";
  params: ParamOutcome[];
  /** covariance and correlation of the fitted parameters (statistical part), null if J^T J is singular */
  covariance: number[][] | null;
  correlation: number[][] | null;
  stats: FitStatistics;
  convergence: { converged: boolean; reason: EndReason; message: string; lmIterations: number; lmEvaluations: number; lmStart: Record<string, number> | null };
  bestStart: number;
  epochs: number;
  starts: StartResult[];
  events: FitEvent[];
  history: EpochRecord[];
  warnings: string[];
}

/** the spacing of doubles at x */
export function ulp(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return Number.MIN_VALUE;
  return Math.pow(2, Math.floor(Math.log2(a)) - 52);
}

/** Fit statistics as lmfit reports them, from the least-squares residuals. */
export function statistics(sumSq: number, sumAbs: number, nData: number, nFree: number, sigma?: number): FitStatistics {
  const dof = nData - nFree;
  const chiSquare = sigma !== undefined ? sumSq / (sigma * sigma) : sumSq;
  const logLike = nData * Math.log(chiSquare / nData);
  return {
    nData,
    nFree,
    dof,
    lossEq4: sumAbs / nData,
    sumSq,
    chiSquare,
    reducedChiSquare: dof > 0 ? chiSquare / dof : NaN,
    aic: logLike + 2 * nFree,
    bic: logLike + Math.log(nData) * nFree,
    sigma: sigma ?? (dof > 0 ? Math.sqrt(sumSq / dof) : NaN),
    sigmaSource: sigma !== undefined ? "given" : "estimated",
  };
}

/**
 * Run every start of phase 1, then (refine "lm") Levenberg-Marquardt from the
 * evaluated point with the lowest sum of squares, and report. The returned
 * point is never worse than the best evaluated one in the objective the run
 * minimizes: sum r^2 with refinement, eq. 4 without.
 */
export async function runFit(ev: Evaluator, nTrials: number, opts: RunOptions): Promise<FitOutcome> {
  const { params } = opts;
  const events: FitEvent[] = [];
  const history: EpochRecord[] = [];
  const starts: StartResult[] = [];
  const stop = () => opts.shouldStop?.() ?? false;
  const points = startPoints(params, opts.starts, opts.seed);
  // starts are independent (each its own shuffling seed): with several threads each start runs whole
  // on one thread, side by side, instead of every mini-batch being split across the threads
  const lanes = points.length > 1 && ev.lanes ? ev.lanes() : [ev];
  const done: (StartResult | undefined)[] = points.map(() => undefined);
  const logs = points.map(() => ({ events: [] as FitEvent[], history: [] as EpochRecord[] }));
  // the plateau hand-over needs a refinement to hand over to
  const lsq = opts.refine === "lm";
  let next = 0;
  let laneFailed = false;
  await Promise.all(
    lanes.map(async (lane) => {
      for (let s = next++; s < points.length && !laneFailed && !(s > 0 && stop()); s = next++) {
        try {
          const startOpts: FitOptions = { ...opts, patience: lsq ? opts.patience : 0 };
          if (lane.fitStart) {
            const run = await lane.fitStart(nTrials, startOpts, s, points[s]);
            done[s] = run.result;
            logs[s] = { events: run.events, history: run.history };
          } else done[s] = await fitOnce(lane, nTrials, startOpts, s, points[s], logs[s].events, logs[s].history);
        } catch (e) {
          laneFailed = true;
          throw e;
        }
      }
    }),
  );
  // in start order, as one thread would have run them
  done.forEach((r, s) => {
    if (r === undefined) return;
    starts.push(r);
    events.push(...logs[s].events);
    history.push(...logs[s].history);
  });
  // the winning start: lowest sum of squares (refinement) or lowest eq. 4 loss
  const key = (r: StartResult) => (lsq ? r.sumSq : r.loss);
  const best = starts.reduce((b, r) => (Number.isFinite(key(r)) && !(key(r) >= key(b)) ? r : b), starts[0]);
  const interrupted = stop() || starts.some((r) => r.status === "interrupted");
  const failed = !Number.isFinite(key(best));
  let values = lsq ? best.lsqValues : best.values;
  let lm: LmResult | undefined;
  let lmAt: Parts | undefined;
  const warnings: string[] = [];
  let reason: EndReason = interrupted ? "interrupted" : failed ? "failed" : "max_epochs";
  let message = interrupted
    ? "interrupted: the best point so far is returned"
    : failed
      ? "failed: no finite loss was found"
      : `phase 1 (Adam) ended after its epochs${lsq ? "" : "; no refinement (--refine none): not checked for convergence"}`;
  if (lsq && !interrupted && !failed) {
    try {
      const r = await refine(ev, nTrials, opts.base, params, values, { ...opts.lm, shouldStop: opts.shouldStop });
      lm = r.lm;
      lmAt = r.at;
      values = r.values;
      reason = lm.reason;
      message = lm.message;
    } catch (e) {
      if (e instanceof Interrupted) {
        // a signal during the refinement: the phase-1 point is returned
        reason = "interrupted";
        message = `interrupted by ${e.signal} during the Levenberg-Marquardt refinement: the best point of phase 1 is returned`;
        events.push({ start: best.start, epoch: best.epochs, kind: "interrupted", detail: `${e.signal}: stopped during the refinement` });
      } else {
        reason = "failed";
        message = `Levenberg-Marquardt could not start: ${e instanceof Error ? e.message : String(e)}; the phase-1 point is returned`;
      }
    }
  }
  const stopped = interrupted || reason === "interrupted";
  // statistics at the returned point (J^T J from the duals whatever phase 1 used); after a
  // signal there is no time for that pass: the statistics are not known (NaN, null in JSON)
  const v = Float64Array.from(opts.base);
  for (const p of params) v[p.spec.index] = values[p.spec.name];
  const all = Array.from({ length: nTrials }, (_, i) => i);
  const unknown: Parts = {
    sumAbs: NaN,
    count: NaN,
    sumSq: NaN,
    grad: params.map(() => NaN),
    jtr: params.map(() => NaN),
    jtj: params.map(() => params.map(() => NaN)),
  };
  const at = stopped
    ? unknown
    : (lmAt ??
      (await ev.evaluate(
        v,
        params.map((p) => p.spec.index),
        "dual",
        all,
      )));
  const k = params.length;
  const stats = statistics(at.sumSq, at.sumAbs, at.count, k, opts.sigma);
  const jtj = Float64Array.from({ length: k * k }, (_, i) => at.jtj[Math.floor(i / k)][i % k]);
  const inv = stats.dof > 0 && at.jtj.every((row) => row.every(Number.isFinite)) ? invertSpd(jtj, k) : null;
  const s2 = opts.sigma !== undefined ? opts.sigma * opts.sigma : stats.dof > 0 ? at.sumSq / stats.dof : NaN;
  const covariance = inv && Number.isFinite(s2) ? Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => s2 * inv[a * k + b])) : null;
  const correlation = covariance ? covariance.map((row, a) => row.map((c, b) => (a === b ? 1 : c / Math.sqrt(covariance[a][a] * covariance[b][b])))) : null;
  const out: ParamOutcome[] = params.map((p, i) => {
    const value = values[p.spec.name];
    const statistical = covariance ? Math.sqrt(Math.max(0, covariance[i][i])) : NaN;
    const numerical = Math.max(lm ? Math.abs(lm.lastStep[i]) : 0, 2 * ulp(value));
    const atBound = value <= p.range[0] || value >= p.range[1];
    return {
      name: p.spec.name,
      value,
      start: best.startValues[p.spec.name],
      range: p.range,
      stderr: Math.hypot(statistical, numerical),
      statistical,
      numerical,
      atBound,
    };
  });
  // ---- warnings: everything a user must see, printed with the table
  for (const p of out)
    if (p.atBound)
      warnings.push(
        `${p.name} = ${p.value} is on the ${p.value <= p.range[0] ? "lower" : "upper"} bound of its range ${p.range[0]}:${p.range[1]}: the best fit may lie outside; widen --range`,
      );
  const converged = reason === "ftol" || reason === "xtol" || reason === "gtol";
  if (!converged && !stopped) warnings.push(`not converged: ${message}`);
  if (stopped) warnings.push(`${stopRequested() ?? "interrupted"}: stopped early; the best point so far is returned, without statistics or uncertainties`);
  else if (!covariance)
    warnings.push("J^T J is singular (or no degrees of freedom): no uncertainties or correlations (does a fitted parameter leave m_x unchanged?)");
  const rejected = events.filter((e) => e.kind === "nonfinite_step_rejected").length;
  if (rejected) warnings.push(`${rejected} non-finite Adam step${rejected > 1 ? "s" : ""} rejected (learning rate halved each time)`);
  const halved = events.filter((e) => e.kind === "lr_halved").length;
  // (a phase-1 stall matters only if the refinement did not take over and converge)
  if (halved >= 5 && !converged) warnings.push(`Adam's learning rate was halved ${halved} times (the paper's rule on a rising epoch loss): phase 1 stalled`);
  for (const r of starts) {
    if (r.status === "failed")
      warnings.push(
        `start ${r.start + 1} failed (${
          events
            .filter((e) => e.start === r.start && e.kind === "stopped_after_failures")
            .map((e) => e.detail)
            .join("; ") || "no finite loss"
        })`,
      );
    else if (r !== best && Number.isFinite(key(r)) && key(r) > 10 * key(best) + 1e-300)
      warnings.push(
        `start ${r.start + 1} of ${starts.length} ended Adam at ${lsq ? "sum of squares" : "loss"} ${key(r).toExponential(2)}, the best start at ${key(best).toExponential(2)}: another local minimum or not converged${lsq ? " (only the best start is refined)" : ""}`,
      );
  }
  const status: RunStatus = stopped ? "interrupted" : failed ? "failed" : out.some((p) => p.atBound) ? "at_bound" : converged ? "ok" : "not_converged";
  return {
    status,
    objective: lsq ? "least_squares" : "eq4",
    params: out,
    covariance,
    correlation,
    stats,
    convergence: { converged, reason, message, lmIterations: lm?.iterations ?? 0, lmEvaluations: lm?.evaluations ?? 0, lmStart: lm ? best.lsqValues : null },
    bestStart: best.start,
    epochs: best.epochs,
    starts,
    events,
    history,
    warnings,
  };
}
