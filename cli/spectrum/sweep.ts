/**
 * Sweeps of `stoopt spectrum --sweep`: each point is simulated (washout until
 * the amplitude has settled, then a measurement window), its spectrum
 * analysed, and the theory (threshold, orbit-averaged frequency) put beside
 * it. Points run on worker threads, each with its own wasm instance.
 */
import { Core } from "../core/wasm.js";
import { Simulation } from "../core/simulation.js";
import { CONSTANT } from "../core/codes.js";
import { UsageError } from "../errors.js";
import { ParamSpec, paramByName, checkBounds } from "../model.js";
import { Scheme, integerRatio } from "../simulator.js";
import { parseQuantity } from "../io/units.js";
import { startOnCone, theory, Theory } from "../oscillator.js";
import { LineSummary, summarize, welch, WindowName } from "./psd.js";

export interface SweepAxis {
  spec: ParamSpec;
  values: number[];
}

/** At most this many points in one sweep. */
export const MAX_SWEEP_POINTS = 100_000;

/** `NAME=LO:HI:STEP` (inclusive; values with units) or `NAME=V1,V2,...`. */
export function parseSweep(text: string, flag = "--sweep"): SweepAxis {
  const m = /^([^=]+)=(.*)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected NAME=MIN:MAX:STEP or NAME=V1,V2,... (e.g. j_DC=2.5mA:7.5mA:0.25mA), got '${text}'`);
  const spec = paramByName(m[1].trim(), flag);
  const body = m[2].trim();
  const q = (s: string) => parseQuantity(s, spec.quantity, spec.bareUnit, `${flag} ${spec.name}`).value;
  let values: number[];
  if (body === "") throw new UsageError(`${flag}: empty range for ${spec.name}`);
  if (body.includes(":")) {
    const parts = body.split(":");
    if (parts.length !== 3) throw new UsageError(`${flag}: expected ${spec.name}=MIN:MAX:STEP, got '${text}'`);
    const [lo, hi, step] = parts.map(q);
    if (lo > hi) throw new UsageError(`${flag}: reversed range for ${spec.name}: MIN ${parts[0]} is above MAX ${parts[1]}`);
    if (lo === hi) throw new UsageError(`${flag}: empty range for ${spec.name}: MIN and MAX are both ${parts[0]} (for one point set --${spec.name})`);
    if (!(step > 0)) throw new UsageError(`${flag}: STEP of ${spec.name} must be > 0 (got ${parts[2]})`);
    const n = Math.floor((hi - lo) / step + 1e-9) + 1;
    if (n > MAX_SWEEP_POINTS) throw new UsageError(`${flag}: ${n} points for ${spec.name}; at most ${MAX_SWEEP_POINTS}`);
    values = Array.from({ length: n }, (_, i) => Number((lo + i * step).toPrecision(12)));
  } else {
    values = body.split(",").map((s) => q(s.trim()));
    if (values.length < 2) throw new UsageError(`${flag}: a sweep needs at least two values of ${spec.name} (for one point set --${spec.name})`);
  }
  for (const v of values) checkBounds(spec, v, `${flag} ${spec.name}`);
  return { spec, values };
}

export interface PointSettings {
  scheme: Scheme;
  dtS: number;
  sampleS: number;
  /** measurement window after the washout */
  durationS: number;
  /** shortest washout, and the longest one when the amplitude has not settled */
  washoutS: number;
  maxWashoutS: number;
  /** length of the chunks whose statistics decide settling */
  chunkS: number;
  /** settled when the projected remaining change of <m_z> and of the rms of m_x is below this */
  settleTol: number;
  temperatureK: number;
  trials: number;
  seed: bigint;
  window: WindowName;
  /** samples per Welch segment; default: the whole window (one segment per trial) */
  segment?: number;
  overlap: number;
}

export interface PointResult {
  index: number;
  /** the swept values, by parameter name */
  values: Record<string, number>;
  oscillating: boolean;
  settled: boolean;
  washout_s: number;
  f_Hz: number;
  linewidth_Hz: number;
  linewidth_err_Hz: number;
  resolution_limited: boolean;
  power: number;
  f2_Hz: number;
  harmonic2_dB: number;
  /** mean m_z over the window and trials */
  mz: number;
  /** rms of m_x about its mean over the window */
  mx_rms: number;
  theory: Theory;
}

/**
 * Statistics of one block of samples [trial][sample][mx,my,mz]: mean m_z and
 * rms of m_x about its mean, averaged over trials. Each trial's statistics
 * are taken over whole periods (from its first to its last upward crossing
 * of m_x through the block's mean), so that a block holding a fraction of a
 * period more or less does not look like a drift.
 */
function blockStats(data: Float64Array, trials: number, ns: number): { mz: number; rms: number } {
  let mz = 0;
  let rms = 0;
  for (let i = 0; i < trials; i++) {
    const x = (s: number) => data[3 * (i * ns + s)];
    let mean = 0;
    for (let s = 0; s < ns; s++) mean += x(s);
    mean /= ns;
    let a = -1;
    let b = -1;
    for (let s = 1; s < ns; s++) {
      if (x(s - 1) < mean && x(s) >= mean) {
        if (a < 0) a = s;
        b = s;
      }
    }
    if (a < 0 || b - a < 2) {
      a = 0;
      b = ns;
    }
    let sx = 0;
    let sxx = 0;
    let sz = 0;
    for (let s = a; s < b; s++) {
      sx += x(s);
      sxx += x(s) * x(s);
      sz += data[3 * (i * ns + s) + 2];
    }
    const n = b - a;
    mz += sz / n;
    rms += Math.sqrt(Math.max(0, sxx / n - (sx / n) ** 2));
  }
  return { mz: mz / trials, rms: rms / trials };
}

/**
 * Projected remaining change of a sequence that converges geometrically:
 * from the last two differences d1, d2 of the same sign with |d2| < |d1|,
 * |d2| r / (1 - r) with r = |d2 / d1|; otherwise |d2| itself.
 */
export function remainingChange(q: number[]): number {
  if (q.length < 3) return Infinity;
  const d1 = q[q.length - 2] - q[q.length - 3];
  const d2 = q[q.length - 1] - q[q.length - 2];
  if (d1 * d2 > 0 && Math.abs(d2) < Math.abs(d1)) {
    const r = Math.abs(d2 / d1);
    return (Math.abs(d2) * r) / (1 - r);
  }
  return Math.abs(d2);
}

/** Amplitude below which a point is reported as not auto-oscillating: 1e-3, or 3 x the thermal rms of m_x about +z (equipartition) when T > 0. */
export function oscillationFloor(params: Float64Array, temperatureK: number): number {
  if (!(temperatureK > 0)) return 1e-3;
  const p = (n: string) => params[paramByName(n, "").index];
  const h0 = p("H_appl") + p("H_K") - 4 * Math.PI * p("M");
  const volume = Math.PI * p("R") ** 2 * p("d");
  const kb = CONSTANT.kb_erg_per_k;
  return Math.max(1e-3, 3 * Math.sqrt((kb * temperatureK) / (p("M") * volume * Math.max(h0, 1e-9))));
}

/** Simulate one point and analyse it (runs inside a worker with its own core). */
export function runPoint(c: Core, params: Float64Array, s: PointSettings, index: number, values: Record<string, number>): PointResult {
  const n = s.trials;
  const stepsPerSample = integerRatio(s.sampleS, s.dtS, "--sample");
  const chunkSamples = Math.max(1, integerRatio(s.chunkS, s.sampleS, "--settle-chunk"));
  const windowSamples = integerRatio(s.durationS, s.sampleS, "--duration");
  const minChunks = Math.ceil(s.washoutS / s.chunkS - 1e-9);
  const maxChunks = Math.max(minChunks, Math.ceil(s.maxWashoutS / s.chunkS - 1e-9));
  const th = theory(params, c);
  const sim = new Simulation(params, n, s.scheme, s.dtS, s.temperatureK, c);
  try {
    sim.seed(s.seed, BigInt(index) * BigInt(n), n);
    const m0 = startOnCone(params, c);
    sim.setStates(m0, n);
    const run = (samples: number) => sim.run(n, stepsPerSample, samples, true)!;
    const mzs: number[] = [];
    const rmss: number[] = [];
    let settled = false;
    let chunks = 0;
    const tol = s.settleTol;
    while (chunks < maxChunks) {
      const block = run(chunkSamples);
      chunks++;
      const st = blockStats(block, n, chunkSamples);
      mzs.push(st.mz);
      rmss.push(st.rms);
      settled = remainingChange(mzs) < tol && remainingChange(rmss) < tol;
      if (chunks >= minChunks && settled) break;
    }
    const data = run(windowSamples);
    const traces: Float64Array[] = [];
    let mz = 0;
    for (let i = 0; i < n; i++) {
      const x = new Float64Array(windowSamples);
      for (let k = 0; k < windowSamples; k++) {
        x[k] = data[3 * (i * windowSamples + k)];
        mz += data[3 * (i * windowSamples + k) + 2];
      }
      traces.push(x);
    }
    mz /= n * windowSamples;
    const rms = blockStats(data, n, windowSamples).rms;
    const oscillating = rms > oscillationFloor(params, s.temperatureK);
    let line: LineSummary | undefined;
    if (oscillating) {
      const settings = { window: s.window, segment: Math.min(s.segment ?? windowSamples, windowSamples), overlap: s.overlap };
      line = summarize(welch(traces, s.sampleS, settings), traces, settings);
    }
    return {
      index,
      values,
      oscillating: oscillating && line !== undefined,
      settled,
      washout_s: chunks * chunkSamples * s.sampleS,
      f_Hz: line?.f_Hz ?? NaN,
      linewidth_Hz: line?.linewidth_Hz ?? NaN,
      linewidth_err_Hz: line?.linewidth_err_Hz ?? NaN,
      resolution_limited: line?.resolution_limited ?? false,
      power: line?.power ?? NaN,
      f2_Hz: line?.harmonic2?.f_Hz ?? NaN,
      harmonic2_dB: line?.harmonic2?.ratio_dB ?? NaN,
      mz,
      mx_rms: rms,
      theory: th,
    };
  } finally {
    sim.free();
  }
}

/**
 * Growth rate [1/s] of a small precession (noise-free RK4 from 0.05 rad off
 * +z): the slope of ln(peak-to-peak m_x per two linear periods) against time
 * after the first 2 ns. Negative below threshold, positive above.
 */
export function growthRate(c: Core, params: Float64Array, dtS: number, durationS: number): number {
  const sampleSteps = Math.max(1, Math.round(5e-12 / dtS));
  const sampleS = sampleSteps * dtS;
  const ns = Math.round(durationS / sampleS);
  const p = (name: string) => params[paramByName(name, "").index];
  const h0 = p("H_appl") + p("H_K") - 4 * Math.PI * p("M");
  const fLin = (p("gamma") * h0) / (2 * Math.PI * (1 + p("alpha") ** 2));
  const block = Math.max(4, Math.round(2 / fLin / sampleS));
  const sim = new Simulation(params, 1, "rk4", dtS, 0, c);
  try {
    sim.setStates([Math.sin(0.05), 0, Math.cos(0.05)], 1);
    sim.seed(0n, 0n, 1);
    const d = sim.run(1, sampleSteps, ns, true)!;
    const ts: number[] = [];
    const ls: number[] = [];
    for (let a = 0; a + block <= ns; a += block) {
      const t = (a + block / 2) * sampleS;
      if (t < 2e-9) continue;
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = a; k < a + block; k++) {
        lo = Math.min(lo, d[3 * k]);
        hi = Math.max(hi, d[3 * k]);
      }
      ts.push(t);
      ls.push(Math.log(hi - lo));
    }
    return slope(ts, ls);
  } finally {
    sim.free();
  }
}

/** Least-squares slope of y against x. */
export function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, v) => a + v, 0) / n;
  const my = y.reduce((a, v) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** Currents (as multiples of the formula's threshold) at which the growth rate is measured. */
export const GROWTH_FACTORS = [0.9, 0.95, 1.05, 1.1];

/** The simulated threshold: zero of the straight line through (j, growth rate). */
export function thresholdFromGrowth(currents: number[], rates: number[]): number {
  const b = slope(currents, rates);
  const mj = currents.reduce((a, v) => a + v, 0) / currents.length;
  const mr = rates.reduce((a, v) => a + v, 0) / rates.length;
  return mj - mr / b;
}

/** Every combination of the axes' values (first axis fastest), with the parameter array of each. */
export function sweepPoints(base: Float64Array, axes: SweepAxis[]): { params: Float64Array; values: Record<string, number> }[] {
  let combos: Record<string, number>[] = [{}];
  for (let a = axes.length - 1; a >= 0; a--) {
    const ax = axes[a];
    combos = combos.flatMap((c) => ax.values.map((v) => ({ ...c, [ax.spec.name]: v })));
  }
  return combos.map((c) => {
    const params = Float64Array.from(base);
    const values: Record<string, number> = {};
    for (const ax of axes) {
      values[ax.spec.name] = c[ax.spec.name];
      params[ax.spec.index] = c[ax.spec.name];
    }
    return { params, values };
  });
}
