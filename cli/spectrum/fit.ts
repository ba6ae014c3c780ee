/**
 * `stoopt sysid --spectrum TABLE`: fit model parameters to measured
 * steady-state frequencies at several operating points (currents, fields,
 * ...), e.g. the f(I) table of `stoopt spectrum --sweep` or a lab's.
 *
 * Model of one row: the row's parameter values over the fixed ones, the
 * fitted ones from the current estimate; noise-free RK4 from a point on the
 * orbit-averaged theory's precession cone (at the current estimate: a start
 * near the limit cycle, so a short washout settles), a washout, then the
 * frequency of the upward crossings of m_x in a window (core-rs/src/steady.rs).
 * Its derivatives come from dual numbers through washout and window; the
 * start point is held fixed for them (its influence has decayed by the end
 * of the washout). Residuals r_i = (f_model,i - f_i) / sigma_i with sigma_i
 * from an f_err column, or 1 Hz (unweighted; the covariance is then scaled
 * by the residuals as in lmfit). Levenberg-Marquardt (cli/fit/lm.ts) within the
 * ranges. With a temperature and a linewidth column, each resolved row adds a
 * linewidth residual against the weak-noise (phase-response-curve) linewidth
 * of cli/spectrum/linewidth.ts, its Jacobian row by central differences; the
 * weights are then those of `residualSigmas`.
 */
import fs from "node:fs";
import { createHash } from "node:crypto";
import { parse } from "csv-parse/sync";
import { UsageError, RuntimeFailure } from "../errors.js";
import { PARAMS, ParamSpec } from "../model.js";
import { FitParam, statistics, FitStatistics, ulp } from "../fit/sysid.js";
import { levenbergMarquardt, lmConverged, invertSpd, LmResult } from "../fit/lm.js";
import { startOnCone } from "../oscillator.js";
import { SpectrumPool } from "./pool.js";
import { FREQUENCY } from "../io/units.js";
import { prcLinewidth, PrcLinewidth } from "./linewidth.js";

export interface SpectrumRow {
  /** 1-based line in the file */
  line: number;
  values: Record<string, number>;
  f_Hz: number;
  sigma_Hz?: number;
  /** measured FWHM [Hz] and its uncertainty, read only when linewidths are fitted (a row without one gives a frequency only) */
  linewidth_Hz?: number;
  linewidth_sigma_Hz?: number;
  /** the width is the window's resolution (`resolution_limited = 1`), not a measured linewidth */
  resolutionLimited?: boolean;
}

export interface SpectrumTable {
  file: string;
  sha256: string;
  /** the parameter columns found, in file order */
  params: { column: string; spec: ParamSpec; factor: number }[];
  frequencyColumn: string;
  errorColumn?: string;
  /** linewidth columns (read when `linewidths` is asked for; else only named, for a note) */
  linewidthColumn?: string;
  linewidthErrorColumn?: string;
  rows: SpectrumRow[];
  /** rows left out (no auto-oscillation, not settled, empty frequency) */
  skipped: { line: number; reason: string }[];
}

/** Frequency columns: f_, freq_ or frequency_ with a unit of frequency. */
const FREQ_NAMES = ["f", "freq", "frequency"].flatMap((b) => Object.keys(FREQUENCY.suffixes).map((u) => `${b}_${u}`));
const unitOfFrequencyColumn = (h: string) => FREQUENCY.suffixes[h.slice(h.lastIndexOf("_") + 1)];

/** A parameter column: `NAME` (bare unit) or `NAME_UNIT` with a unit of the parameter's quantity. */
function paramColumn(h: string): { spec: ParamSpec; factor: number } | undefined {
  for (const p of PARAMS) {
    if (h === p.name) return { spec: p, factor: p.bareUnit === "" ? 1 : p.quantity.suffixes[p.bareUnit] };
    if (h.startsWith(p.name + "_")) {
      const u = h.slice(p.name.length + 1);
      const f = p.quantity.suffixes[u] ?? Object.entries(p.quantity.suffixes).find(([k]) => k.replace(/[^A-Za-z0-9]/g, "") === u)?.[1];
      if (f !== undefined) return { spec: p, factor: f };
    }
  }
  return undefined;
}

/** Linewidth columns: linewidth_ or fwhm_ with a unit of frequency; errors linewidth_err_ / fwhm_err_. */
const LW_NAMES = ["linewidth", "fwhm"].flatMap((b) => Object.keys(FREQUENCY.suffixes).map((u) => `${b}_${u}`));
const LW_ERR_NAMES = ["linewidth_err", "fwhm_err"].flatMap((b) => Object.keys(FREQUENCY.suffixes).map((u) => `${b}_${u}`));
const isLinewidthLike = (h: string) => /^(linewidth|fwhm)(_|$)/.test(h);

