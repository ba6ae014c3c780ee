/**
 * `stoopt sysid` on measured data (README "Fitting measured data"): the
 * flags, checks and rendering of the windowed fit in cli/fit/measured.ts. Called
 * by the sysid command when the initial states are fitted (`--m0 fit`, a
 * `--signal` column, or a teacher without my/mz).
 */
import { VERSION } from "../version.js";
import { levelFromFlag, MeasuredSettings } from "../options/measured.js";
import { UsageError } from "../errors.js";
import { exitCodeFor, stopRequested, stopsCleanly } from "../signals.js";
import { FitParam } from "../fit/sysid.js";
import { PARAMS } from "../model.js";
import { comparedSamples, cutWindows, fitMeasured, MeasuredResult, Trace, UncertaintyMethod } from "../fit/measured.js";
import { CoreWindows, makeWindowEvaluator } from "../fit/windows.js";
import { info, note, paint } from "../log.js";
import { toJson, writeJson } from "../render/text.js";
import { measuredTable } from "../render/sysid.js";
import { DEFAULT_EXPORT, ExportOptions, writeFigures } from "../render/figures/export.js";
import { windowFigure } from "../render/figures/measured.js";
import type { readTeacherData } from "./teacher.js";

type Loaded = Awaited<ReturnType<typeof readTeacherData>>;

/** The fewest windows for which `--uncertainty auto` bootstraps. */
export const MIN_BOOTSTRAP_WINDOWS = 10;

export interface MeasuredContext {
  file: string;
  /** --signal: the measured column in place of mx */
  signal?: string;
  /** the measured-data flags, checked (cli/options/measured.ts) */
  measured: MeasuredSettings;
  /** -o FILE: the result as JSON */
  out?: string;
  /** --json: the result on stdout */
  json: boolean;
  /** --plot DIR: the window figures */
  plot?: string;
  loaded: Loaded;
  names: string[];
  params: FitParam[];
  starts: number;
  seed: number;
  truth?: Record<string, number>;
  t0: number;
  /** --size, --format, --dpi of the --plot figures */
  exportOpts?: ExportOptions;
  /** why this path was taken when the user did not ask for it (added to input errors, noted before the work) */
  why?: string;
}

/** A signal level in the result: its value, whether it was fitted, and its 1 sigma when fitted. */
export interface SignalLevel {
  value: number;
  unit: string;
  fitted: boolean;
  uncertainty: number | null;
}

/** The result of `stoopt sysid` on measured data: what `-o` and `--json` write; `stoopt plot` reads it as a SysidPlotInput (cli/run/sysid.ts). */
export interface MeasuredSysidResult {
  stoopt: string;
  command: "sysid";
  status: "ok" | "interrupted";
  input: {
    file: string;
    sha256: string;
    trials: number;
    samples: number;
    truncated: boolean;
    signal: { column: string; unit: string };
    time_column: string;
  };
  settings: {
    fit: string[];
    dt_s: number;
    washout_s: number;
    m0: "teacher" | "fit";
    window_s: number | null;
    stride_s: number | null;
    offset: number | "fit";
    amplitude: number | "fit";
    starts: number;
    scan: number | null;
    seed: number;
    uncertainty: UncertaintyMethod;
    bootstrap: number | null;
    threads: number;
    optimizer: string;
    fixed: Record<string, { value: number; unit: string }>;
  };
  fit: Record<
    string,
    { value: number; unit: string; start: number; uncertainty: number | null; uncertainty_gauss_newton: number | null; range: [number, number]; true?: number }
  >;
  offset: SignalLevel;
  amplitude: SignalLevel;
  loss: number;
  rms_residual: { value: number; unit: string };
  windows: { count: number; used: number; window_s: number | null; stride_s: number | null; compared_samples: number; unknowns: number };
  uncertainty_method: string;
  bootstrap: MeasuredResult["bootstrap"] | null;
  time_s: number;
  starts: MeasuredResult["runs"];
  scanned: MeasuredResult["scanned"];
  events: never[];
  history: never[];
}

/** The windowed fit of one measured trace: its result (also written and printed as the settings ask). */
export async function runMeasured(c: MeasuredContext): Promise<MeasuredSysidResult> {
  try {
    return await checkedRun(c);
  } catch (e) {
    if (c.why && e instanceof UsageError) throw new UsageError(`${e.message} (${c.why})`);
    throw e;
  }
}

