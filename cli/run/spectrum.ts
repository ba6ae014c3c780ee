/**
 * The work of `stoopt spectrum`, as functions of typed settings returning
 * typed results: the spectrum of a trace file, and sweeps over parameters.
 */
import { UsageError } from "../errors.js";
import type { TeacherData } from "../io/teacher-csv.js";
import { checkWelch, defaultSegment, MIN_SEGMENT, LineSummary, Psd, summarize, welch, WelchSettings, WindowName } from "../spectrum/psd.js";
import { GROWTH_FACTORS, PointResult, PointSettings, SweepAxis, sweepPoints, thresholdFromGrowth } from "../spectrum/sweep.js";
import { SpectrumPool } from "../spectrum/pool.js";
import { Interrupted } from "../errors.js";
import { progress } from "../log.js";
import { stopsCleanly } from "../signals.js";
import { PARAMS } from "../model.js";
import { theory } from "../oscillator.js";
import { paramByName } from "../model.js";
import { readTeacher } from "../io/teacher-csv.js";
import { info, note } from "../log.js";
import { toJson } from "../render/text.js";
import { psdCsv, sweepCsv, sweepSummary, traceSummary } from "../render/spectrum.js";
import { checkOutput, checkOutputDir, declareInput, ensureDir, sinkFor, writeFileAtomic } from "../io/output.js";
import { writeFigures } from "../render/figures/export.js";
import { psdFigure, sweepFigures } from "../render/figures/spectrum.js";
import { segmentFlag, SpectrumOutputs, SweepRunSettings, TraceRunSettings } from "../options/spectrum.js";

// ---------------------------------------------------------------- trace

export interface TraceSettings {
  window: WindowName;
  /** samples per segment; default `defaultSegment` of the shortest trial */
  segment?: number;
  overlap: number;
  fMinHz: number;
  fMaxHz: number;
}

export interface TraceResult {
  file: string;
  /** the column analysed (mx, or the --signal column) and its unit ("" for m_x) */
  signal: { name: string; unit: string };
  trials: number;
  samples: number;
  sample_s: number;
  welch: WelchSettings;
  psd: Psd;
  line?: LineSummary;
}

/** Relative tolerance on sample intervals for "uniformly sampled". */
export const UNIFORM_TOLERANCE = 1e-6;

/** The common sample interval of every trial, or a usage error naming the file, trial and time. */
export function sampleInterval(d: TeacherData): number {
  const first = d.trials[0];
  if (!first || first.t_s.length < 2) throw new UsageError(`${d.file}: a trace needs at least two samples`);
  const dt0 = first.t_s[1] - first.t_s[0];
  for (const tr of d.trials) {
    if (tr.t_s.length < 2) throw new UsageError(`${d.file}:${tr.line}: trial ${tr.label} has fewer than two samples`);
    for (let k = 1; k < tr.t_s.length; k++) {
      const dt = tr.t_s[k] - tr.t_s[k - 1];
      if (Math.abs(dt - dt0) > UNIFORM_TOLERANCE * dt0) {
        throw new UsageError(
          `${d.file}: non-uniform sampling in trial ${tr.label} (row ${k + 1} of the trial, t = ${tr.t_s[k]} s): interval ${Number(dt.toPrecision(6))} s, the first is ${Number(dt0.toPrecision(6))} s; a spectrum needs evenly spaced samples`,
        );
      }
    }
  }
  return dt0;
}

/** Settings checked against the data (before the work). */
export function traceWelch(d: TeacherData, s: TraceSettings): WelchSettings {
  const shortest = Math.min(...d.trials.map((t) => t.mx.length));
  if (s.segment === undefined && shortest < MIN_SEGMENT)
    throw new UsageError(`${d.file}: the trace has ${shortest} samples, shorter than one segment (at least ${MIN_SEGMENT} samples)`);
  const w: WelchSettings = { window: s.window, segment: s.segment ?? defaultSegment(shortest), overlap: s.overlap };
  checkWelch(
    d.trials.map((t) => t.mx),
    w,
    d.file,
  );
  return w;
}

