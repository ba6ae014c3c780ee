/**
 * Rendering of a sysid result: the stderr table, a text report in the layout
 * of lmfit's fit_report, and one CSV row per file for many-file runs.
 * The result's JSON schema is schemas/sysid-result.schema.json.
 */
import { csv, num, table } from "./text.js";
import type { EpochRecord, FitParam } from "../fit/sysid.js";
import type { FileOutcome, SysidResult } from "../run/sysid.js";

export type { FileOutcome, FitEntry, ParameterEntry, SysidResult } from "../run/sysid.js";

const pct = (x: number | null) =>
  x === null || !Number.isFinite(x) ? "n/a" : 100 * x >= 0.01 || x === 0 ? `${(100 * x).toFixed(2)}%` : `${(100 * x).toExponential(1)}%`;

/** `digits` significant digits; exponent form for very small or large magnitudes. */
function g(x: number | null | undefined, digits: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-4 || a >= 1e9) ? x.toExponential(digits - 1).replace(/\.?0+e/, "e") : num(x, digits);
}
const unitOf = (u: string) => (u === "" ? "" : ` ${u}`);

/** The loss definitions, for help texts, the README and the report. */
export const LOSS_TEXT =
  "loss (eq. 4) = (1/N) sum_i |m_x,student(t_i) - m_x,teacher(t_i)| over the N compared samples (every trial, every sample from --washout on); " +
  "sum of squares = sum_i (m_x,student(t_i) - m_x,teacher(t_i))^2, the objective of the Levenberg-Marquardt refinement and of chi-square";

/** A fit report in the layout of lmfit's fit_report. */
export function fitReport(r: SysidResult): string {
  const s = r.statistics;
  const names = Object.keys(r.fit);
  const w = Math.max(...names.map((n) => n.length)) + 1;
  const lines: string[] = [];
  lines.push("[[Model]]");
  lines.push(`    macrospin LLG (paper eq. 1-3), teacher ${r.input.file} (${r.input.trials} trials, sha256 ${r.input.sha256.slice(0, 12)})`);
  lines.push("[[Fit Statistics]]");
  const method =
    r.settings.refine === "lm"
      ? `Adam (eq. 4, ${r.settings.epochs} epochs x ${r.settings.starts} start${r.settings.starts > 1 ? "s" : ""}) + Levenberg-Marquardt (sum of squares)`
      : `Adam (eq. 4, ${r.settings.epochs} epochs x ${r.settings.starts} start${r.settings.starts > 1 ? "s" : ""})`;
  const stat: [string, string][] = [
    ["# fitting method", method],
    ["# objective", r.objective === "least_squares" ? "sum of squared residuals" : "eq. 4 (mean absolute residual)"],
    ["# function evals", String(r.convergence.lm_evaluations)],
    ["# data points", String(s.n_data)],
    ["# variables", String(s.n_free)],
    ["chi-square", g(s.chi_square, 9)],
    ["reduced chi-square", g(s.reduced_chi_square, 9)],
    ["Akaike info crit", g(s.aic, 9)],
    ["Bayesian info crit", g(s.bic, 9)],
    ["loss (eq. 4)", g(s.loss_eq4, 9)],
    ["noise sigma", `${g(s.sigma, 6)} (${s.sigma_source === "given" ? "given by --sigma" : "estimated from the residuals"})`],
  ];
  for (const [k, v] of stat) lines.push(`    ${k.padEnd(19)}= ${v}`);
  lines.push("[[Convergence]]");
  lines.push(`    status:  ${r.status}`);
  lines.push(`    ${r.convergence.message}`);
  lines.push("[[Variables]]");
  for (const n of names) {
    const f = r.fit[n];
    const err = f.stderr === null ? "+/- n/a" : `+/- ${g(f.stderr, 8)} (${pct(f.relative_error)})`;
    lines.push(
      `    ${(n + ":").padEnd(w)} ${g(f.value, 10)} ${err} (init = ${g(f.start, 7)}) [${g(f.range[0], 6)}:${g(f.range[1], 6)}]${unitOf(f.unit)}${f.at_bound ? " AT BOUND" : ""}${f.true !== undefined ? ` (true = ${g(f.true, 10)})` : ""}`,
    );
  }
  const fixed = Object.entries(r.parameters).filter(([, p]) => p.source !== "fit");
  if (fixed.length) {
    lines.push("[[Fixed]]");
    const fw = Math.max(...fixed.map(([n]) => n.length)) + 1;
    for (const [n, p] of fixed)
      lines.push(
        `    ${(n + ":").padEnd(fw)} ${g(p.value, 9)}${unitOf(p.unit)} (${p.source}${p.sidecar !== undefined && p.sidecar !== p.value ? `; sidecar ${g(p.sidecar, 9)}` : ""})`,
      );
  }
  lines.push("[[Correlations]] (unreported correlations are < 0.100)");
  if (r.correlation) {
    const c = r.correlation;
    const pairs: [string, number][] = [];
    for (let a = 0; a < c.names.length; a++)
      for (let b = a + 1; b < c.names.length; b++) if (Math.abs(c.matrix[a][b]) >= 0.1) pairs.push([`C(${c.names[a]}, ${c.names[b]})`, c.matrix[a][b]]);
    pairs.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
    const pw = Math.max(0, ...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) lines.push(`    ${k.padEnd(pw)} = ${v >= 0 ? "+" : "-"}${Math.abs(v).toFixed(4)}`);
  } else lines.push("    not available (J^T J singular)");
  lines.push("[[Uncertainties]]");
  lines.push(`    ${r.uncertainty_method}`);
  if (r.warnings.length) {
    lines.push("[[Warnings]]");
    for (const x of r.warnings) lines.push(`    ${x}`);
  }
  if (r.notes.length) {
    lines.push("[[Notes]]");
    for (const x of r.notes) lines.push(`    ${x}`);
  }
  return lines.join("\n") + "\n";
}

