/**
 * Fitting measured data (README "Fitting measured data"): traces of m_x or of
 * a voltage y = offset + amplitude m_x, cut into windows; each window's
 * initial state is an unknown in a tangent-plane chart (or the teacher's
 * full state where it is known), fitted jointly with the physical parameters
 * and, where unknown, offset and amplitude, by bounded Levenberg-Marquardt
 * (cli/fit/lm.ts) on the sum of squared residuals. Derivatives come from the
 * core's forward-mode duals: a window's two chart tangents touch only its own
 * residuals, so the core returns per-window blocks of J^T J and J^T r, and
 * the dense normal equations are assembled here.
 */
import { levenbergMarquardt, LmResult } from "./lm.js";
import { FitParam, startPoints } from "./sysid.js";
import { uniformSource } from "../core/rng.js";
import { simulate } from "../simulator.js";
import { UsageError } from "../errors.js";
import { TIME } from "../io/units.js";
import { blockLayout, WindowArrays, WindowEvaluator, WindowRequest } from "./windows.js";
import { createRequire } from "node:module";

/** ml-matrix, loaded with the first covariance (every sysid run imports this module for its checks) */
let mlMatrixModule: typeof import("ml-matrix") | undefined;
function mlMatrix(): typeof import("ml-matrix") {
  mlMatrixModule ??= createRequire(import.meta.url)("ml-matrix") as typeof import("ml-matrix");
  return mlMatrixModule;
}

// ---------------------------------------------------------------------------
// Windows

export interface Trace {
  label: string;
  t_s: Float64Array;
  y: Float64Array;
  /** full state per sample (3 each) where the teacher has it */
  m?: Float64Array;
  line: number;
}

export interface Windows extends WindowArrays {
  /** initial state per window (3 each): the teacher's where known, else filled by `initialStates` */
  m0: Float64Array;
  /** trace index and start time [s] of each window */
  trace: number[];
  startS: number[];
}

/**
 * Cut each trace into windows of `windowS` starting every `strideS`: a window
 * holds the samples with t0 <= t <= t0 + windowS (both ends, a quarter of the
 * smallest sample spacing of slack), so 1 ns at 50 ps is 21 samples and
 * consecutive windows at stride = window share their boundary sample.
 */
export function cutWindows(traces: Trace[], windowS: number, strideS: number, file: string): Windows {
  const offsets = [0];
  const t: number[] = [];
  const y: number[] = [];
  const m0: number[] = [];
  const trace: number[] = [];
  const startS: number[] = [];
  traces.forEach((tr, ti) => {
    const n = tr.t_s.length;
    let minGap = Infinity;
    for (let k = 1; k < n; k++) minGap = Math.min(minGap, tr.t_s[k] - tr.t_s[k - 1]);
    const tol = 0.25 * minGap;
    const span = tr.t_s[n - 1] - tr.t_s[0];
    if (windowS > span + tol) {
      throw new UsageError(
        `--window: ${fmtS(windowS)} is longer than ${traces.length > 1 ? `trace ${tr.label} (line ${tr.line} of ${file})` : `the trace in ${file}`}, which spans ${fmtS(span)}; give a shorter --window`,
      );
    }
    let k0 = 0;
    for (let s = tr.t_s[0]; s + windowS <= tr.t_s[n - 1] + tol; s += strideS) {
      while (k0 < n && tr.t_s[k0] < s - tol) k0++;
      let k1 = k0;
      while (k1 + 1 < n && tr.t_s[k1 + 1] <= s + windowS + tol) k1++;
      if (k1 - k0 + 1 < 2) throw new UsageError(`--window: ${fmtS(windowS)} holds fewer than 2 samples of the trace in ${file} at t = ${fmtS(s)}`);
      for (let k = k0; k <= k1; k++) {
        t.push(tr.t_s[k]);
        y.push(tr.y[k]);
      }
      offsets.push(t.length);
      m0.push(...(tr.m ? [tr.m[3 * k0], tr.m[3 * k0 + 1], tr.m[3 * k0 + 2]] : [0, 0, 1]));
      trace.push(ti);
      startS.push(tr.t_s[k0]);
    }
  });
  return { offsets: Uint32Array.from(offsets), t_s: Float64Array.from(t), y: Float64Array.from(y), m0: Float64Array.from(m0), trace, startS };
}