export function analyseTrace(d: TeacherData, s: TraceSettings): TraceResult {
  const dt = sampleInterval(d);
  const w = traceWelch(d, s);
  const traces = d.trials.map((t) => t.mx);
  const psd = welch(traces, dt, w);
  const line = summarize(psd, traces, w, s.fMinHz, s.fMaxHz);
  return {
    file: d.file,
    signal: { name: d.signalName, unit: d.signalUnit },
    trials: d.trials.length,
    samples: traces.reduce((a, t) => a + t.length, 0),
    sample_s: dt,
    welch: w,
    psd,
    line,
  };
}

// ---------------------------------------------------------------- sweep

export interface SweepSettings {
  base: Float64Array;
  axes: SweepAxis[];
  point: PointSettings;
  /** measure the simulated threshold by growth rates when j_DC is swept */
  threshold: boolean;
  growthS: number;
}

export interface ThresholdCheck {
  /** the other swept parameters' values of this group */
  at: Record<string, number>;
  formula_A: number;
  simulated_A: number;
  relative_difference: number;
  currents_A: number[];
  growth_rates_per_s: number[];
}

export interface SweepResult {
  points: PointResult[];
  thresholds: ThresholdCheck[];
  time_s: number;
}

/** Run every point (and the threshold check) on the pool; `onPoint` after each. */
export async function runSweep(s: SweepSettings, pool: SpectrumPool, onPoint: (done: number, total: number) => void = () => undefined): Promise<SweepResult> {
  const t0 = Date.now();
  const pts = sweepPoints(s.base, s.axes);
  let done = 0;
  const jobs = pts.map((p, index) =>
    pool.run({ kind: "point", params: Array.from(p.params), settings: s.point, index, values: p.values }).then((r) => {
      onPoint(++done, pts.length);
      return r;
    }),
  );
  const thresholdJobs: Promise<ThresholdCheck>[] = [];
  const jAxis = s.axes.find((a) => a.spec.name === "j_DC");
  if (s.threshold && jAxis) {
    const others = s.axes.filter((a) => a !== jAxis);
    const groups = sweepPoints(s.base, others.length ? others : []);
    const jIndex = paramByName("j_DC", "").index;
    for (const g of groups) {
      const formula = theory(g.params).threshold_A;
      if (!Number.isFinite(formula)) continue;
      const currents = GROWTH_FACTORS.map((f) => f * formula);
      const rates = currents.map((j) => {
        const p = Float64Array.from(g.params);
        p[jIndex] = j;
        return pool.run({ kind: "growth", params: Array.from(p), dtS: s.point.dtS, durationS: s.growthS });
      });
      thresholdJobs.push(
        Promise.all(rates).then((r) => {
          const sim = thresholdFromGrowth(currents, r);
          return { at: g.values, formula_A: formula, simulated_A: sim, relative_difference: sim / formula - 1, currents_A: currents, growth_rates_per_s: r };
        }),
      );
    }
  }
  // both awaited together: a failure (or a signal) in one leaves no unhandled rejection in the other
  const [points, thresholds] = await Promise.all([Promise.all(jobs), Promise.all(thresholdJobs)]);
  return { points, thresholds, time_s: (Date.now() - t0) / 1000 };
}

/** `stoopt spectrum --sweep`: every point on `threads` worker threads, with a progress bar; a signal stops it and nothing is returned. */
export async function runSpectrumSweep(settings: SweepSettings, threads: number): Promise<SweepResult> {
  const total = settings.axes.reduce((n, a) => n * a.values.length, 1);
  const bar = progress(total, "spectrum");
  const pool = new SpectrumPool(Math.min(threads, total));
  let done = 0;
  const release = stopsCleanly();
  try {
    return await runSweep(settings, pool, (d) => bar.update((done = d)));
  } catch (e) {
    // a partial sweep is not a result: nothing is written (earlier files stay as they were)
    if (e instanceof Interrupted)
      throw new Interrupted(e.signal, `interrupted by ${e.signal}: the sweep was not finished (${done} of ${total} points); nothing was written`);
    throw e;
  } finally {
    release();
    bar.stop();
    await pool.close();
  }
}

/** What `spectrum TRACE --json` prints: the trace's result without the PSD's bins (those are the CSV). */
export type TraceJson = { command: "spectrum" } & Omit<TraceResult, "psd"> & {
    psd: Omit<Psd, "f_Hz" | "psd"> & { f_Hz?: undefined; psd?: undefined; bins: number };
  };

