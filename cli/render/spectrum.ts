/** Rendering of `stoopt spectrum`'s results: summaries on stderr, the PSD and the sweep as CSV (figures: cli/render/figures/spectrum.ts). */
import { csv, num, table } from "./text.js";
import type { SweepAxis } from "../spectrum/sweep.js";
import type { SweepResult, TraceResult } from "../run/spectrum.js";

export const axisColumn = (a: SweepAxis) => (a.spec.unit ? `${a.spec.name}_${a.spec.unit.replace(/[^A-Za-z0-9]/g, "")}` : a.spec.name);

export const SWEEP_COLUMNS = [
  "oscillating",
  "settled",
  "washout_s",
  "f_Hz",
  "f_theory_Hz",
  "linewidth_Hz",
  "linewidth_err_Hz",
  "resolution_limited",
  "power",
  "f2_Hz",
  "harmonic2_dB",
  "mz",
  "mz_theory",
  "mx_rms",
  "threshold_theory_A",
];

export function sweepRows(r: SweepResult, axes: SweepAxis[]): Record<string, unknown>[] {
  return r.points.map((p) => ({
    ...Object.fromEntries(axes.map((a) => [axisColumn(a), p.values[a.spec.name]])),
    oscillating: p.oscillating ? 1 : 0,
    settled: p.settled ? 1 : 0,
    washout_s: p.washout_s,
    f_Hz: p.f_Hz,
    f_theory_Hz: p.theory.f_Hz,
    linewidth_Hz: p.linewidth_Hz,
    linewidth_err_Hz: p.linewidth_err_Hz,
    resolution_limited: p.oscillating ? (p.resolution_limited ? 1 : 0) : NaN,
    power: p.power,
    f2_Hz: p.f2_Hz,
    harmonic2_dB: p.harmonic2_dB,
    mz: p.mz,
    mz_theory: p.theory.mz,
    mx_rms: p.mx_rms,
    threshold_theory_A: p.theory.threshold_A,
  }));
}

export function traceSummary(r: TraceResult): string {
  const l = r.line;
  const head = `${r.file}: ${r.trials} trial(s), ${r.samples} samples every ${num(r.sample_s, 4)} s; Welch ${r.welch.window}, ${r.psd.segments} segments of ${r.psd.segment} (FFT ${r.psd.nfft}), bin ${num(r.psd.df_Hz / 1e6, 4)} MHz, resolution ${num(r.psd.resolution_Hz / 1e6, 4)} MHz`;
  if (!l) return `${head}\nno peak above DC in the selected range`;
  const width = l.resolution_limited
    ? `below the window's resolution: reported as the resolution ${num(l.linewidth_Hz / 1e6, 4)} MHz (an upper bound; a longer --segment resolves narrower lines)`
    : `${num(l.linewidth_Hz / 1e6, 4)} +- ${num(l.linewidth_err_Hz / 1e6, 2)} MHz (Lorentzian FWHM)`;
  const h2 = l.harmonic2 ? `second harmonic ${num(l.harmonic2.f_Hz / 1e9, 6)} GHz, ${num(l.harmonic2.ratio_dB, 3)} dB` : "second harmonic above Nyquist";
  const powerUnit = r.signal.unit ? ` ${r.signal.unit}^2` : "";
  return `${head}\npeak ${num(l.f_Hz / 1e9, 8)} GHz | linewidth ${width} | power ${num(l.power, 5)}${powerUnit} | ${h2}`;
}

export function sweepSummary(r: SweepResult, axes: SweepAxis[]): string {
  const fmt = (a: SweepAxis, v: number) => (a.spec.name === "j_DC" ? `${num(v * 1e3, 5)} mA` : `${num(v, 6)}${a.spec.unit ? " " + a.spec.unit : ""}`);
  const rows = r.points.map((p) => [
    ...axes.map((a) => fmt(a, p.values[a.spec.name])),
    p.oscillating ? num(p.f_Hz / 1e9, 6) : "no auto-oscillation",
    num(p.theory.f_Hz / 1e9, 6),
    p.oscillating && Number.isFinite(p.theory.f_Hz) ? `${num(100 * (p.f_Hz / p.theory.f_Hz - 1), 3)} %` : "",
    p.oscillating
      ? p.resolution_limited
        ? `<= ${num(p.linewidth_Hz / 1e6, 3)} (resolution)`
        : `${num(p.linewidth_Hz / 1e6, 4)} +- ${num(p.linewidth_err_Hz / 1e6, 2)}`
      : "",
    p.oscillating ? num(p.power, 4) : "",
    num(p.mz, 4),
    num(p.theory.mz, 4),
    p.settled ? "" : "NOT SETTLED",
  ]);
  let out = table([...axes.map((a) => a.spec.name), "f [GHz]", "theory [GHz]", "f/theory-1", "linewidth [MHz]", "power", "<m_z>", "theory", "settled"], rows);
  for (const t of r.thresholds) {
    const at = Object.entries(t.at)
      .map(([k, v]) => `${k} = ${num(v)}`)
      .join(", ");
    out += `threshold${at ? ` (${at})` : ""}: simulated ${num(t.simulated_A * 1e3, 5)} mA (zero of the growth rate), linear-stability formula ${num(t.formula_A * 1e3, 5)} mA, ${num(100 * t.relative_difference, 3)} %\n`;
  }
  const unsettled = r.points.filter((p) => !p.settled).length;
  if (unsettled)
    out += `${unsettled} point(s) had not settled at the longest washout: their values are a transient (near threshold the relaxation slows down; raise --max-washout)\n`;
  const limited = r.points.filter((p) => p.oscillating && p.resolution_limited).length;
  if (limited)
    out += `${limited} point(s): the line is narrower than the window's resolution, so the width shown is the resolution (noise-free lines have no width; with --temperature and a longer --duration the thermal linewidth is resolved)\n`;
  return out + `${r.points.length} points in ${r.time_s.toFixed(1)} s`;
}

/** The trace's one-sided PSD: f_Hz,psd. */
export function psdCsv(r: TraceResult): string {
  const lines = ["f_Hz,psd"];
  for (let k = 0; k < r.psd.psd.length; k++) lines.push(`${r.psd.f_Hz[k]},${r.psd.psd[k]}`);
  return lines.join("\n") + "\n";
}

/** One row per point: the swept values, then SWEEP_COLUMNS. */
export function sweepCsv(r: SweepResult, axes: SweepAxis[]): string {
  return csv([...axes.map(axisColumn), ...SWEEP_COLUMNS], sweepRows(r, axes));
}