export const fmtS = (s: number): string =>
  Math.abs(s) >= 1e-3
    ? `${+s.toPrecision(4)} s`
    : Math.abs(s) >= 1e-6
      ? `${+(s * 1e6).toPrecision(4)} us`
      : Math.abs(s) >= 1e-9
        ? `${+(s * 1e9).toPrecision(4)} ns`
        : `${+(s * 1e12).toPrecision(4)} ps`;

/**
 * A time axis that cannot be a measurement: a sample spacing above 10 ns, or
 * more than MAX_STEPS_PER_SAMPLE student steps between samples. Names the
 * likely unit mistake (e.g. ns values in a column read as seconds).
 */
export const MAX_SPACING_S = 10e-9;
export function checkScopeTimeAxis(traces: { t_s: Float64Array; line: number }[], dtS: number, file: string, timeName: string): void {
  let gap = 0;
  let line = 0;
  for (const tr of traces) {
    for (let k = 1; k < tr.t_s.length; k++) {
      const g = tr.t_s[k] - tr.t_s[k - 1];
      if (g > gap) {
        gap = g;
        line = tr.line;
      }
    }
  }
  const steps = gap / dtS;
  if (gap > MAX_SPACING_S || steps > MAX_SPACING_S / 0.5e-12) {
    // the column's own unit, from its name (t, time: s; t_ns, time_ns, t [ns]: ns), and the unit that would put the spacing in [0.1 ps, 10 ns]
    const named = /^(?:t|time)(?:_|\s*[[(]\s*)([a-zµ]+)/i.exec(timeName)?.[1] ?? "s";
    const toS = TIME.suffixes[named] ?? 1;
    const raw = gap / toS;
    const guesses = ["ns", "ps", "us", "fs", "ms"].filter((u) => u !== named);
    const hint = guesses.map((u) => [u, raw * TIME.suffixes[u]] as const).find(([, g]) => g >= 1e-13 && g <= MAX_SPACING_S);
    const name = hint ? `${/^time/i.test(timeName) ? "time" : "t"}_${hint[0]}` : "";
    if (gap <= MAX_SPACING_S) {
      throw new UsageError(
        `--dt: samples ${fmtS(gap)} apart need ${steps.toExponential(2)} student steps of ${fmtS(dtS)} each, far more than any scope trace (at most ${MAX_SPACING_S / 0.5e-12} steps of 0.5 ps); give a larger --dt`,
      );
    }
    throw new UsageError(
      `${file}:${line}: ${timeName}: samples ${fmtS(gap)} apart (${gap.toPrecision(3)} s, ${steps.toExponential(2)} student steps of ${fmtS(dtS)}) cannot be a scope trace (at most ${fmtS(MAX_SPACING_S)}); ` +
        (hint
          ? `the column ${timeName} is read in ${named === "s" ? "seconds" : named} and likely holds ${hint[0]}: name it ${name}`
          : `check the time column's unit (${timeName})`),
    );
  }
}

// ---------------------------------------------------------------------------
// Initial states from the limit cycle

export interface Cycle {
  /** period [s]; Infinity if the dynamics settles to a fixed point */
  periodS: number;
  dtS: number;
  /** states at dtS spacing from a rising mean crossing of m_x, more than one period */
  states: Float64Array;
  meanMx: number;
  sdMx: number;
}

/** The noise-free attractor of `params`: 20 ns from a fixed tilted start, then 2 ns tabulated. */
export async function limitCycle(params: Float64Array, dtS: number): Promise<Cycle> {
  const washout = Math.round(20e-9 / dtS) * dtS;
  const n = Math.round(2e-9 / dtS);
  const norm = Math.hypot(0.3, 0.2, 0.93);
  let data = new Float64Array(0);
  await simulate(
    {
      params,
      scheme: "rk4",
      dtS,
      temperatureK: 0,
      seed: 1n,
      trials: 1,
      washoutS: washout,
      sampleS: dtS,
      durationS: n * dtS,
      m0: [0.3 / norm, 0.2 / norm, 0.93 / norm],
    },
    async (b) => {
      const d = new Float64Array(data.length + b.data.length);
      d.set(data);
      d.set(b.data, data.length);
      data = d;
    },
  );
  const m = data.length / 3;
  let mean = 0;
  for (let k = 0; k < m; k++) mean += data[3 * k] / m;
  let sd = 0;
  for (let k = 0; k < m; k++) sd += (data[3 * k] - mean) ** 2 / m;
  sd = Math.sqrt(sd);
  const ups: number[] = [];
  for (let k = 1; k < m; k++) {
    const a = data[3 * (k - 1)] - mean;
    const b = data[3 * k] - mean;
    if (a < 0 && b >= 0) ups.push(k - 1 + a / (a - b));
  }
  if (sd < 1e-6 || ups.length < 3) return { periodS: Infinity, dtS, states: data.slice(3 * (m - 1)), meanMx: mean, sdMx: 0 };
  const periodS = ((ups[ups.length - 1] - ups[0]) / (ups.length - 1)) * dtS;
  const first = Math.floor(ups[0]);
  return { periodS, dtS, states: data.slice(3 * first), meanMx: mean, sdMx: sd };
}

/** The cycle's state at time tau after its first tabulated state (modulo the period, linear interpolation). */
function cycleState(c: Cycle, tau: number, out: number[]): void {
  if (!Number.isFinite(c.periodS)) {
    out[0] = c.states[0];
    out[1] = c.states[1];
    out[2] = c.states[2];
    return;
  }
  const ph = ((tau % c.periodS) + c.periodS) % c.periodS;
  const f = ph / c.dtS;
  const i = Math.min(Math.floor(f), c.states.length / 3 - 2);
  const w = f - i;
  for (let j = 0; j < 3; j++) out[j] = (1 - w) * c.states[3 * i + j] + w * c.states[3 * (i + 1) + j];
}

export interface Affine {
  offset: number;
  amplitude: number;
}

/**
 * Each window's initial state: the phase on the limit cycle of the current
 * parameters whose m_x best matches the window's first samples (those within
 * `matchS`, at least 6), by least squares under the signal model. Early
 * samples only: later ones drift from the cycle's phase by the parameter
 * error and the thermal phase diffusion, and a whole-window match would
 * trade the start for the average. Offset and amplitude, where unknown, are
 * first estimated from the signal's mean and spread against the cycle's;
 * both signs of the amplitude are tried (m_x and -m_x differ only in their
 * harmonics), the better total match is kept, and both are refined by a
 * linear fit over the matched samples. Writes w.m0 for the windows `sel`.
 */
export function initialStates(c: Cycle, w: Windows, known: Partial<Affine>, matchS: number, m0Out: Float64Array = w.m0): Affine {
  const n = w.offsets.length - 1;
  const nPh = Number.isFinite(c.periodS) ? Math.max(1, Math.round(c.periodS / c.dtS)) : 1;
  const span = (i: number) => {
    const a = w.offsets[i];
    const b = w.offsets[i + 1];
    let e = a;
    while (e < b && (w.t_s[e] - w.t_s[a] <= matchS + 1e-15 || e - a < 6)) e++;
    return [a, e] as const;
  };
  // predicted m_x per window, phase, matched sample; windows on the same relative grid share one table
  const spans = Array.from({ length: n }, (_, i) => span(i));
  const cache = new Map<string, Float64Array>();
  const cycMx = new Float64Array(c.states.length / 3);
  for (let k = 0; k < cycMx.length; k++) cycMx[k] = c.states[3 * k];
  const mxAt = (tau: number) => {
    if (!Number.isFinite(c.periodS)) return cycMx[0];
    let ph = tau % c.periodS;
    if (ph < 0) ph += c.periodS;
    const f = ph / c.dtS;
    const i = Math.min(Math.floor(f), cycMx.length - 2);
    const w = f - i;
    return (1 - w) * cycMx[i] + w * cycMx[i + 1];
  };
  const pred = spans.map(([a, e]) => {
    const rel = Array.from({ length: e - a }, (_, k) => w.t_s[a + k] - w.t_s[a]);
    const key = rel.map((x) => x.toExponential(9)).join(",");
    const hit = cache.get(key);
    if (hit) return hit;
    const p = new Float64Array(nPh * (e - a));
    for (let j = 0; j < nPh; j++) for (let k = 0; k < e - a; k++) p[j * (e - a) + k] = mxAt(j * c.dtS + rel[k]);
    cache.set(key, p);
    return p;
  });
  let my = 0;
  let sy = 0;
  for (const v of w.y) my += v / w.y.length;
  for (const v of w.y) sy += (v - my) ** 2 / w.y.length;
  sy = Math.sqrt(sy);
  const match = (aff: Affine) => {
    let total = 0;
    const best = new Int32Array(n);
    const { offset: o, amplitude: amp } = aff;
    spans.forEach(([a, e], i) => {
      let bj = 0;
      let bs = Infinity;
      const p = pred[i];
      const m = e - a;
      for (let j = 0; j < nPh; j++) {
        let s = 0;
        const base = j * m;
        for (let k = 0; k < m; k++) {
          const r = o + amp * p[base + k] - w.y[a + k];
          s += r * r;
        }
        if (s < bs) {
          bs = s;
          bj = j;
        }
      }
      best[i] = bj;
      total += bs;
    });
    return { total, best };
  };
  const mag = known.amplitude !== undefined ? Math.abs(known.amplitude) : c.sdMx > 0 ? sy / c.sdMx : 1;
  const signs = known.amplitude !== undefined ? [Math.sign(known.amplitude)] : [1, -1];
  let choice: { aff: Affine; best: Int32Array; total: number } | undefined;
  for (const sg of signs) {
    const amp = sg * mag;
    const aff = { offset: known.offset ?? my - amp * c.meanMx, amplitude: amp };
    const r = match(aff);
    if (!choice || r.total < choice.total) choice = { aff, best: r.best, total: r.total };
  }
  let aff = choice!.aff;
  // refine the unknown ones by linear least squares over the matched samples
  if (known.offset === undefined || known.amplitude === undefined) {
    let s1 = 0,
      sx = 0,
      sxx = 0,
      syy = 0,
      sxy = 0;
    spans.forEach(([a, e], i) => {
      for (let k = a; k < e; k++) {
        const x = pred[i][choice!.best[i] * (e - a) + (k - a)];
        s1 += 1;
        sx += x;
        sxx += x * x;
        syy += w.y[k];
        sxy += x * w.y[k];
      }
    });
    if (known.offset === undefined && known.amplitude === undefined) {
      const det = s1 * sxx - sx * sx;
      const b = (s1 * sxy - sx * syy) / det;
      if (Number.isFinite(b) && b !== 0 && Math.sign(b) === Math.sign(aff.amplitude)) aff = { offset: (syy - b * sx) / s1, amplitude: b };
    } else if (known.offset === undefined) aff = { offset: (syy - aff.amplitude * sx) / s1, amplitude: aff.amplitude };
    else {
      const b = (sxy - aff.offset * sx) / sxx;
      if (Number.isFinite(b) && b !== 0) aff = { offset: aff.offset, amplitude: b };
    }
  }
  const s = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    cycleState(c, choice!.best[i] * c.dtS, s);
    m0Out.set(s, 3 * i);
  }
  return aff;
}

// ---------------------------------------------------------------------------
// The joint least-squares problem

/** The chart of core-rs/src/sysid.rs: m(u, v) = normalize(r + u e1 + v e2). */
export function tangentBasis(r: number[]): [number[], number[]] {
  let k = 0;
  for (let j = 1; j < 3; j++) if (Math.abs(r[j]) < Math.abs(r[k])) k = j;
  const a = [0, 0, 0];
  a[k] = 1;
  const d = r[k];
  const e1 = [a[0] - d * r[0], a[1] - d * r[1], a[2] - d * r[2]];
  const n = Math.hypot(e1[0], e1[1], e1[2]);
  for (let j = 0; j < 3; j++) e1[j] /= n;
  return [e1, [r[1] * e1[2] - r[2] * e1[1], r[2] * e1[0] - r[0] * e1[2], r[0] * e1[1] - r[1] * e1[0]]];
}

export function chartPoint(m0: ArrayLike<number>, u: number, v: number): number[] {
  const n = Math.hypot(m0[0], m0[1], m0[2]);
  const r = [m0[0] / n, m0[1] / n, m0[2] / n];
  const [e1, e2] = tangentBasis(r);
  const p = [0, 1, 2].map((j) => r[j] + u * e1[j] + v * e2[j]);
  const q = Math.hypot(p[0], p[1], p[2]);
  return p.map((x) => x / q);
}

export interface JointSpec {
  base: Float64Array;
  params: FitParam[];
  /** fit the initial states (chart) or use w.m0 as they are */
  fitM0: boolean;
  fitOffset: boolean;
  fitAmplitude: boolean;
}

/** A point of the joint problem: parameters, signal model, initial states (reference directions, chart at 0). */
export interface JointPoint {
  theta: number[];
  affine: Affine;
  m0: Float64Array;
}

export interface Sums {
  sumAbs: number;
  sumSq: number;
  count: number;
}

/** The unknowns' layout for a set of windows: [theta, offset?, amplitude?, (u, v) per window]. */
class Layout {
  readonly nG: number;
  readonly n: number;
  /** x index of global column c (fitted params, offset, amplitude), or -1 */
  readonly gIndex: number[];
  constructor(
    readonly spec: JointSpec,
    readonly wins: number[],
  ) {
    const p = spec.params.length;
    this.gIndex = [...spec.params.map((_, i) => i)];
    let k = p;
    this.gIndex.push(spec.fitOffset ? k++ : -1);
    this.gIndex.push(spec.fitAmplitude ? k++ : -1);
    this.nG = k;
    this.n = k + (spec.fitM0 ? 2 * wins.length : 0);
  }
  pack(pt: JointPoint): Float64Array {
    const x = new Float64Array(this.n);
    pt.theta.forEach((v, i) => (x[i] = v));
    if (this.gIndex[this.spec.params.length] >= 0) x[this.gIndex[this.spec.params.length]] = pt.affine.offset;
    if (this.gIndex[this.spec.params.length + 1] >= 0) x[this.gIndex[this.spec.params.length + 1]] = pt.affine.amplitude;
    return x;
  }
  affine(x: Float64Array, fixed: Affine): Affine {
    const p = this.spec.params.length;
    return { offset: this.gIndex[p] >= 0 ? x[this.gIndex[p]] : fixed.offset, amplitude: this.gIndex[p + 1] >= 0 ? x[this.gIndex[p + 1]] : fixed.amplitude };
  }
}

export class JointProblem {
  readonly fit: number[];
  constructor(
    readonly ev: WindowEvaluator,
    readonly spec: JointSpec,
  ) {
    this.fit = spec.params.map((p) => p.spec.index);
  }

  values(theta: ArrayLike<number>): Float64Array {
    const v = Float64Array.from(this.spec.base);
    this.spec.params.forEach((p, i) => (v[p.spec.index] = theta[i]));
    return v;
  }

  request(theta: ArrayLike<number>, aff: Affine, m0: Float64Array, chart: Float64Array | null, mode: WindowRequest["mode"], sel: number[]): WindowRequest {
    return {
      params: this.values(theta),
      fit: this.fit,
      mode,
      m0,
      chart: this.spec.fitM0 ? (chart ?? new Float64Array(2 * this.ev.nWindows)) : null,
      offset: aff.offset,
      amplitude: aff.amplitude,
      sel,
    };
  }

  /** Loss sums over `sel` (weights per selected window, default 1). */
  async sums(pt: JointPoint, sel: number[], weights?: number[]): Promise<Sums> {
    const blocks = await this.ev.evaluate(this.request(pt.theta, pt.affine, pt.m0, null, "loss", sel));
    const L = blockLayout(this.fit.length, this.spec.fitM0);
    const s = { sumAbs: 0, sumSq: 0, count: 0 };
    sel.forEach((_, k) => {
      const w = weights ? weights[k] : 1;
      s.sumAbs += w * blocks[k * L.len];
      s.count += w * blocks[k * L.len + 1];
      s.sumSq += w * blocks[k * L.len + 2];
    });
    return s;
  }

  /**
   * Levenberg-Marquardt from `pt` over the windows `sel` (with multiplicities
   * `weights`); the chart is re-centred on the fitted initial states after
   * each run and the run repeated (at most 3 times) while a window moved
   * more than 0.1 in its chart.
   */
  async solve(
    pt: JointPoint,
    sel: number[],
    weights: number[] | undefined,
    opts: { maxIterations?: number; tol?: number; shouldStop?: () => boolean },
  ): Promise<{ point: JointPoint; lm: LmResult; sums: Sums; layout: Layout }> {
    const lay = new Layout(this.spec, sel);
    const L = blockLayout(this.fit.length, this.spec.fitM0);
    const P = this.spec.params.length;
    let cur: JointPoint = { theta: [...pt.theta], affine: { ...pt.affine }, m0: Float64Array.from(pt.m0) };
    let last: { lm: LmResult; sums: Sums } | undefined;
    const lower = new Float64Array(lay.n).fill(-Infinity);
    const upper = new Float64Array(lay.n).fill(Infinity);
    this.spec.params.forEach((p, i) => {
      lower[i] = p.range[0];
      upper[i] = p.range[1];
    });
    for (let round = 0; round < 3; round++) {
      const fixed = cur.affine;
      const m0 = cur.m0;
      const evaluate = async (x: Float64Array) => {
        const chart = new Float64Array(2 * this.ev.nWindows);
        if (this.spec.fitM0) sel.forEach((wi, k) => chart.set([x[lay.nG + 2 * k], x[lay.nG + 2 * k + 1]], 2 * wi));
        const aff = lay.affine(x, fixed);
        const blocks = await this.ev.evaluate(this.request(Array.from(x.subarray(0, P)), aff, m0, chart, "dual", sel));
        const n = lay.n;
        const jtj = new Float64Array(n * n);
        const jtr = new Float64Array(n);
        let sumSq = 0;
        let count = 0;
        sel.forEach((_, k) => {
          const b = blocks.subarray(k * L.len, (k + 1) * L.len);
          const w = weights ? weights[k] : 1;
          count += w * b[1];
          sumSq += w * b[2];
          for (let c = 0; c < L.g; c++) {
            const xc = lay.gIndex[c];
            if (xc < 0) continue;
            jtr[xc] += w * b[L.gr + c];
            for (let d = 0; d < L.g; d++) {
              const xd = lay.gIndex[d];
              if (xd >= 0) jtj[xc * n + xd] += w * b[L.gg + c * L.g + d];
            }
          }
          if (this.spec.fitM0) {
            const xw = lay.nG + 2 * k;
            for (let a = 0; a < 2; a++) {
              jtr[xw + a] += w * b[L.wr + a];
              for (let d = 0; d < 2; d++) jtj[(xw + a) * n + xw + d] += w * b[L.ww + a * 2 + d];
              for (let c = 0; c < L.g; c++) {
                const xc = lay.gIndex[c];
                if (xc < 0) continue;
                const v = w * b[L.wg + a * L.g + c];
                jtj[(xw + a) * n + xc] += v;
                jtj[xc * n + xw + a] += v;
              }
            }
          }
        });
        return { sumSq, jtr, jtj, count };
      };
      const x0 = lay.pack(cur);
      const lm = await levenbergMarquardt(evaluate, x0, {
        lower,
        upper,
        maxIterations: opts.maxIterations ?? 100,
        ftol: opts.tol ?? 1e-10,
        xtol: opts.tol ?? 1e-10,
        gtol: opts.tol ?? 1e-10,
        shouldStop: opts.shouldStop,
      });
      // re-centre the chart on the fitted states
      const m0n = Float64Array.from(m0);
      let moved = 0;
      if (this.spec.fitM0) {
        sel.forEach((wi, k) => {
          const u = lm.x[lay.nG + 2 * k];
          const v = lm.x[lay.nG + 2 * k + 1];
          moved = Math.max(moved, Math.abs(u), Math.abs(v));
          m0n.set(chartPoint(m0.subarray(3 * wi, 3 * wi + 3), u, v), 3 * wi);
        });
      }
      cur = { theta: Array.from(lm.x.subarray(0, P)), affine: lay.affine(lm.x, fixed), m0: m0n };
      last = { lm, sums: { sumAbs: NaN, sumSq: lm.sumSq, count: 0 } };
      if (!(moved > 0.1) || lm.reason === "interrupted") break;
    }
    const sums = await this.sums(cur, sel, weights);
    return { point: cur, lm: last!.lm, sums, layout: lay };
  }
}

/** 1-sigma Gauss-Newton uncertainties of the global unknowns [theta, offset?, amplitude?] from J^T J (n x n) at the optimum. */
export function gaussNewtonSigma(jtj: Float64Array, n: number, nG: number, sumSq: number, count: number): number[] {
  const dof = count - n;
  if (!(dof > 0)) return Array.from({ length: nG }, () => NaN);
  try {
    const { inverse, Matrix } = mlMatrix();
    const inv = inverse(new Matrix(Array.from({ length: n }, (_, i) => Array.from(jtj.subarray(i * n, (i + 1) * n)))));
    const s2 = sumSq / dof;
    return Array.from({ length: nG }, (_, i) => {
      const v = s2 * inv.get(i, i);
      return v >= 0 && Number.isFinite(v) ? Math.sqrt(v) : NaN;
    });
  } catch {
    return Array.from({ length: nG }, () => NaN);
  }
}

/**
 * Bootstrap over windows: `reps` resamples of the windows with replacement
 * (seeded), each refitted by LM from the optimum (parameters, offset,
 * amplitude and the re-centred initial states); the spread of the refits is
 * the uncertainty. Windows are the resampled unit because thermal noise
 * correlates residuals within a window but the fitted initial state
 * decouples one window from the next.
 */
export async function bootstrap(
  prob: JointProblem,
  opt: JointPoint,
  nWindows: number,
  reps: number,
  seed: number,
  shouldStop?: () => boolean,
  onRep?: (k: number) => void,
): Promise<{ sigma: number[]; replicates: number[][]; failed: number }> {
  const rnd = uniformSource(seed, 0x2545f491);
  const out: number[][] = [];
  let failed = 0;
  for (let r = 0; r < reps && !shouldStop?.(); r++) {
    const counts = new Array(nWindows).fill(0);
    for (let k = 0; k < nWindows; k++) counts[Math.floor(rnd() * nWindows)]++;
    const sel = counts.map((c, i) => (c > 0 ? i : -1)).filter((i) => i >= 0);
    const weights = sel.map((i) => counts[i]);
    const res = await prob.solve(opt, sel, weights, { maxIterations: 30, tol: 1e-7, shouldStop });
    const g = [...res.point.theta, res.point.affine.offset, res.point.affine.amplitude];
    if (g.every(Number.isFinite)) out.push(g);
    else failed++;
    onRep?.(r + 1);
  }
  const m = out.length;
  const nG = opt.theta.length + 2;
  const sigma = Array.from({ length: nG }, (_, j) => {
    if (m < 2) return NaN;
    const mean = out.reduce((s, g) => s + g[j], 0) / m;
    return Math.sqrt(out.reduce((s, g) => s + (g[j] - mean) ** 2, 0) / (m - 1));
  });
  return { sigma, replicates: out, failed };
}

/**
 * Start candidates for the parameters: for one parameter `scan` evenly spaced
 * values (cell midpoints) plus its start, for several a Latin hypercube; each
 * is scored by the loss after the limit-cycle initialization.
 */
export function scanPoints(params: FitParam[], scan: number, seed: number): number[][] {
  if (params.length === 1) {
    const [lo, hi] = params[0].range;
    return [[params[0].start], ...Array.from({ length: scan }, (_, k) => [lo + ((k + 0.5) / scan) * (hi - lo)])];
  }
  return startPoints(params, scan + 1, seed);
}

// ---------------------------------------------------------------------------
// The whole fit

export type UncertaintyMethod = "gauss-newton" | "bootstrap";

export interface MeasuredSettings {
  spec: JointSpec;
  windows: Windows;
  /** offset / amplitude where known (else fitted) */
  known: Partial<Affine>;
  dtS: number;
  /** LM runs from the best scan candidates */
  starts: number;
  /** scan candidates (fitted initial states only) */
  scan: number;
  seed: number;
  /** the initial-state match uses the samples within this time of a window's start */
  matchS: number;
  uncertainty: UncertaintyMethod;
  bootstrap: number;
  shouldStop?: () => boolean;
  onProgress?: (what: string) => void;
}

export interface MeasuredRun {
  start: number;
  startValues: number[];
  values: number[];
  affine: Affine;
  sumSq: number;
  loss: number;
  iterations: number;
  evaluations: number;
  reason: string;
}

export interface MeasuredResult {
  values: number[];
  affine: Affine;
  /** 1 sigma of [theta..., offset, amplitude] by the chosen method (NaN where not fitted or singular) */
  sigma: number[];
  gaussNewtonSigma: number[];
  bootstrap?: { replicates: number; failed: number };
  /** eq. 4 in m_x units: sum |r| / |amplitude| / count */
  loss: number;
  rms: number;
  count: number;
  unknowns: number;
  m0: Float64Array;
  runs: MeasuredRun[];
  scanned: { values: number[]; sumSq: number }[];
  best: number;
  interrupted: boolean;
}

export async function fitMeasured(ev: WindowEvaluator, s: MeasuredSettings): Promise<MeasuredResult> {
  const prob = new JointProblem(ev, s.spec);
  const n = s.windows.offsets.length - 1;
  const all = Array.from({ length: n }, (_, i) => i);
  const fixedAffine: Affine = { offset: s.known.offset ?? 0, amplitude: s.known.amplitude ?? 1 };
  // candidates, scored after initialization
  const scanned: { values: number[]; sumSq: number; point: JointPoint }[] = [];
  const cands = s.spec.fitM0 ? scanPoints(s.spec.params, s.scan, s.seed) : startPoints(s.spec.params, s.starts, s.seed);
  for (const theta of cands) {
    if (s.shouldStop?.()) break;
    let point: JointPoint;
    if (s.spec.fitM0) {
      const cyc = await limitCycle(prob.values(theta), s.dtS);
      const m0 = new Float64Array(3 * n);
      const aff = initialStates(cyc, s.windows, s.known, s.matchS, m0);
      point = { theta, affine: aff, m0 };
    } else point = { theta, affine: fixedAffine, m0: Float64Array.from(s.windows.m0) };
    const sums = await prob.sums(point, all);
    scanned.push({ values: theta, sumSq: Number.isFinite(sums.sumSq) ? sums.sumSq : Infinity, point });
  }
  s.onProgress?.(`scanned ${scanned.length} start points`);
  const order = s.spec.fitM0 ? [...scanned].sort((a, b) => a.sumSq - b.sumSq).slice(0, s.starts) : scanned;
  const runs: MeasuredRun[] = [];
  let best: { point: JointPoint; lm: LmResult; sums: Sums; n: number; nG: number } | undefined;
  for (const [k, c] of order.entries()) {
    if (s.shouldStop?.()) break;
    const r = await prob.solve(c.point, all, undefined, { shouldStop: s.shouldStop });
    const loss = r.sums.sumAbs / r.sums.count / Math.abs(r.point.affine.amplitude);
    runs.push({
      start: k,
      startValues: c.values,
      values: r.point.theta,
      affine: r.point.affine,
      sumSq: r.sums.sumSq,
      loss,
      iterations: r.lm.iterations,
      evaluations: r.lm.evaluations,
      reason: r.lm.reason,
    });
    s.onProgress?.(`start ${k + 1}: ${r.lm.reason} after ${r.lm.iterations} iterations, sum r^2 ${r.sums.sumSq.toPrecision(6)}`);
    if (Number.isFinite(r.sums.sumSq) && (!best || r.sums.sumSq < best.sums.sumSq))
      best = { point: r.point, lm: r.lm, sums: r.sums, n: r.layout.n, nG: r.layout.nG };
  }
  if (!best) throw new UsageError("interrupted before the first fit finished");
  const P = s.spec.params.length;
  // Gauss-Newton sigma of the global unknowns, mapped to [theta, offset, amplitude]
  const gnG = gaussNewtonSigma(best.lm.jtj, best.n, best.nG, best.sums.sumSq, best.sums.count);
  const gn = [...gnG.slice(0, P), s.spec.fitOffset ? gnG[P] : NaN, s.spec.fitAmplitude ? gnG[P + (s.spec.fitOffset ? 1 : 0)] : NaN];
  let sigma = gn;
  let boot: MeasuredResult["bootstrap"];
  if (s.uncertainty === "bootstrap" && !s.shouldStop?.()) {
    const b = await bootstrap(prob, best.point, n, s.bootstrap, s.seed, s.shouldStop, (k) => s.onProgress?.(`bootstrap ${k}/${s.bootstrap}`));
    sigma = b.sigma.map((v, i) => (i < P || (i === P && s.spec.fitOffset) || (i === P + 1 && s.spec.fitAmplitude) ? v : NaN));
    boot = { replicates: b.replicates.length, failed: b.failed };
  }
  const bi = runs.findIndex((r) => r.sumSq === best!.sums.sumSq);
  return {
    values: best.point.theta,
    affine: best.point.affine,
    sigma,
    gaussNewtonSigma: gn,
    bootstrap: boot,
    loss: best.sums.sumAbs / best.sums.count / Math.abs(best.point.affine.amplitude),
    rms: Math.sqrt(best.sums.sumSq / best.sums.count),
    count: best.sums.count,
    unknowns: best.n,
    m0: best.point.m0,
    runs,
    scanned: scanned.map((c) => ({ values: c.values, sumSq: c.sumSq })),
    best: Math.max(0, bi),
    interrupted: Boolean(s.shouldStop?.()),
  };
}

/** Compared samples of the windows (after `washoutS`; the first sample only with fitted initial states). */
export function comparedSamples(w: WindowArrays, washoutS: number, dtS: number, fitM0: boolean): number {
  let c = 0;
  for (let i = 0; i + 1 < w.offsets.length; i++) {
    const a = w.offsets[i];
    for (let k = a + (fitM0 ? 0 : 1); k < w.offsets[i + 1]; k++) if (w.t_s[k] - w.t_s[a] >= washoutS - 1e-6 * dtS) c++;
  }
  return c;
}
