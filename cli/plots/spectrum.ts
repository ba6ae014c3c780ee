/** Figures of `stoopt spectrum`: the PSD with its fitted Lorentzian, and sweep results against the swept parameter. */
import { lineFigure, Series } from "./figures.js";
import type { Spec } from "./render.js";
import type { TraceResult, SweepResult } from "../spectrum-run.js";
import type { SweepAxis } from "../sweep.js";

/** PSD on a log scale with the fitted Lorentzian, around the peak (or the whole range without one). */
export function psdFigure(r: TraceResult): Spec {
  const { psd, line } = r;
  const lor = line?.lorentzian;
  const span = line ? Math.max(40 * psd.resolution_Hz, lor ? 30 * lor.fwhm_Hz : 0) : Infinity;
  const pts: [number, number][] = [];
  const fit: [number, number][] = [];
  for (let k = 1; k < psd.psd.length; k++) {
    const f = psd.f_Hz[k];
    if (line && Math.abs(f - line.f_Hz) > span) continue;
    if (psd.psd[k] > 0) pts.push([f / 1e9, psd.psd[k]]);
    if (lor) fit.push([f / 1e9, lor.amplitude / (1 + ((f - lor.f0_Hz) / (lor.fwhm_Hz / 2)) ** 2) + lor.background]);
  }
  const series: Series[] = [{ name: "Welch PSD", points: pts }];
  if (lor) series.push({ name: `Lorentzian fit (FWHM ${(lor.fwhm_Hz / 1e6).toPrecision(3)} MHz${line?.resolution_limited ? ", below resolution" : ""})`, points: fit.filter(([, y]) => y > 0), dashed: true });
  return lineFigure({ title: `Power spectral density (${r.welch.window} window, ${psd.segments} segments of ${psd.segment})`, xTitle: "frequency [GHz]", yTitle: "PSD [signal^2/Hz]", series, logY: true });
}

const unitLabel = (a: SweepAxis) => (a.spec.name === "j_DC" ? "mA" : a.spec.unit);
const axisValue = (a: SweepAxis, v: number) => (a.spec.name === "j_DC" ? v * 1e3 : v);

/** f (simulated and theory), linewidth, power and <m_z> against the first swept parameter; one series per value of the second. */
export function sweepFigures(r: SweepResult, axes: SweepAxis[]): [string, Spec][] {
  const x = axes[0];
  const second = axes[1];
  const xTitle = `${x.spec.name}${unitLabel(x) ? ` [${unitLabel(x)}]` : ""}`;
  const groups = second ? second.values.map((v) => ({ label: `${second.spec.name} = ${axisValue(second, v).toPrecision(4)} ${unitLabel(second)}`.trim(), pts: r.points.filter((p) => p.values[second.spec.name] === v) })) : [{ label: "", pts: r.points }];
  const mk = (name: string, get: (p: (typeof r.points)[number]) => number, onlyOsc = true) =>
    groups.map((g) => ({ name: [name, g.label].filter(Boolean).join(", "), points: g.pts.filter((p) => !onlyOsc || p.oscillating).map((p) => [axisValue(x, p.values[x.spec.name]), get(p)] as [number, number]) }));
  const theorySeries = (name: string, get: (p: (typeof r.points)[number]) => number) => mk(name, get, false).map((s) => ({ ...s, dashed: true }));
  return [
    ["frequency.svg", lineFigure({ title: "Oscillation frequency", xTitle, yTitle: "f [GHz]", series: [...mk("simulated", (p) => p.f_Hz / 1e9), ...theorySeries("orbit-averaged theory", (p) => p.theory.f_Hz / 1e9)] })],
    ["linewidth.svg", lineFigure({ title: "Linewidth (FWHM; resolution-limited points at the window's resolution)", xTitle, yTitle: "linewidth [MHz]", series: mk("FWHM", (p) => p.linewidth_Hz / 1e6) })],
    ["power.svg", lineFigure({ title: "Integrated power of the peak", xTitle, yTitle: "power [signal^2]", series: mk("peak power", (p) => p.power) })],
    ["mz.svg", lineFigure({ title: "Mean m_z over the window", xTitle, yTitle: "<m_z> [1]", series: [...mk("simulated", (p) => p.mz, false), ...theorySeries("orbit-averaged theory", (p) => p.theory.mz)] })],
  ];
}