/**
 * Parse a spectrum table (CSV with a header); every problem is a one-line usage error naming the file and line.
 * With `linewidths`, the linewidth column (and its error column) is read and checked too; without, it is only named.
 */
export function parseSpectrumTable(text: string, file: string, opts: { linewidths?: boolean } = {}): SpectrumTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      comment: "#",
      comment_no_infix: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }) as never;
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  if (records.length === 0)
    throw new UsageError(
      `${file}: empty table: expected a header with a frequency column (${FREQ_NAMES.join(", ")}) and parameter columns (e.g. j_DC_A, H_appl_Oe)`,
    );
  const head = records[0].record;
  const headLine = records[0].info.lines;
  const fCol = head.findIndex((h) => FREQ_NAMES.includes(h));
  if (fCol < 0)
    throw new UsageError(
      `${file}:${headLine}: no frequency column (expected f_Hz, f_MHz, f_GHz or the same with freq_ or frequency_; found ${head.join(", ")})`,
    );
  const fFactor = unitOfFrequencyColumn(head[fCol]);
  const eCol = head.findIndex((h) => /^f_err_(Hz|kHz|MHz|GHz)$/.test(h));
  const eFactor = eCol >= 0 ? FREQUENCY.suffixes[head[eCol].slice(6)] : 1;
  const params: SpectrumTable["params"] = [];
  head.forEach((h, i) => {
    const pc = paramColumn(h);
    if (!pc) return;
    if (params.some((q) => q.spec === pc.spec)) throw new UsageError(`${file}:${headLine}:${i + 1}: a second column for ${pc.spec.name} ('${h}')`);
    params.push({ column: h, ...pc });
  });
  const lwCol = head.findIndex((h) => LW_NAMES.includes(h));
  const lwErrCol = head.findIndex((h) => LW_ERR_NAMES.includes(h));
  if (opts.linewidths) {
    // a linewidth-like column that is neither: a unit missing or not a frequency
    head.forEach((h, i) => {
      if (isLinewidthLike(h) && !LW_NAMES.includes(h) && !LW_ERR_NAMES.includes(h))
        throw new UsageError(
          `${file}:${headLine}:${i + 1}: column '${h}' has no unit of frequency (expected linewidth_Hz, linewidth_kHz, linewidth_MHz or linewidth_GHz; errors linewidth_err_<unit>)`,
        );
    });
    if (lwErrCol >= 0 && lwCol < 0)
      throw new UsageError(`${file}:${headLine}:${lwErrCol + 1}: '${head[lwErrCol]}' without a linewidth column (linewidth_Hz, ...)`);
  }
  const lwFactor = lwCol >= 0 ? unitOfFrequencyColumn(head[lwCol]) : 1;
  const lwErrFactor = lwErrCol >= 0 ? unitOfFrequencyColumn(head[lwErrCol]) : 1;
  const colIndex = (name: string) => head.indexOf(name);
  const resCol = colIndex("resolution_limited");
  const oscCol = colIndex("oscillating");
  const setCol = colIndex("settled");
  const rows: SpectrumRow[] = [];
  const skipped: SpectrumTable["skipped"] = [];
  for (const { record, info } of records.slice(1)) {
    const line = info.lines;
    const num = (i: number, what: string) => {
      const t = record[i] ?? "";
      const v = Number(t);
      if (t === "" || !Number.isFinite(v)) throw new UsageError(`${file}:${line}:${i + 1}: ${what}: expected a finite number, got '${t.slice(0, 40)}'`);
      return v;
    };
    if (oscCol >= 0 && (record[oscCol] === "0" || record[oscCol] === "false")) {
      skipped.push({ line, reason: "no auto-oscillation" });
      continue;
    }
    if (setCol >= 0 && (record[setCol] === "0" || record[setCol] === "false")) {
      skipped.push({ line, reason: "not settled" });
      continue;
    }
    if ((record[fCol] ?? "") === "") {
      skipped.push({ line, reason: "no frequency" });
      continue;
    }
    const f = num(fCol, head[fCol]) * fFactor;
    if (!(f > 0)) throw new UsageError(`${file}:${line}:${fCol + 1}: ${head[fCol]} must be > 0`);
    const values: Record<string, number> = {};
    for (const p of params) values[p.spec.name] = num(head.indexOf(p.column), p.column) * p.factor;
    let sigma: number | undefined;
    if (eCol >= 0) {
      sigma = num(eCol, head[eCol]) * eFactor;
      if (!(sigma > 0)) throw new UsageError(`${file}:${line}:${eCol + 1}: ${head[eCol]} must be > 0`);
    }
    const row: SpectrumRow = { line, values, f_Hz: f, sigma_Hz: sigma };
    if (opts.linewidths && lwCol >= 0 && (record[lwCol] ?? "") !== "") {
      const w = num(lwCol, head[lwCol]) * lwFactor;
      if (!(w > 0)) throw new UsageError(`${file}:${line}:${lwCol + 1}: ${head[lwCol]} must be > 0 (got '${record[lwCol]}')`);
      row.linewidth_Hz = w;
      row.resolutionLimited = resCol >= 0 && (record[resCol] === "1" || record[resCol] === "true");
      if (lwErrCol >= 0 && !row.resolutionLimited) {
        const e = num(lwErrCol, head[lwErrCol]) * lwErrFactor;
        if (!(e > 0)) throw new UsageError(`${file}:${line}:${lwErrCol + 1}: ${head[lwErrCol]} must be > 0 (got '${record[lwErrCol]}')`);
        row.linewidth_sigma_Hz = e;
      }
    }
    rows.push(row);
  }
  return {
    file,
    sha256: createHash("sha256").update(text).digest("hex"),
    params,
    frequencyColumn: head[fCol],
    errorColumn: eCol >= 0 ? head[eCol] : undefined,
    linewidthColumn: lwCol >= 0 ? head[lwCol] : head.find(isLinewidthLike),
    linewidthErrorColumn: lwErrCol >= 0 ? head[lwErrCol] : undefined,
    rows,
    skipped,
  };
}

