/**
 * The work of `stoopt sysid` on teacher files: each fitted by Adam on eq. 4
 * and Levenberg-Marquardt (cli/fit/sysid.ts), or, for measured data, by the
 * windowed fit (cli/run/sysid-measured.ts); results rendered by cli/render/sysid.ts.
 * The frequency-table fit (--spectrum) is cli/run/sysid-spectrum.ts.
 */
import fs from "node:fs";
import { PARAMS } from "../model.js";
import { describe, EXIT_RUNTIME, UsageError } from "../errors.js";
import { EpochRecord, FitParam, GradientMode, Refinement, runFit, Stage, UNCERTAINTY_METHOD } from "../fit/sysid.js";
import { fitReport, historyCsv, jsonLine, manyCsv, manyReport, manyTable, resultTable } from "../render/sysid.js";
import { Parsed, settled } from "../options/parse.js";
import type { TeacherSettings } from "../options/teacher.js";
import type { MeasuredSettings } from "../options/measured.js";
import { loadTeacher, LoadedTeacher, makeEvaluator, readTeacherData, teacherArrays } from "./teacher.js";
import type { MeasuredSysidResult } from "./sysid-measured.js";
import { checkScopeTimeAxis } from "../fit/measured.js";
import { checkTimeAxis } from "../limits.js";
import { errorLine, info, note, paint, progress } from "../log.js";
import { toJson, writeJson } from "../render/text.js";
import { checkOutput, checkOutputDir, declareInput, writeFileAtomic } from "../io/output.js";
import { exitCodeFor, stopRequested, stopsCleanly } from "../signals.js";
import type { ExportOptions } from "../render/figures/export.js";
import type { Component } from "../render/figures/sysid.js";
import { PoolEvaluator, prewarmWorkers } from "../fit/pool.js";
import { VERSION } from "../version.js";
import type { SimulateSidecar } from "./simulate.js";

export interface FitEntry {
  value: number;
  unit: string;
  start: number;
  /** total 1-sigma standard error (null if not available) */
  uncertainty: number | null;
  stderr: number | null;
  relative_error: number | null;
  uncertainty_statistical: number | null;
  uncertainty_numerical: number | null;
  range: [number, number];
  at_bound: boolean;
  true?: number;
}

export interface ParameterEntry {
  value: number;
  unit: string;
  source: "fit" | "flag" | "sidecar" | "default";
  sidecar?: number;
}

/** The result of a time-domain fit of one teacher file: what `-o` and `--json` write (schemas/sysid-result.schema.json). */
export interface SysidResult {
  stoopt: string;
  command: "sysid";
  status: "ok" | "at_bound" | "not_converged" | "failed" | "interrupted";
  input: { file: string; sha256: string; trials: number; samples: number; truncated: boolean };
  settings: {
    fit: string[];
    dt_s: number;
    washout_s: number;
    epochs: number;
    batch: number;
    gradient: string;
    refine: string;
    ftol: number;
    xtol: number;
    gtol: number;
    max_iterations: number;
    sigma: number | null;
    starts: number;
    seed: number;
    lr_scale: number;
    max_failures: number;
    /** optional in results written before the plateau hand-over existed */
    patience?: number;
    min_improvement?: number;
    threads: number;
    scale?: number;
    stages: Stage[];
    fixed: Record<string, { value: number; unit: string }>;
  };
  objective: "least_squares" | "eq4";
  fit: Record<string, FitEntry>;
  parameters: Record<string, ParameterEntry>;
  loss: number;
  sum_sq: number;
  statistics: {
    n_data: number;
    n_free: number;
    dof: number;
    loss_eq4: number;
    sum_sq: number;
    chi_square: number;
    reduced_chi_square: number | null;
    aic: number | null;
    bic: number | null;
    sigma: number | null;
    sigma_source: "given" | "estimated";
  };
  covariance: { names: string[]; matrix: number[][] } | null;
  correlation: { names: string[]; matrix: number[][] } | null;
  convergence: { converged: boolean; reason: string; message: string; lm_iterations: number; lm_evaluations: number };
  epochs: number;
  best_start: number;
  time_s: number;
  uncertainty_method: string;
  warnings: string[];
  notes: string[];
  starts: unknown[];
  events: { kind: string }[];
  history: EpochRecord[];
}