async function checkedRun(c: MeasuredContext): Promise<MeasuredSysidResult> {
  const { loaded, params, file, signal, measured: m } = c;
  const { data, base, dtS, threads } = loaded;
  const notes: string[] = [];
  const unit = data.signalUnit;
  const m0Mode = m.m0 ?? "fit";
  const fitM0 = m0Mode === "fit";
  const hasState = data.hasMy && data.hasMz && signal === undefined;
  if (!fitM0 && !hasState) throw new UsageError(`--m0 teacher: ${data.file} has no full state (my, mz) for the initial states; use --m0 fit`);
  const offset = levelFromFlag(m.offset, "--offset", unit, signal !== undefined ? undefined : 0, notes);
  const amplitude = levelFromFlag(m.amplitude, "--amplitude", unit, signal !== undefined ? undefined : 1, notes);
  if (!fitM0 && (offset === undefined || amplitude === undefined)) throw new UsageError("--offset/--amplitude fit: needs fitted initial states (--m0 fit)");
  const { windowS, strideS, scan } = m;
  notes.push(...m.notes);
  // washout: with fitted initial states the comparison starts at each window's first sample unless given
  const washoutS = fitM0 && !m.washoutGiven ? 0 : loaded.washoutS;
  const requested = m.uncertainty;
  const nBoot = m.bootstrap;
  if (washoutS >= windowS) throw new UsageError(`--washout: ${washoutS} s is not shorter than --window ${windowS} s: nothing would be compared`);
  const traces: Trace[] = data.trials.map((tr) => ({
    label: tr.label,
    t_s: tr.t_s,
    y: tr.mx,
    m: hasState ? Float64Array.from({ length: 3 * tr.t_s.length }, (_, k) => [tr.mx, tr.my!, tr.mz!][k % 3][Math.floor(k / 3)]) : undefined,
    line: tr.line,
  }));
  const windows = fitM0
    ? cutWindows(traces, windowS, strideS, data.file)
    : cutWindows(
        traces.map((t) => ({ ...t })),
        Math.min(windowS, ...traces.map((t) => t.t_s[t.t_s.length - 1] - t.t_s[0])),
        Infinity,
        data.file,
      );
  const nWin = windows.offsets.length - 1;
  const unknowns = params.length + (offset === undefined ? 1 : 0) + (amplitude === undefined ? 1 : 0) + (fitM0 ? 2 * nWin : 0);
  const compared = comparedSamples(windows, washoutS, dtS, fitM0);
  if (compared < unknowns) {
    throw new UsageError(
      `${data.file}: ${compared} samples are compared (${nWin} windows of ${windowS * 1e9} ns after a washout of ${washoutS * 1e9} ns each), fewer than the ${unknowns} fitted unknowns (${params.length} parameters${offset === undefined ? ", offset" : ""}${amplitude === undefined ? ", amplitude" : ""}${fitM0 ? `, 2 per window's initial state` : ""}); use a longer trace, a longer --window or a shorter --washout`,
    );
  }
  // a measurement has thermal noise, whose residuals are correlated within a window: the error bar that
  // holds there is the bootstrap over windows (README "Fitting measured data"); it needs enough windows
  const uncertainty: UncertaintyMethod = requested === "auto" ? (nWin >= MIN_BOOTSTRAP_WINDOWS ? "bootstrap" : "gauss-newton") : requested;
  if (requested === "auto" && uncertainty === "gauss-newton") {
    notes.push(
      `warning: ${nWin} window(s) are too few for a bootstrap (at least ${MIN_BOOTSTRAP_WINDOWS}); the uncertainty is Gauss-Newton's, which is too small on thermal data (a shorter --window gives more windows)`,
    );
  }
  if (uncertainty === "bootstrap" && nWin < 2)
    throw new UsageError(`--uncertainty bootstrap: resamples windows, and there is only ${nWin}; use a shorter --window`);
  for (const n of notes) note(n);
  if (c.why) note(c.why);
  const ev = makeWindowEvaluator(windows, dtS, washoutS, threads);
  // SIGINT/SIGTERM (cli/signals.ts): stop after the current evaluation, write the result so far marked interrupted, exit 130/143
  const release = stopsCleanly();
  const interrupted = () => stopRequested() !== undefined;
  try {
    const r = await fitMeasured(ev, {
      spec: { base, params, fitM0, fitOffset: offset === undefined, fitAmplitude: amplitude === undefined },
      windows,
      known: { offset, amplitude },
      dtS,
      starts: c.starts,
      scan,
      seed: c.seed,
      matchS: 0.3e-9,
      uncertainty,
      bootstrap: nBoot,
      shouldStop: interrupted,
      onProgress: (m) => note(m),
    });
    const P = params.length;
    const method =
      uncertainty === "bootstrap"
        ? `bootstrap over windows: ${r.bootstrap?.replicates ?? 0} resamples of the ${nWin} windows with replacement (seed ${c.seed}), each refitted by Levenberg-Marquardt from the optimum (parameters, offset, amplitude, initial states); 1 sigma = standard deviation of the refits`
        : `Gauss-Newton: sigma^2 (J^T J)^-1 over all fitted unknowns (parameters, offset, amplitude, initial states), J from forward-mode sensitivities, sigma^2 = sum r^2 / (samples - unknowns); 1 sigma; treats residuals as independent (too small on thermal data: use --uncertainty bootstrap)`;
    const unitName = unit || (signal === undefined ? "1 (m_x)" : "signal unit");
    const status = interrupted() ? "interrupted" : "ok";
    const level = (v: number, s: number, fitted: boolean) => ({ value: v, unit: unitName, fitted, uncertainty: fitted && Number.isFinite(s) ? s : null });
    const result: MeasuredSysidResult = {
      stoopt: VERSION,
      command: "sysid",
      status,
      input: {
        file,
        sha256: data.sha256,
        trials: data.trials.length,
        samples: windows.t_s.length,
        truncated: data.truncated,
        signal: { column: data.signalName, unit: unitName },
        time_column: data.timeName,
      },
      settings: {
        fit: c.names,
        dt_s: dtS,
        washout_s: washoutS,
        m0: m0Mode,
        window_s: fitM0 ? windowS : null,
        stride_s: fitM0 ? strideS : null,
        offset: offset ?? "fit",
        amplitude: amplitude ?? "fit",
        starts: c.starts,
        scan: fitM0 ? scan : null,
        seed: c.seed,
        uncertainty,
        bootstrap: uncertainty === "bootstrap" ? nBoot : null,
        threads,
        optimizer: "levenberg-marquardt (sum of squared residuals in the signal's unit)",
        fixed: Object.fromEntries(PARAMS.filter((p) => !c.names.includes(p.name)).map((p) => [p.name, { value: base[p.index], unit: p.unit }])),
      },
      fit: Object.fromEntries(
        params.map((p, i) => [
          p.spec.name,
          {
            value: r.values[i],
            unit: p.spec.unit,
            start: r.runs[r.best]?.startValues[i] ?? p.start,
            uncertainty: Number.isFinite(r.sigma[i]) ? r.sigma[i] : null,
            uncertainty_gauss_newton: Number.isFinite(r.gaussNewtonSigma[i]) ? r.gaussNewtonSigma[i] : null,
            range: p.range,
            ...(c.truth ? { true: c.truth[p.spec.name] } : {}),
          },
        ]),
      ),
      offset: level(r.affine.offset, r.sigma[P], offset === undefined),
      amplitude: level(r.affine.amplitude, r.sigma[P + 1], amplitude === undefined),
      loss: r.loss,
      rms_residual: { value: r.rms, unit: unitName },
      windows: { count: nWin, used: nWin, window_s: fitM0 ? windowS : null, stride_s: fitM0 ? strideS : null, compared_samples: r.count, unknowns: r.unknowns },
      uncertainty_method: method,
      bootstrap: r.bootstrap ?? null,
      time_s: (Date.now() - c.t0) / 1000,
      starts: r.runs,
      scanned: r.scanned,
      events: [],
      history: [],
    };
    if (c.out) writeJson(c.out, result, "--out");
    const p = paint();
    info(
      "\n" +
        measuredTable(
          {
            params,
            starts: params.map((q) => result.fit[q.spec.name].start),
            values: r.values,
            sigma: r.sigma,
            offset: { value: r.affine.offset, fitted: offset === undefined },
            amplitude: { value: r.affine.amplitude, fitted: amplitude === undefined },
            unit: unitName,
            truth: c.truth,
            loss: r.loss,
            rms: r.rms,
            windows: nWin,
            samples: r.count,
            unknowns: r.unknowns,
            uncertainty,
            seconds: (Date.now() - c.t0) / 1000,
            status,
          },
          p.bold,
          p.yellow,
        ),
    );
    if (c.json) process.stdout.write(toJson(result));
    if (c.plot !== undefined) {
      const files = await plotWindows(c.plot, c.exportOpts ?? DEFAULT_EXPORT, windows, {
        dtS,
        washoutS,
        base,
        params,
        values: r.values,
        m0: r.m0,
        fitM0,
        affine: r.affine,
        unit: unitName,
        column: data.signalName,
      });
      info(`wrote ${files.join(", ")}`);
    }
    if (status === "interrupted") process.exitCode = exitCodeFor(stopRequested() ?? "SIGINT");
    return result;
  } finally {
    release();
    await ev.close();
  }
}