/** The stderr table of one result (without colour). */
export function resultTable(r: SysidResult, bold: (s: string) => string = (s) => s, warn: (s: string) => string = (s) => s): string {
  const names = Object.keys(r.fit);
  const hasTrue = names.some((n) => r.fit[n].true !== undefined);
  const s = r.statistics;
  const body = table(
    ["parameter", "start", "fitted", "std error", "rel. error", "range", "at bound", "unit", ...(hasTrue ? ["true"] : [])],
    names.map((n) => {
      const f = r.fit[n];
      return [
        n,
        g(f.start, 6),
        bold(g(f.value, 10)),
        g(f.stderr, 3),
        pct(f.relative_error),
        `${num(f.range[0])}:${num(f.range[1])}`,
        f.at_bound ? warn("yes") : "no",
        f.unit || "1",
        ...(hasTrue ? [num(f.true)] : []),
      ];
    }),
  );
  const lines = [
    body.trimEnd(),
    `status ${r.status === "ok" ? r.status : warn(r.status)}: ${r.convergence.message}`,
    `loss (eq. 4) ${num(s.loss_eq4, 5)} | sum of squares ${num(s.sum_sq, 5)} | chi-square ${num(s.chi_square, 5)} | reduced chi-square ${num(s.reduced_chi_square, 5)} | AIC ${num(s.aic, 6)} | BIC ${num(s.bic, 6)} | N ${s.n_data} data points | ${s.n_free} free parameters`,
    `objective: ${r.objective === "least_squares" ? "sum of squares (Levenberg-Marquardt after Adam)" : "eq. 4 (Adam only)"} | ${r.epochs} epochs | start ${r.best_start + 1} of ${r.starts.length} | ${r.convergence.lm_iterations} LM iterations | ${r.time_s.toFixed(1)} s | ${r.settings.gradient} gradients | ${r.input.trials} trials | Adam events: ${r.events.filter((e) => e.kind === "lr_halved").length} learning-rate halvings, ${r.events.filter((e) => e.kind === "nonfinite_step_rejected").length} non-finite steps rejected`,
  ];
  if (r.correlation && r.correlation.names.length > 1) {
    const c = r.correlation;
    lines.push(
      `correlations: ${c.names.flatMap((a, i) => c.names.slice(i + 1).map((b, j) => `C(${a}, ${b}) = ${c.matrix[i][i + 1 + j].toFixed(3)}`)).join(", ")}`,
    );
  }
  for (const w of r.warnings) lines.push(warn(`warning: ${w}`));
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n") + "\n";
}