export function readSpectrumTable(file: string, opts: { linewidths?: boolean } = {}): SpectrumTable {
  let text: string;
  try {
    text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new UsageError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseSpectrumTable(text, file === "-" ? "stdin" : file, opts);
}

export interface SpectrumFitSettings {
  base: Float64Array;
  params: FitParam[];
  dtS: number;
  washoutS: number;
  windowS: number;
  maxIterations?: number;
  shouldStop?: () => boolean;
  /** with a temperature > 0 and a linewidth column, the linewidths are fitted too (cli/spectrum/linewidth.ts) */
  temperatureK?: number;
}

export interface SpectrumFitResult {
  values: Record<string, number>;
  stderr: Record<string, number>;
  lm: LmResult;
  stats: FitStatistics;
  covariance: number[][] | null;
  correlation: number[][] | null;
  /** per row: measured and fitted frequency */
  rows: ({ line: number; values: Record<string, number>; f_Hz: number; f_fit_Hz: number; residual_Hz: number } & Partial<LinewidthRowFit>)[];
  evaluations: number;
  uncertaintyMethod: string;
  /** linewidths were fitted */
  linewidths: boolean;
}

export interface LinewidthRowFit {
  linewidth_Hz: number;
  linewidth_fit_Hz: number;
  linewidth_residual_Hz: number;
  linewidth_sigma_Hz: number;
  f_sigma_Hz: number;
  /** D / Gamma of the fitted cycle: the weak-noise linewidth needs it << 1 */
  weak_noise_ratio: number;
}

export const SPECTRUM_UNCERTAINTY_METHOD =
  "Gauss-Newton covariance of the frequency residuals at the returned point, C = s^2 (J^T J)^-1 with J = d f_model / d theta from dual numbers through washout and window; s^2 = sum r^2 / (N - k) without an f_err column (lmfit's scale_covar), 1 with it (residuals already divided by f_err); 1 sigma = sqrt(C_ii) combined in quadrature with the last Levenberg-Marquardt step";

export const SPECTRUM_LINEWIDTH_UNCERTAINTY_METHOD =
  "Gauss-Newton covariance of the frequency and linewidth residuals at the returned point, C = s^2 (J^T J)^-1; frequency rows of J from dual numbers through washout and window, linewidth rows by central differences of the phase-response-curve linewidth (cli/spectrum/linewidth.ts); residuals divided by their sigmas (f_err or half the row's width; linewidth_err or 5 % of the width); s^2 = sum r^2 / (N - k) unless both error columns are given (lmfit's scale_covar), else 1; 1 sigma = sqrt(C_ii) combined in quadrature with the last Levenberg-Marquardt step";

/** Check the table against the fit before the work. */
export function checkSpectrumFit(t: SpectrumTable, s: SpectrumFitSettings): void {
  for (const p of t.params) {
    if (s.params.some((q) => q.spec === p.spec)) throw new UsageError(`${t.file}: column ${p.column} sets ${p.spec.name}, which --fit fits; drop one`);
  }
  if (t.rows.length <= s.params.length)
    throw new UsageError(
      `${t.file}: ${t.rows.length} usable row(s) (with a frequency${t.skipped.length ? `; ${t.skipped.length} skipped` : ""}) for ${s.params.length} fitted parameter(s); need more rows than parameters`,
    );
}

/** Relative uncertainty of a measured linewidth when the table has no linewidth_err column. */
export const LINEWIDTH_RELATIVE_SIGMA = 0.05;

/**
 * The standard deviations of a row's residuals when linewidths are fitted:
 * the linewidth's from its error column, else 5 % of it; the frequency's from
 * f_err, else half the row's width (the half width at half maximum: where a
 * line's centre is known to within its own width, and the scale of the
 * thermal frequency shift that the noise-free model leaves out; a
 * resolution-limited row's width is the resolution), else half the median
 * width of the other rows. Without f_err or without linewidth_err the
 * covariance is scaled by the reduced chi-square (lmfit's scale_covar).
 */
export function residualSigmas(rows: SpectrumRow[], withLinewidths: boolean): { f: number[]; lw: (number | undefined)[] } {
  if (!withLinewidths) return { f: rows.map((r) => r.sigma_Hz ?? 1), lw: rows.map(() => undefined) };
  const widths = rows
    .map((r) => r.linewidth_Hz)
    .filter((w): w is number => w !== undefined)
    .sort((a, b) => a - b);
  const median = widths.length ? widths[Math.floor((widths.length - 1) / 2)] : NaN;
  return {
    f: rows.map((r) => r.sigma_Hz ?? (r.linewidth_Hz ?? median) / 2),
    lw: rows.map((r) =>
      r.linewidth_Hz !== undefined && !r.resolutionLimited ? (r.linewidth_sigma_Hz ?? LINEWIDTH_RELATIVE_SIGMA * r.linewidth_Hz) : undefined,
    ),
  };
}

/** Rows whose measured linewidth enters the fit (with a temperature: the resolved ones). */
export const linewidthRows = (t: SpectrumTable, temperatureK: number | undefined) =>
  temperatureK !== undefined && temperatureK > 0 ? t.rows.filter((r) => r.linewidth_Hz !== undefined && !r.resolutionLimited).length : 0;

export async function fitSpectrum(t: SpectrumTable, s: SpectrumFitSettings, pool: SpectrumPool): Promise<SpectrumFitResult> {
  const k = s.params.length;
  const idx = s.params.map((p) => p.spec.index);
  const settings = { dtS: s.dtS, washoutSteps: Math.round(s.washoutS / s.dtS), windowSteps: Math.round(s.windowS / s.dtS) };
  const withLw = linewidthRows(t, s.temperatureK) > 0;
  const sig = residualSigmas(t.rows, withLw);
  const weighted = t.errorColumn !== undefined && (!withLw || t.linewidthErrorColumn !== undefined);
  let evaluations = 0;
  const rowParams = (row: SpectrumRow, x: Float64Array) => {
    const p = Float64Array.from(s.base);
    for (const [name, v] of Object.entries(row.values)) p[PARAMS.find((q) => q.name === name)!.index] = v;
    idx.forEach((j, a) => (p[j] = x[a]));
    return p;
  };
  // the PRC linewidth of a row (this thread: a few ms each); NaN where the row has no stable cycle at x
  const lwModel = (row: SpectrumRow, x: Float64Array): PrcLinewidth | undefined => {
    if (!withLw || sig.lw[t.rows.indexOf(row)] === undefined) return undefined;
    const p = rowParams(row, x);
    try {
      return prcLinewidth(p, s.temperatureK!, idx, startOnCone(p)[2]);
    } catch (e) {
      if (!(e instanceof RuntimeFailure)) throw e;
      const nan = idx.map(() => NaN);
      return {
        f_Hz: NaN,
        fwhm_Hz: NaN,
        diffusion: NaN,
        multiplier: NaN,
        relaxationRate: NaN,
        weakNoiseRatio: NaN,
        mz: NaN,
        periods: 0,
        prcClosure: NaN,
        dfwhm: nan,
        df: nan,
      };
    }
  };
  const model = async (x: Float64Array) => {
    evaluations++;
    const steady = await Promise.all(
      t.rows.map((row) => {
        const p = rowParams(row, x);
        return pool.run({ kind: "steady", params: Array.from(p), fit: idx, m0: startOnCone(p), settings });
      }),
    );
    return steady.map((o, i) => ({ ...o, lw: lwModel(t.rows[i], x) }));
  };
  const evaluate = async (x: Float64Array) => {
    const out = await model(x);
    let sumSq = 0;
    let count = 0;
    const jtr = new Float64Array(k);
    const jtj = new Float64Array(k * k);
    const add = (r: number, jac: number[], sigma: number) => {
      sumSq += r * r;
      count++;
      for (let a = 0; a < k; a++) {
        jtr[a] += (jac[a] / sigma) * r;
        for (let b = 0; b < k; b++) jtj[a * k + b] += (jac[a] * jac[b]) / (sigma * sigma);
      }
    };
    out.forEach((o, i) => {
      add((o.f_Hz - t.rows[i].f_Hz) / sig.f[i], o.df, sig.f[i]);
      if (o.lw) add((o.lw.fwhm_Hz - t.rows[i].linewidth_Hz!) / sig.lw[i]!, o.lw.dfwhm, sig.lw[i]!);
    });
    // a row without auto-oscillation at x (NaN) makes the point non-finite: LM rejects the step
    return { sumSq, jtr, jtj, count };
  };
  const x0 = Float64Array.from(s.params.map((p) => p.start));
  let lm: LmResult;
  try {
    lm = await levenbergMarquardt(evaluate, x0, {
      lower: Float64Array.from(s.params.map((p) => p.range[0])),
      upper: Float64Array.from(s.params.map((p) => p.range[1])),
      maxIterations: s.maxIterations ?? 100,
      shouldStop: s.shouldStop,
    });
  } catch (e) {
    if (e instanceof RangeError)
      throw new RuntimeFailure(`the start point gives no auto-oscillation at some row (no frequency): choose --init or --range nearer the data (${e.message})`);
    throw e;
  }
  const out = await model(lm.x);
  const n = t.rows.length + out.filter((o) => o.lw).length;
  const sumAbs = out.reduce(
    (a, o, i) => a + Math.abs(o.f_Hz - t.rows[i].f_Hz) / sig.f[i] + (o.lw ? Math.abs(o.lw.fwhm_Hz - t.rows[i].linewidth_Hz!) / sig.lw[i]! : 0),
    0,
  );
  const stats = statistics(lm.sumSq, sumAbs, n, k, weighted ? 1 : undefined);
  const inv = stats.dof > 0 ? invertSpd(lm.jtj, k) : null;
  const s2 = weighted ? 1 : stats.dof > 0 ? lm.sumSq / stats.dof : NaN;
  const covariance = inv && Number.isFinite(s2) ? Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => s2 * inv[a * k + b])) : null;
  const correlation = covariance ? covariance.map((row, a) => row.map((c, b) => (a === b ? 1 : c / Math.sqrt(covariance[a][a] * covariance[b][b])))) : null;
  const values: Record<string, number> = {};
  const stderr: Record<string, number> = {};
  s.params.forEach((p, a) => {
    values[p.spec.name] = lm.x[a];
    const stat = covariance ? Math.sqrt(Math.max(0, covariance[a][a])) : NaN;
    stderr[p.spec.name] = Math.hypot(stat, Math.max(Math.abs(lm.lastStep[a]), 2 * ulp(lm.x[a])));
  });
  return {
    values,
    stderr,
    lm,
    stats,
    covariance,
    correlation,
    rows: t.rows.map((r, i) => ({
      line: r.line,
      values: r.values,
      f_Hz: r.f_Hz,
      f_fit_Hz: out[i].f_Hz,
      residual_Hz: out[i].f_Hz - r.f_Hz,
      ...(out[i].lw
        ? {
            linewidth_Hz: r.linewidth_Hz!,
            linewidth_fit_Hz: out[i].lw!.fwhm_Hz,
            linewidth_residual_Hz: out[i].lw!.fwhm_Hz - r.linewidth_Hz!,
            linewidth_sigma_Hz: sig.lw[i]!,
            f_sigma_Hz: sig.f[i],
            weak_noise_ratio: out[i].lw!.weakNoiseRatio,
          }
        : {}),
    })),
    evaluations,
    uncertaintyMethod: withLw ? SPECTRUM_LINEWIDTH_UNCERTAINTY_METHOD : SPECTRUM_UNCERTAINTY_METHOD,
    linewidths: withLw,
  };
}

export { lmConverged };