/** What `stoopt plot` reads of a sysid result (time-domain or measured), as cli/io/schema.ts SYSID_RESULT checks it. */
export type SysidPlotInput = Pick<SysidResult, "command" | "fit" | "history"> &
  Partial<Pick<SysidResult, "best_start">> & {
    input: Pick<SysidResult["input"], "file"> & Partial<Pick<SysidResult["input"], "sha256" | "trials" | "truncated">>;
    settings: Pick<SysidResult["settings"], "dt_s" | "washout_s" | "scale"> & { fixed: Record<string, { value: number }> };
  };

/** One file of a many-file run: its result, or the error that stopped it. */
export interface FileOutcome {
  file: string;
  result?: SysidResult;
  error?: string;
  exitCode: number;
}

/** What a sysid run on teacher files gave: one file's fit, the windowed fit of measured data, or one outcome per file. */
export type SysidRun =
  { kind: "teacher"; result: SysidResult } | { kind: "measured"; result: MeasuredSysidResult } | { kind: "files"; outcomes: FileOutcome[] };

/** Every setting of a sysid run on teacher files, checked (cli/options/sysid.ts). */
export interface SysidSettings {
  files: string[];
  /** the shared teacher settings (--dt, --washout, --scale, --trials, fixed parameters); a flag's error is raised where a teacher is read (per file when several are fitted) */
  teacher: Parsed<TeacherSettings>;
  /** --signal: a measured column in place of mx */
  signal?: string;
  /** whether --m0 was given */
  m0Given: boolean;
  /** the measured-data flag on the command line that selects the windowed fit, if any */
  measuredFlag?: string;
  /** the measured-data settings; a flag's error is raised when the windowed fit starts */
  measured: Parsed<MeasuredSettings>;
  /** -o FILE: the result as JSON (several files: JSON Lines) */
  out?: string;
  /** --history FILE: the per-epoch history as CSV */
  history?: string;
  /** --report FILE or - (stdout): the fit report */
  report?: string;
  /** --plot DIR: the figures of `stoopt plot` */
  plot?: string;
  /** --json: the result on stdout */
  json: boolean;
  names: string[];
  params: FitParam[];
  figures: { export: ExportOptions; components: Component[] };
  epochs: number;
  lrScale: number;
  stages: Stage[];
  mode: GradientMode;
  refine: Refinement;
  lm: { ftol: number; xtol: number; gtol: number; maxIterations: number };
  sigma?: number;
  starts: number;
  seed: number;
  maxFailures: number;
  /** with --refine lm: epochs without a relative improvement of `minImprovement` before Adam hands over (0: never) */
  patience: number;
  minImprovement: number;
  /** trials per Adam step (Infinity: all) */
  batch: number;
  threads: number;
  jobs: number;
}

/** A `stoopt simulate` sidecar (FILE.json) next to the teacher, if there is one. */
function readSidecar(file: string): { parameters: Record<string, number>; meta: Partial<SimulateSidecar> } | undefined {
  if (file === "-") return undefined;
  try {
    const meta = JSON.parse(fs.readFileSync(`${file}.json`, "utf8"));
    if (meta?.command !== "simulate" || typeof meta.parameters !== "object") return undefined;
    const parameters = Object.fromEntries(
      Object.entries(meta.parameters as Record<string, { value: number }>)
        .filter(([, v]) => typeof v?.value === "number")
        .map(([k, v]) => [k, v.value]),
    );
    return { parameters, meta };
  } catch {
    return undefined;
  }
}

/**
 * Fixed parameters and where each came from. A flag wins; else the teacher's
 * sidecar (the values the teacher was simulated with), noted when it differs
 * from the default; else the default. A flag that contradicts the sidecar is
 * warned about.
 */
export function provenance(
  base: Float64Array,
  paramFlags: Record<string, string>,
  fitted: Set<string>,
  sidecar: Record<string, number> | undefined,
  notes: string[],
  warnings: string[],
): { base: Float64Array; sources: Record<string, ParameterEntry> } {
  const out = Float64Array.from(base);
  const sources: Record<string, ParameterEntry> = {};
  for (const p of PARAMS) {
    const sc = sidecar?.[p.name];
    const flag = paramFlags[p.name] !== undefined;
    let source: ParameterEntry["source"];
    if (fitted.has(p.name)) source = "fit";
    else if (flag) {
      source = "flag";
      if (sc !== undefined && !close(sc, out[p.index]))
        warnings.push(`--${p.name} ${out[p.index]} differs from the teacher sidecar's ${p.name} = ${sc} ${p.unit}`.trimEnd() + " (the flag is used)");
    } else if (sc !== undefined && Number.isFinite(sc)) {
      source = "sidecar";
      if (!close(sc, p.defaultValue))
        notes.push(`${p.name} fixed at ${sc}${p.unit ? " " + p.unit : ""} from the teacher sidecar (default ${p.defaultValue}); give --${p.name} to override`);
      out[p.index] = sc;
    } else source = "default";
    sources[p.name] = { value: out[p.index], unit: p.unit, source, ...(sc !== undefined ? { sidecar: sc } : {}) };
  }
  return { base: out, sources };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));