/** What `spectrum --sweep --json` prints. */
export interface SweepJson {
  command: "spectrum";
  settings: Omit<PointSettings, "seed"> & {
    seed: string;
    axes: { name: string; unit: string; values: number[] }[];
    fixed: Record<string, { value: number; unit: string }>;
  };
  points: PointResult[];
  thresholds: ThresholdCheck[];
  time_s: number;
}

export function traceJson(r: TraceResult): TraceJson {
  const { psd, ...rest } = r;
  return { command: "spectrum", ...rest, psd: { ...psd, f_Hz: undefined, psd: undefined, bins: psd.psd.length } };
}

export function sweepJson(r: SweepResult, s: SweepSettings): SweepJson {
  const names = s.axes.map((a) => a.spec.name);
  return {
    command: "spectrum",
    settings: {
      ...s.point,
      seed: s.point.seed.toString(),
      axes: s.axes.map((a) => ({ name: a.spec.name, unit: a.spec.unit, values: a.values })),
      fixed: Object.fromEntries(PARAMS.filter((p) => !names.includes(p.name)).map((p) => [p.name, { value: s.base[p.index], unit: p.unit }])),
    },
    points: r.points,
    thresholds: r.thresholds,
    time_s: r.time_s,
  };
}

// ---------------------------------------------------------------- the command

/** `stoopt spectrum` with its settings (cli/options/spectrum.ts): outputs checked, then the trace's spectrum or the sweeps, rendered and written. */
export async function runSpectrum(s: TraceRunSettings | SweepRunSettings): Promise<TraceResult | SweepResult> {
  const o = s.outputs;
  // the input, then every output, before any work (cli/io/output.ts): an output over the trace is refused
  if (s.kind === "trace") declareInput(s.file, "trace");
  if (o.output !== undefined && o.output !== "-") checkOutput(o.output, "--output");
  if (o.plot !== undefined) checkOutputDir(o.plot, "--plot");
  if (s.kind === "trace") {
    const data = await readTeacher(s.file, { delimiter: s.delimiter, maxTrials: s.maxTrials, scale: s.scale, signal: s.signal });
    const dt = sampleInterval(data);
    const settings: TraceSettings = { window: s.window, segment: segmentFlag(s.segment, dt), overlap: s.overlap, fMinHz: s.fMinHz, fMaxHz: s.fMaxHz };
    traceWelch(data, settings);
    for (const n of s.notes) note(n);
    const r = analyseTrace(data, settings);
    info(traceSummary(r));
    await emit(o, psdCsv(r), toJson(traceJson(r)));
    if (o.plot !== undefined) {
      ensureDir(o.plot, "--plot");
      info(`wrote ${(await writeFigures(o.plot, [psdFigure(r)], o.export, "--plot")).join(", ")}`);
    }
    return r;
  }
  const { sweep, threads } = s;
  for (const n of s.notes) note(n);
  if (sweep.point.temperatureK === 0 && sweep.point.trials > 1) note("--trials without --temperature: noise-free trials are identical");
  const total = sweep.axes.reduce((n, a) => n * a.values.length, 1);
  note(`${total} point${total > 1 ? "s" : ""} on ${Math.min(threads, total)} thread${Math.min(threads, total) > 1 ? "s" : ""}: working`);
  const r = await runSpectrumSweep(sweep, threads);
  info(sweepSummary(r, sweep.axes));
  await emit(o, sweepCsv(r, sweep.axes), toJson(sweepJson(r, sweep)));
  if (o.plot !== undefined) {
    ensureDir(o.plot, "--plot");
    info(`wrote ${(await writeFigures(o.plot, sweepFigures(r, sweep.axes), o.export, "--plot")).join(", ")}`);
  }
  return r;
}

/** The CSV to -o FILE if given; stdout gets the JSON with --json, else the CSV (unless it went to a file). */
async function emit(o: SpectrumOutputs, csvText: string, jsonText: string): Promise<void> {
  const file = o.output;
  if (file !== undefined && file !== "-") writeFileAtomic(file, csvText, "--output");
  if (o.json) process.stdout.write(jsonText);
  else if (file === undefined || file === "-") {
    const out = sinkFor("-", "--output");
    await out.write(csvText);
    await out.commit();
  }
}
