/**
 * `stoopt sysid --spectrum TABLE`: settings from sysid's flags, the fit
 * (cli/spectrum/fit.ts) and its rendering, in the layout of the time-domain
 * fit's report (fit.<name>.{value, unit, start, uncertainty, stderr, range, at_bound}).
 */
import { VERSION } from "../version.js";
import { FitParam } from "../fit/sysid.js";
import { PARAMS } from "../model.js";
import {
  checkSpectrumFit,
  fitSpectrum,
  linewidthRows,
  lmConverged,
  readSpectrumTable,
  SpectrumFitResult,
  SpectrumFitSettings,
  SpectrumTable,
} from "../spectrum/fit.js";
import { LINEWIDTH_GRADIENT, WEAK_NOISE_LIMIT } from "../spectrum/linewidth.js";
import { SpectrumPool } from "../spectrum/pool.js";
import { info, note, paint } from "../log.js";
import { num, toJson, writeJson } from "../render/text.js";
import { spectrumFitTable } from "../render/sysid.js";
import { EXIT_RUNTIME, Interrupted } from "../errors.js";
import { checkOutput, declareInput } from "../io/output.js";
import { stopsCleanly } from "../signals.js";

/** The result of `stoopt sysid --spectrum TABLE`: what `-o` and `--json` write (the time-domain fit's layout where it applies). */
export interface SpectrumSysidResult {
  stoopt: string;
  command: "sysid";
  mode: "spectrum";
  status: "ok" | "at_bound" | "not_converged";
  input: {
    file: string;
    sha256: string;
    rows: number;
    skipped: SpectrumTable["skipped"];
    frequency_column: string;
    error_column: string | null;
    /** the linewidth columns when linewidths are fitted (--temperature), else null */
    linewidth_column: string | null;
    linewidth_error_column: string | null;
    linewidth_rows: number;
    parameter_columns: string[];
  };
  settings: {
    fit: string[];
    dt_s: number;
    washout_s: number;
    window_s: number;
    threads: number;
    gradient: "dual";
    temperature_K: number;
    linewidth_model?: string;
    linewidth_gradient?: string;
    refine: "lm";
    model: string;
    fixed: Record<string, { value: number; unit: string }>;
  };
  objective: "least_squares";
  fit: Record<
    string,
    {
      value: number;
      unit: string;
      start: number;
      uncertainty: number | null;
      stderr: number | null;
      relative_error: number | null;
      range: [number, number];
      at_bound: boolean;
    }
  >;
  loss: number;
  sum_sq: number;
  statistics: {
    n_data: number;
    n_free: number;
    dof: number;
    sum_sq: number;
    chi_square: number;
    reduced_chi_square: number;
    aic: number;
    bic: number;
    sigma_Hz: number;
    sigma_source: SpectrumFitResult["stats"]["sigmaSource"];
    rms_residual_Hz: number;
    rms_linewidth_residual_Hz?: number;
  };
  covariance: { names: string[]; matrix: number[][] } | null;
  correlation: { names: string[]; matrix: number[][] } | null;
  convergence: { converged: boolean; reason: string; message: string; lm_iterations: number; lm_evaluations: number };
  rows: SpectrumFitResult["rows"];
  time_s: number;
  uncertainty_method: string;
  warnings: string[];
}

/** Every setting of `stoopt sysid --spectrum TABLE`, checked (cli/options/sysid.ts). */
export interface SpectrumSysidSettings {
  /** the frequency table (CSV) */
  file: string;
  params: FitParam[];
  /** every model parameter (core slot order, internal units): a flag's value, else the default */
  base: Float64Array;
  /** RK4 step [s] */
  dtS: number;
  /** time integrated before the frequency is measured [s] */
  washoutS: number;
  /** window over which the frequency is measured [s] */
  windowS: number;
  threads: number;
  maxIterations: number;
  /** --temperature [K]: the linewidths are fitted too (cli/spectrum/linewidth.ts); undefined: a linewidth column is ignored */
  temperatureK?: number;
  /** unit assumptions of bare numbers, noted before the work */
  notes: string[];
  /** -o FILE: the result as JSON */
  out?: string;
  /** --json: the result on stdout */
  json: boolean;
}