/** One line per file of a many-file run (errors included). */

/** Columns of the many-file CSV for the fitted names. */
function manyColumns(names: string[]): string[] {
  return [
    "file",
    "status",
    "error",
    ...names.flatMap((n) => [n, `${n}_stderr`, `${n}_at_bound`]),
    "loss",
    "sum_sq",
    "reduced_chi_square",
    "aic",
    "bic",
    "n_data",
    "converged",
    "reason",
    "time_s",
  ];
}

function manyRecord(o: FileOutcome): Record<string, unknown> {
  const r = o.result;
  if (!r) return { file: o.file, status: "error", error: o.error ?? "" };
  const rec: Record<string, unknown> = {
    file: o.file,
    status: r.status,
    error: "",
    loss: r.loss,
    sum_sq: r.sum_sq,
    reduced_chi_square: r.statistics.reduced_chi_square ?? NaN,
    aic: r.statistics.aic ?? NaN,
    bic: r.statistics.bic ?? NaN,
    n_data: r.statistics.n_data,
    converged: r.convergence.converged ? 1 : 0,
    reason: r.convergence.reason,
    time_s: r.time_s,
  };
  for (const [n, f] of Object.entries(r.fit)) {
    rec[n] = f.value;
    rec[`${n}_stderr`] = f.stderr ?? NaN;
    rec[`${n}_at_bound`] = f.at_bound ? 1 : 0;
  }
  return rec;
}

const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** CSV of many files: one row per file. */
export function manyCsv(names: string[], outcomes: FileOutcome[]): string {
  return csv(
    manyColumns(names),
    outcomes.map((o) => Object.fromEntries(Object.entries(manyRecord(o)).map(([k, v]) => [k, typeof v === "string" ? quote(v) : v]))),
  );
}

/** The stderr table of many files. */
export function manyTable(names: string[], outcomes: FileOutcome[]): string {
  return table(
    ["file", "status", ...names.map((n) => `${n} +/- std error`), "loss (eq. 4)", "red. chi-square", "warnings / error"],
    outcomes.map((o) => {
      const r = o.result;
      if (!r) return [o.file, "error", ...names.map(() => ""), "", "", o.error ?? ""];
      return [
        o.file,
        r.status,
        ...names.map((n) => `${num(r.fit[n].value, 8)} +/- ${num(r.fit[n].stderr, 2)}`),
        num(r.loss, 4),
        num(r.statistics.reduced_chi_square, 4),
        r.warnings.join("; "),
      ];
    }),
  );
}

/** --history: one row per epoch of every start (CSV). */
export function historyCsv(names: string[], history: EpochRecord[]): string {
  const cols = ["start", "stage", "epoch", "loss", ...names.map((n) => n), ...names.map((n) => `lr_${n}`)];
  return csv(
    cols,
    history.map((h) => ({
      start: h.start,
      stage: h.stage,
      epoch: h.epoch,
      loss: h.loss,
      ...h.values,
      ...Object.fromEntries(Object.entries(h.lr).map(([k, v]) => [`lr_${k}`, v])),
    })),
  );
}

/** One JSON line of a many-file run: the result, or the file's error. */
export function jsonLine(o: FileOutcome): string {
  const v = o.result ?? { command: "sysid", status: "error", input: { file: o.file }, error: o.error, exit_code: o.exitCode };
  return JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)) + "\n";
}

/** --report of a many-file run: each file's report, or its error. */
export function manyReport(outcomes: FileOutcome[]): string {
  return outcomes.map((o) => (o.result ? fitReport(o.result) : `[[Error]]\n    ${o.file}: ${o.error}\n`)).join("\n");
}

/** What the stderr table of a measured-data fit shows (cli/run/sysid-measured.ts). */
export interface MeasuredTable {
  params: FitParam[];
  starts: number[];
  values: number[];
  /** 1 sigma of each parameter, then of the offset and the amplitude */
  sigma: number[];
  offset: { value: number; fitted: boolean };
  amplitude: { value: number; fitted: boolean };
  unit: string;
  truth?: Record<string, number>;
  loss: number;
  rms: number;
  windows: number;
  samples: number;
  unknowns: number;
  uncertainty: string;
  seconds: number;
  status: string;
}

