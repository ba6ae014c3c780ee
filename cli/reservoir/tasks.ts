/**
 * Temporal tasks for `stoopt reservoir`: the input series u_t (one value per
 * hold) and the targets d_t (one or more outputs per hold), from the seeded
 * generators below or a user's CSV. Targets at row t may depend on u_0..u_t
 * only (NARMA10, memory capacity) or on the future of the series (prediction
 * tasks: Mackey-Glass x_{t+h}).
 */
import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { UsageError } from "../errors.js";

export type TaskName = "narma10" | "mackey-glass" | "memory-capacity" | "csv";

export interface Task {
  name: TaskName;
  /** input, one value per hold */
  u: Float64Array;
  /** targets, row-major T x nOut */
  y: Float64Array;
  nOut: number;
  /** a name per output, e.g. "y", "x(t+1)", "u(t-3)" */
  outputs: string[];
  /** for memory capacity: the delay of each output */
  delays?: number[];
  note: string;
}

/** xoshiro uniforms come from the core; the generators take them as an array. */
export type Uniforms = (n: number) => Float64Array;

/**
 * NARMA10 (Atiya & Parlos 2000, the standard reservoir benchmark):
 *   y_{t+1} = 0.3 y_t + 0.05 y_t sum_{i=0}^{9} y_{t-i} + 1.5 u_{t-9} u_t + 0.1,
 * u_t uniform in [0, 0.5], y = 0 before the start. The target of hold t is
 * y_{t+1}, a function of u_t .. u_{t-9}.
 */
export function narma10(uniform: Uniforms, length: number): Task {
  const r = uniform(length);
  const u = new Float64Array(length);
  for (let t = 0; t < length; t++) u[t] = 0.5 * r[t];
  const yy = new Float64Array(length + 1);
  for (let t = 0; t < length; t++) {
    let s = 0;
    for (let i = 0; i < 10; i++) s += t - i >= 0 ? yy[t - i] : 0;
    const u9 = t >= 9 ? u[t - 9] : 0;
    yy[t + 1] = 0.3 * yy[t] + 0.05 * yy[t] * s + 1.5 * u9 * u[t] + 0.1;
    if (!Number.isFinite(yy[t + 1]) || Math.abs(yy[t + 1]) > 10) throw new UsageError(`NARMA10 diverged at step ${t + 1} for this seed; choose another --seed`);
  }
  return { name: "narma10", u, y: yy.slice(1), nOut: 1, outputs: ["y(t+1)"], note: "NARMA10, u uniform in [0, 0.5], target y(t+1)" };
}

/**
 * Mackey-Glass, dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t),
 * tau = 17, integrated by RK4 with step 0.1 (the delayed value at a half
 * step is the mean of its neighbours), constant history x = 1.2, the first
 * 1000 time units discarded, sampled every time unit. Input u_t = x_t; the
 * targets are x_{t+h} for each horizon h (direct h-step-ahead prediction).
 */