/** Fit the table's frequencies (and linewidths); the result is also printed and written as the settings ask. */
export async function runSpectrumFit(s: SpectrumSysidSettings): Promise<SpectrumSysidResult> {
  const t0 = Date.now();
  const { file, params, base, dtS, washoutS, windowS, threads, maxIterations, temperatureK } = s;
  // the table is an input; --out is checked before any work (cli/io/output.ts)
  declareInput(file, "frequency table");
  if (s.out !== undefined && s.out !== "-") checkOutput(s.out, "--out");
  const notes = [...s.notes];
  const table0 = readSpectrumTable(file, { linewidths: temperatureK !== undefined && temperatureK > 0 });
  const settings: SpectrumFitSettings = { base, params, dtS, washoutS, windowS, maxIterations, temperatureK };
  checkSpectrumFit(table0, settings);
  const nLw = linewidthRows(table0, temperatureK);
  if (table0.linewidthColumn !== undefined && !(temperatureK! > 0))
    notes.push(
      `${table0.file}: column ${table0.linewidthColumn} ignored: linewidths are fitted only with --temperature (the thermal field sets them)${temperatureK === 0 ? ", and it is 0 K" : ""}`,
    );
  else if (temperatureK! > 0 && nLw === 0)
    notes.push(
      `--temperature ${temperatureK} K: ${table0.file} has no ${table0.linewidthColumn ? "resolved linewidth" : "linewidth column (linewidth_Hz, linewidth_MHz, ...)"}: fitting frequencies only`,
    );
  else if (nLw > 0) notes.push(`${nLw} linewidth(s) at ${temperatureK} K fitted with the frequencies (weak-noise phase-diffusion linewidth; README)`);
  for (const n of notes) note(n);
  if (table0.skipped.length) note(`${table0.file}: ${table0.skipped.length} row(s) skipped (${[...new Set(table0.skipped.map((s) => s.reason))].join(", ")})`);
  note(`${table0.rows.length} frequencies on ${Math.min(threads, table0.rows.length)} thread(s): working`);
  const pool = new SpectrumPool(Math.min(threads, table0.rows.length));
  let r;
  // SIGINT/SIGTERM (cli/signals.ts): the jobs in flight are abandoned; a fit not finished is not written
  const release = stopsCleanly();
  try {
    r = await fitSpectrum(table0, settings, pool);
  } catch (e) {
    if (e instanceof Interrupted) throw new Interrupted(e.signal, `interrupted by ${e.signal}: the frequency fit was not finished; nothing was written`);
    throw e;
  } finally {
    release();
    await pool.close();
  }
  const names = params.map((p) => p.spec.name);
  const atBound = params.map((p) => r.values[p.spec.name] <= p.range[0] || r.values[p.spec.name] >= p.range[1]);
  const converged = lmConverged(r.lm.reason);
  const warnings: string[] = [];
  params.forEach(
    (p, i) => atBound[i] && warnings.push(`${p.spec.name} = ${r.values[p.spec.name]} is on a bound of its range ${p.range[0]}:${p.range[1]}; widen --range`),
  );
  if (!converged) warnings.push(`not converged: ${r.lm.message}`);
  const strong = r.rows.filter((q) => q.weak_noise_ratio !== undefined && !(q.weak_noise_ratio < WEAK_NOISE_LIMIT));
  if (strong.length)
    warnings.push(
      `line(s) ${strong.map((q) => q.line).join(", ")}: phase diffusion not small against the amplitude relaxation (D/Gamma ${strong.map((q) => num(q.weak_noise_ratio!, 2)).join(", ")} >= ${WEAK_NOISE_LIMIT}): near threshold the weak-noise linewidth is only approximate`,
    );
  if (!r.covariance) warnings.push("J^T J is singular (or no degrees of freedom): no uncertainties (does a fitted parameter leave the frequency unchanged?)");
  const lwRows = r.rows.filter((q) => q.linewidth_residual_Hz !== undefined);
  const status = atBound.some(Boolean) ? "at_bound" : converged ? "ok" : "not_converged";
  const result: SpectrumSysidResult = {
    stoopt: VERSION,
    command: "sysid",
    mode: "spectrum",
    status,
    input: {
      file: table0.file,
      sha256: table0.sha256,
      rows: table0.rows.length,
      skipped: table0.skipped,
      frequency_column: table0.frequencyColumn,
      error_column: table0.errorColumn ?? null,
      linewidth_column: r.linewidths ? table0.linewidthColumn! : null,
      linewidth_error_column: r.linewidths ? (table0.linewidthErrorColumn ?? null) : null,
      linewidth_rows: nLw,
      parameter_columns: table0.params.map((p) => p.column),
    },
    settings: {
      fit: names,
      dt_s: dtS,
      washout_s: washoutS,
      window_s: windowS,
      threads,
      gradient: "dual",
      temperature_K: temperatureK ?? 0,
      ...(r.linewidths
        ? {
            linewidth_model: "weak-noise phase diffusion of the noise-free cycle through its phase response curve, FWHM = D/pi (core-rs/src/linewidth.rs)",
            linewidth_gradient: LINEWIDTH_GRADIENT,
          }
        : {}),
      refine: "lm",
      model: "noise-free RK4 from the theory's cone; frequency of the upward crossings of m_x in the window (core-rs/src/steady.rs)",
      fixed: Object.fromEntries(PARAMS.filter((p) => !names.includes(p.name)).map((p) => [p.name, { value: base[p.index], unit: p.unit }])),
    },
    objective: "least_squares",
    fit: Object.fromEntries(
      params.map((p, i) => {
        const v = r.values[p.spec.name];
        const se = r.stderr[p.spec.name];
        return [
          p.spec.name,
          {
            value: v,
            unit: p.spec.unit,
            start: p.start,
            uncertainty: Number.isFinite(se) ? se : null,
            stderr: Number.isFinite(se) ? se : null,
            relative_error: Number.isFinite(se) && v !== 0 ? se / Math.abs(v) : null,
            range: p.range,
            at_bound: atBound[i],
          },
        ];
      }),
    ),
    loss: r.stats.lossEq4,
    sum_sq: r.stats.sumSq,
    statistics: {
      n_data: r.stats.nData,
      n_free: r.stats.nFree,
      dof: r.stats.dof,
      sum_sq: r.stats.sumSq,
      chi_square: r.stats.chiSquare,
      reduced_chi_square: r.stats.reducedChiSquare,
      aic: r.stats.aic,
      bic: r.stats.bic,
      sigma_Hz: r.stats.sigma,
      sigma_source: r.stats.sigmaSource,
      rms_residual_Hz: Math.sqrt(r.rows.reduce((a, q) => a + q.residual_Hz ** 2, 0) / r.rows.length),
      ...(r.linewidths ? { rms_linewidth_residual_Hz: Math.sqrt(lwRows.reduce((a, q) => a + q.linewidth_residual_Hz! ** 2, 0) / lwRows.length) } : {}),
    },
    covariance: r.covariance ? { names, matrix: r.covariance } : null,
    correlation: r.correlation ? { names, matrix: r.correlation } : null,
    convergence: { converged, reason: r.lm.reason, message: r.lm.message, lm_iterations: r.lm.iterations, lm_evaluations: r.lm.evaluations },
    rows: r.rows,
    time_s: (Date.now() - t0) / 1000,
    uncertainty_method: r.uncertaintyMethod,
    warnings,
  };
  const c = paint();
  info(
    "\n" +
      spectrumFitTable(
        {
          params,
          values: r.values,
          stderr: r.stderr,
          atBound,
          status,
          message: r.lm.message,
          frequencies: table0.rows.length,
          rmsResidualHz: result.statistics.rms_residual_Hz,
          linewidths: r.linewidths ? lwRows.length : 0,
          rmsLinewidthResidualHz: result.statistics.rms_linewidth_residual_Hz,
          iterations: r.lm.iterations,
          evaluations: r.evaluations,
          seconds: result.time_s,
          washoutS,
          windowS,
          correlation: r.correlation,
          warnings,
        },
        c.bold,
      ),
  );
  if (s.out !== undefined) writeJson(s.out, result, "--out");
  if (s.json) process.stdout.write(toJson(result));
  if (!Number.isFinite(r.lm.sumSq)) process.exitCode = EXIT_RUNTIME;
  return result;
}