/**
 * Fit the teacher files and write what the flags ask for (the outputs are
 * written inside the run's clean-stop scope, so that a signal during the
 * writing still reports the fit so far). Sets process.exitCode as before.
 */
export async function runSysid(s: SysidSettings): Promise<SysidRun> {
  const { files, names, params, figures, epochs, lrScale, stages, mode, starts, seed, maxFailures, sigma, threads, jobs } = s;
  const refineMethod = s.refine;
  const lmOpts = s.lm;
  const batchFlag = s.batch;
  const many = files.length > 1;
  const fitted = new Set(names);
  // ---- outputs, checked before the work (cli/io/output.ts); every teacher is an input
  for (const f of files) {
    if (f === "-") continue;
    declareInput(f, "teacher");
    declareInput(`${f}.json`, "teacher's settings sidecar");
  }
  for (const [flag, v] of [
    ["--out", s.out],
    ["--report", s.report],
    ["--history", s.history],
  ] as const)
    if (v !== undefined && v !== "-") checkOutput(v, flag);
  if (s.plot !== undefined) checkOutputDir(s.plot, "--plot");

  // SIGINT/SIGTERM (cli/signals.ts): stop at the current step, write the result so far marked interrupted, exit 130/143
  const release = stopsCleanly();
  const interrupted = () => stopRequested() !== undefined;
  const interruptCode = () => exitCodeFor(stopRequested() ?? "SIGINT");
  // measured data (README "Fitting measured data"): a signal column, fitted initial states, or a teacher without my/mz
  const measuredFlag = s.measuredFlag;
  const measuredFlags = measuredFlag !== undefined;
  if (many && measuredFlags) throw new UsageError(`--${measuredFlag}: measured data is fitted one teacher file at a time (several were given)`);
  let preloaded: LoadedTeacher | undefined;
  // the worker threads boot while the teacher is read (the measured path has workers of its own)
  if (threads > 1 && !measuredFlags) prewarmWorkers(threads - 1);
  if (!many) {
    const file = files[0];
    const signal = s.signal;
    const raw = await readTeacherData(
      file,
      settled(s.teacher),
      signal,
      params.map((p) => ({ spec: p.spec, range: p.range })),
    );
    const hasState = raw.data.hasMy && raw.data.hasMz && signal === undefined;
    if (measuredFlags || !hasState) {
      checkScopeTimeAxis(raw.data.trials, raw.dtS, raw.data.file, raw.data.timeName);
      const implicit = !hasState && signal === undefined && !s.m0Given;
      const why = implicit
        ? `the teacher has no full state: a student that starts from the teacher's state needs columns my and mz, so each window's initial state is fitted (--m0 fit)`
        : undefined;
      const notes: string[] = [];
      const warnings: string[] = [];
      const sidecar = readSidecar(file);
      const { base } = provenance(raw.base, settled(s.teacher).paramFlags, fitted, sidecar?.parameters, notes, warnings);
      for (const n of [...notes, ...warnings]) note(n);
      release(); // the measured path registers its own clean stop
      // the measured path's modules (window fits, their figures) load only when it runs
      const { runMeasured } = await import("./sysid-measured.js");
      const measured = await runMeasured({
        file,
        signal,
        measured: settled(s.measured),
        out: s.out,
        json: s.json,
        plot: s.plot,
        loaded: { ...raw, base },
        names,
        params,
        starts,
        seed,
        truth: sidecar?.parameters,
        t0: Date.now(),
        why,
        exportOpts: figures.export,
      });
      return { kind: "measured", result: measured };
    }
    preloaded = { ...raw, arrays: teacherArrays(raw.data) };
    checkTimeAxis({ file: raw.data.file, column: raw.data.timeColumn, trials: raw.data.trials }, raw.dtS, raw.washoutS);
    checkScopeTimeAxis(raw.data.trials, raw.dtS, raw.data.file, raw.data.timeName);
  }
  const totalEpochs = files.length * starts * stages.reduce((s, st) => s + (st.epochs ?? 0), 0);
  const bar = progress(Math.max(1, totalEpochs), "sysid");
  let done = 0;

  /** Fit one file; throws on bad input (the caller decides what that means). */
  const fitFile = async (file: string, workers: number, concurrent = false, pre?: LoadedTeacher): Promise<SysidResult> => {
    const t0 = Date.now();
    const loaded = pre
      ? { ...pre, threads: workers }
      : await loadTeacher(
          file,
          { ...settled(s.teacher), threads: workers },
          params.map((p) => ({ spec: p.spec, range: p.range })),
        );
    if (!pre) checkScopeTimeAxis(loaded.data.trials, loaded.dtS, loaded.data.file, loaded.data.timeName);
    const { data, arrays, dtS, washoutS } = loaded;
    const nTrials = arrays.labels.length;
    const batch = Math.min(batchFlag, nTrials);
    const notes: string[] = [];
    const warnings: string[] = [];
    const sidecar = readSidecar(file);
    const { base, sources } = provenance(loaded.base, settled(s.teacher).paramFlags, fitted, sidecar?.parameters, notes, warnings);
    if (sidecar && typeof sidecar.meta.temperature_K === "number" && sidecar.meta.temperature_K > 0 && sigma === undefined)
      notes.push(
        `the teacher sidecar says T = ${sidecar.meta.temperature_K} K: residuals include thermal noise, which is not independent from sample to sample`,
      );
    // files fitted side by side need their own worker threads (the main thread only coordinates); workers pass from one file to the next
    const ev = concurrent
      ? new PoolEvaluator(arrays, dtS, washoutS, Math.max(1, Math.min(workers, nTrials)), false)
      : makeEvaluator({ ...loaded, threads: workers });
    try {
      const out = await runFit(ev, nTrials, {
        base,
        params,
        stages,
        mode,
        batch,
        seed,
        maxFailures,
        patience: s.patience,
        minImprovement: s.minImprovement,
        starts,
        refine: refineMethod,
        lm: lmOpts,
        sigma,
        shouldStop: interrupted,
        onEpoch: () => bar.update(++done),
      });
      if (out.starts.length === 0) throw new UsageError("interrupted before the first epoch finished");
      const truth = sidecar?.parameters;
      for (const [k, v] of Object.entries(sources)) if (v.source === "fit") v.value = out.params.find((p) => p.name === k)!.value;
      return {
        stoopt: VERSION,
        command: "sysid",
        status: out.status,
        input: { file, sha256: data.sha256, trials: nTrials, samples: arrays.t_s.length, truncated: data.truncated },
        settings: {
          fit: names,
          dt_s: dtS,
          washout_s: washoutS,
          epochs,
          batch,
          gradient: mode,
          refine: refineMethod,
          ftol: lmOpts.ftol,
          xtol: lmOpts.xtol,
          gtol: lmOpts.gtol,
          max_iterations: lmOpts.maxIterations,
          sigma: sigma ?? null,
          starts,
          seed,
          lr_scale: lrScale,
          max_failures: maxFailures,
          patience: refineMethod === "lm" ? s.patience : 0,
          min_improvement: s.minImprovement,
          threads: workers,
          scale: settled(s.teacher).scale,
          stages,
          fixed: Object.fromEntries(PARAMS.filter((p) => !fitted.has(p.name)).map((p) => [p.name, { value: base[p.index], unit: p.unit }])),
        },
        objective: out.objective,
        fit: Object.fromEntries(
          out.params.map((p, i) => {
            const se = Number.isFinite(p.stderr) ? p.stderr : null;
            return [
              p.name,
              {
                value: p.value,
                unit: params[i].spec.unit,
                start: p.start,
                uncertainty: se,
                stderr: se,
                relative_error: se !== null && p.value !== 0 ? se / Math.abs(p.value) : null,
                uncertainty_statistical: Number.isFinite(p.statistical) ? p.statistical : null,
                uncertainty_numerical: p.numerical,
                range: p.range,
                at_bound: p.atBound,
                ...(truth && truth[p.name] !== undefined ? { true: truth[p.name] } : {}),
              },
            ];
          }),
        ),
        parameters: sources,
        loss: out.stats.lossEq4,
        sum_sq: out.stats.sumSq,
        statistics: {
          n_data: out.stats.nData,
          n_free: out.stats.nFree,
          dof: out.stats.dof,
          loss_eq4: out.stats.lossEq4,
          sum_sq: out.stats.sumSq,
          chi_square: out.stats.chiSquare,
          reduced_chi_square: finiteOrNull(out.stats.reducedChiSquare),
          aic: finiteOrNull(out.stats.aic),
          bic: finiteOrNull(out.stats.bic),
          sigma: finiteOrNull(out.stats.sigma),
          sigma_source: out.stats.sigmaSource,
        },
        covariance: out.covariance ? { names, matrix: out.covariance } : null,
        correlation: out.correlation ? { names, matrix: out.correlation } : null,
        convergence: {
          converged: out.convergence.converged,
          reason: out.convergence.reason,
          message: out.convergence.message,
          lm_iterations: out.convergence.lmIterations,
          lm_evaluations: out.convergence.lmEvaluations,
        },
        epochs: out.epochs,
        best_start: out.bestStart,
        time_s: (Date.now() - t0) / 1000,
        uncertainty_method: UNCERTAINTY_METHOD,
        warnings: [...warnings, ...out.warnings],
        notes,
        starts: out.starts,
        events: out.events,
        history: out.history,
      };
    } finally {
      await ev.close();
    }
  };

  try {
    const c = paint();
    if (!many) {
      // one file: bad input is a usage error (exit 2), as always
      const result = await fitFile(files[0], threads, false, preloaded);
      bar.stop();
      if (s.out) writeJson(s.out, result, "--out");
      if (s.history) writeFileAtomic(s.history, historyCsv(names, result.history), "--history");
      info("\n" + resultTable(result, c.bold, c.yellow));
      if (s.report !== undefined) writeReport(s.report, fitReport(result));
      if (s.json) process.stdout.write(toJson(result));
      if (s.plot !== undefined && result.status !== "interrupted") {
        const { plotSysid } = await import("./plot.js");
        const figs = await plotSysid(JSON.parse(toJson(result)), s.plot, { trial: 0, ...figures });
        info(`wrote ${figs.join(", ")}`);
      }
      if (result.status === "interrupted") {
        note(`${stopRequested() ?? "interrupted"}: the fit so far is reported, marked "interrupted"`);
        process.exitCode = interruptCode();
      } else if (result.status === "failed") process.exitCode = EXIT_RUNTIME;
      return { kind: "teacher", result };
    }
    // several files: each fitted on its own; a bad file is reported and the others go on
    const outcomes: FileOutcome[] = new Array(files.length);
    const perJob = Math.max(1, Math.floor(threads / Math.min(jobs, files.length)));
    let next = 0;
    const lines: string[] = [];
    const worker = async () => {
      while (next < files.length && !interrupted()) {
        const i = next++;
        try {
          const result = await fitFile(files[i], perJob, jobs > 1);
          outcomes[i] = {
            file: files[i],
            result,
            exitCode: result.status === "failed" ? EXIT_RUNTIME : result.status === "interrupted" ? interruptCode() : 0,
          };
        } catch (e) {
          const d = describe(e);
          outcomes[i] = { file: files[i], error: d.message, exitCode: d.exitCode || EXIT_RUNTIME };
        }
        if (s.json) process.stdout.write(jsonLine(outcomes[i]));
        lines.push(jsonLine(outcomes[i]));
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
    bar.stop();
    const got = outcomes.filter(Boolean);
    info("\n" + manyTable(names, got));
    for (const o of got) if (o.error) errorLine(`${o.file}: ${o.error}`);
    if (!s.json) process.stdout.write(manyCsv(names, got));
    if (s.out) writeFileAtomic(s.out, lines.join(""), "--out");
    if (s.report !== undefined) writeReport(s.report, manyReport(got));
    const failed = got.filter((o) => o.exitCode !== 0).length;
    info(`${got.length - failed} of ${files.length} files fitted${failed ? `, ${failed} failed` : ""}`);
    if (interrupted()) process.exitCode = interruptCode();
    else if (failed || got.length < files.length) process.exitCode = EXIT_RUNTIME;
    return { kind: "files", outcomes: got };
  } finally {
    bar.stop();
    release();
  }
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

function writeReport(target: string, text: string): void {
  if (target === "-") process.stdout.write(text);
  else writeFileAtomic(target, text, "--report");
}