export function mackeyGlassSeries(length: number, tau = 17, dt = 0.1, discard = 1000): Float64Array {
  const per = Math.round(1 / dt);
  const lag = Math.round(tau / dt);
  const total = (discard + length) * per + 1;
  const x = new Float64Array(total + lag);
  x.fill(1.2, 0, lag + 1);
  const f = (xt: number, xd: number) => (0.2 * xd) / (1 + Math.pow(xd, 10)) - 0.1 * xt;
  for (let i = lag; i < lag + total - 1; i++) {
    const d0 = x[i - lag];
    const d1 = x[i - lag + 1];
    const dh = 0.5 * (d0 + d1);
    const k1 = f(x[i], d0);
    const k2 = f(x[i] + 0.5 * dt * k1, dh);
    const k3 = f(x[i] + 0.5 * dt * k2, dh);
    const k4 = f(x[i] + dt * k3, d1);
    x[i + 1] = x[i] + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  const out = new Float64Array(length);
  for (let t = 0; t < length; t++) out[t] = x[lag + (discard + t) * per];
  return out;
}

export function mackeyGlass(length: number, horizons: number[]): Task {
  const hmax = Math.max(...horizons);
  const x = mackeyGlassSeries(length + hmax);
  const u = x.slice(0, length);
  const nOut = horizons.length;
  const y = new Float64Array(length * nOut);
  for (let t = 0; t < length; t++) horizons.forEach((h, o) => (y[t * nOut + o] = x[t + h]));
  return {
    name: "mackey-glass",
    u,
    y,
    nOut,
    outputs: horizons.map((h) => `x(t+${h})`),
    note: `Mackey-Glass tau = 17 sampled every time unit, input x(t), targets x(t+h) for h = ${horizons.join(", ")}`,
  };
}

/**
 * Linear memory capacity (Jaeger 2002): u_t uniform in [-0.5, 0.5], one
 * output per delay k = 1..kMax with target u_{t-k} (0 before the start;
 * the washout covers those rows when it is >= kMax).
 */
export function memoryCapacity(uniform: Uniforms, length: number, kMax: number): Task {
  const r = uniform(length);
  const u = new Float64Array(length);
  for (let t = 0; t < length; t++) u[t] = r[t] - 0.5;
  const y = new Float64Array(length * kMax);
  for (let t = 0; t < length; t++) for (let k = 1; k <= kMax; k++) y[t * kMax + k - 1] = t - k >= 0 ? u[t - k] : 0;
  const delays = Array.from({ length: kMax }, (_, i) => i + 1);
  return {
    name: "memory-capacity",
    u,
    y,
    nOut: kMax,
    outputs: delays.map((k) => `u(t-${k})`),
    delays,
    note: `memory capacity, u uniform in [-0.5, 0.5], delays 1..${kMax}`,
  };
}

/**
 * A user's series: CSV with a header; the input is column `inputCol` and the
 * target column `targetCol` (same row). Every value must be a finite number:
 * otherwise one line naming the file, line and column.
 */
export function csvTask(file: string, inputCol: string, targetCol: string): Task {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delim = [",", "\t", ";"].find((d) => (text.split(/\r?\n/, 1)[0] ?? "").includes(d)) ?? ",";
  let rows: string[][];
  try {
    rows = parse(text, { delimiter: delim, comment: "#", skip_empty_lines: true, relax_column_count: false, trim: true }) as string[][];
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    throw new UsageError(`${file}${err.lines ? `:${err.lines}` : ""}: ${err.message ?? String(e)}`);
  }
  if (rows.length < 2) throw new UsageError(`${file}: needs a header line and at least one row of numbers`);
  const head = rows[0];
  const col = (name: string, flag: string) => {
    const i = head.indexOf(name);
    if (i < 0) throw new UsageError(`${file}:1: ${flag} column '${name}' is missing (columns: ${head.join(", ")})`);
    return i;
  };
  const ci = col(inputCol, "--input-column");
  const ct = col(targetCol, "--target");
  // line numbers: count physical lines, skipping comments and blanks as the parser did
  const lines = text.split(/\r?\n/);
  const dataLines: number[] = [];
  lines.forEach((l, i) => {
    const s = l.trim();
    if (s !== "" && !s.startsWith("#")) dataLines.push(i + 1);
  });
  const n = rows.length - 1;
  const u = new Float64Array(n);
  const y = new Float64Array(n);
  for (let r = 1; r <= n; r++) {
    for (const [c, arr] of [
      [ci, u],
      [ct, y],
    ] as [number, Float64Array][]) {
      const s = rows[r][c];
      const v = Number(s);
      if (s === "" || !Number.isFinite(v))
        throw new UsageError(`${file}:${dataLines[r] ?? r + 1}:${c + 1}: '${s}' in column '${head[c]}' is not a finite number`);
      arr[r - 1] = v;
    }
  }
  return { name: "csv", u, y, nOut: 1, outputs: [targetCol], note: `${file}: input '${inputCol}', target '${targetCol}', ${n} rows` };
}

/** Contiguous parts of the series, in holds: washout, train, validation, test. */
export interface Split {
  washout: number;
  train: [number, number];
  val: [number, number];
  test: [number, number];
}

export function makeSplit(length: number, washout: number, train: number, val: number, test: number, what: string): Split {
  if (washout + train + val + test > length)
    throw new UsageError(
      `${what}: the series has ${length} values, shorter than washout + train + validation + test = ${washout} + ${train} + ${val} + ${test} = ${washout + train + val + test}`,
    );
  if (train < 2 || val < 2 || test < 2) throw new UsageError(`${what}: train, validation and test parts need at least 2 values each`);
  const a = washout;
  return { washout, train: [a, a + train], val: [a + train, a + train + val], test: [a + train + val, a + train + val + test] };
}

/** Normalized root-mean-square error sqrt(mean (yhat - y)^2 / var y) of output o. */
export function nrmse(yhat: Float64Array, y: Float64Array, nOut: number, o: number): number {
  const n = y.length / nOut;
  let m = 0;
  for (let t = 0; t < n; t++) m += y[t * nOut + o];
  m /= n;
  let v = 0;
  let e = 0;
  for (let t = 0; t < n; t++) {
    v += (y[t * nOut + o] - m) ** 2;
    e += (yhat[t * nOut + o] - y[t * nOut + o]) ** 2;
  }
  return Math.sqrt(e / (v > 0 ? v : 1));
}

/** Squared correlation of output o (memory capacity of one delay). */
export function squaredCorrelation(yhat: Float64Array, y: Float64Array, nOut: number, o: number): number {
  const n = y.length / nOut;
  let ma = 0;
  let mb = 0;
  for (let t = 0; t < n; t++) {
    ma += yhat[t * nOut + o];
    mb += y[t * nOut + o];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let t = 0; t < n; t++) {
    const a = yhat[t * nOut + o] - ma;
    const b = y[t * nOut + o] - mb;
    sab += a * b;
    saa += a * a;
    sbb += b * b;
  }
  return saa > 0 && sbb > 0 ? (sab * sab) / (saa * sbb) : 0;
}