/** Measured signal and fitted model, in the signal's unit, for the first few windows (one figure each, data as CSV beside it). */
async function plotWindows(
  dir: string,
  exportOpts: ExportOptions,
  w: ReturnType<typeof cutWindows>,
  s: {
    dtS: number;
    washoutS: number;
    base: Float64Array;
    params: FitParam[];
    values: number[];
    m0: Float64Array;
    fitM0: boolean;
    affine: { offset: number; amplitude: number };
    unit: string;
    column: string;
  },
): Promise<string[]> {
  const ev = new CoreWindows(w, s.dtS, s.washoutS);
  const n = Math.min(4, w.offsets.length - 1);
  const v = Float64Array.from(s.base);
  s.params.forEach((p, i) => (v[p.spec.index] = s.values[i]));
  const student = new Float64Array(3 * w.t_s.length);
  const sel = Array.from({ length: n }, (_, i) => i);
  ev.evaluateSync(
    {
      params: v,
      fit: [],
      mode: "loss",
      m0: s.m0,
      chart: s.fitM0 ? new Float64Array(2 * ev.nWindows) : null,
      offset: s.affine.offset,
      amplitude: s.affine.amplitude,
      sel,
    },
    student,
  );
  await ev.close();
  const figures = Array.from({ length: n }, (_, i) => windowFigure(w, i, student, s.affine, s.column, s.unit));
  return writeFigures(dir, figures, exportOpts, "--plot");
}