export function measuredTable(m: MeasuredTable, bold: (s: string) => string = (s) => s, warn: (s: string) => string = (s) => s): string {
  const P = m.params.length;
  const t = m.truth;
  return (
    table(
      ["parameter", "start", "fitted", "uncertainty", "range", "unit", ...(t ? ["true"] : [])],
      [
        ...m.params.map((q, i) => [
          q.spec.name,
          num(m.starts[i]),
          bold(num(m.values[i], 7)),
          num(m.sigma[i], 3),
          `${num(q.range[0])}:${num(q.range[1])}`,
          q.spec.unit || "1",
          ...(t ? [num(t[q.spec.name])] : []),
        ]),
        ["offset", "", m.offset.fitted ? bold(num(m.offset.value, 7)) : num(m.offset.value), num(m.sigma[P], 3), "", m.unit, ...(t ? [""] : [])],
        [
          "amplitude",
          "",
          m.amplitude.fitted ? bold(num(m.amplitude.value, 7)) : num(m.amplitude.value),
          num(m.sigma[P + 1], 3),
          "",
          m.unit,
          ...(t ? [""] : []),
        ],
      ],
    ) +
    `loss ${num(m.loss, 5)} (eq. 4, m_x units) | rms residual ${num(m.rms, 4)} ${m.unit} | ${m.windows} windows, ${m.samples} samples, ${m.unknowns} unknowns | ${m.uncertainty} | ${m.seconds.toFixed(1)} s` +
    (m.status !== "ok" ? ` | ${warn(m.status)}` : "")
  );
}

/** What the stderr table of a frequency-table fit shows (cli/run/sysid-spectrum.ts). */
export interface SpectrumFitTable {
  params: FitParam[];
  values: Record<string, number>;
  stderr: Record<string, number>;
  atBound: boolean[];
  status: string;
  message: string;
  frequencies: number;
  rmsResidualHz: number;
  /** linewidths fitted with the frequencies (sysid --spectrum --temperature), and their rms residual */
  linewidths?: number;
  rmsLinewidthResidualHz?: number;
  iterations: number;
  evaluations: number;
  seconds: number;
  washoutS: number;
  windowS: number;
  correlation?: number[][] | null;
  warnings: string[];
}

export function spectrumFitTable(f: SpectrumFitTable, bold: (s: string) => string = (s) => s): string {
  const names = f.params.map((p) => p.spec.name);
  const body = table(
    ["parameter", "start", "fitted", "std error", "range", "at bound", "unit"],
    f.params.map((p, i) => [
      p.spec.name,
      num(p.start),
      bold(num(f.values[p.spec.name], 9)),
      num(f.stderr[p.spec.name], 3),
      `${num(p.range[0])}:${num(p.range[1])}`,
      f.atBound[i] ? "yes" : "no",
      p.spec.unit || "1",
    ]),
  );
  return (
    body +
    `status ${f.status}: ${f.message}\n` +
    `${f.frequencies} frequencies${f.linewidths ? ` and ${f.linewidths} linewidths (rms residual ${num(f.rmsLinewidthResidualHz! / 1e6, 4)} MHz, central-difference gradients)` : ""} | rms residual ${num(f.rmsResidualHz / 1e6, 4)} MHz | ${f.iterations} LM iterations, ${f.evaluations} evaluations | ${f.seconds.toFixed(1)} s | dual-number gradients through washout ${num(f.washoutS * 1e9)} ns and window ${num(f.windowS * 1e9)} ns` +
    (f.correlation && names.length > 1
      ? `\ncorrelations: ${names.flatMap((a, i) => names.slice(i + 1).map((b, j) => `C(${a}, ${b}) = ${f.correlation![i][i + 1 + j].toFixed(3)}`)).join(", ")}`
      : "") +
    f.warnings.map((w) => `\nwarning: ${w}`).join("")
  );
}
