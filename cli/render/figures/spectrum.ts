/** Figures of `stoopt spectrum`: the PSD with its fitted Lorentzian, and sweep results against the swept parameter. */
import { lineFigure, Series } from "./figures.js";
import type { Figure } from "./export.js";
import type { TraceResult, SweepResult } from "../../run/spectrum.js";
import type { SweepAxis } from "../../spectrum/sweep.js";

/** PSD on a log scale with the fitted Lorentzian, around the peak (or the whole range without one). */
export function psdFigure(r: TraceResult): Figure {
  const { psd, line } = r;
  const lor = line?.lorentzian;
  const span = line ? Math.max(40 * psd.resolution_Hz, lor ? 30 * lor.fwhm_Hz : 0) : Infinity;
  const pts: [number, number][] = [];
  const fit: [number, number][] = [];
  for (let k = 1; k < psd.psd.length; k++) {
    const f = psd.f_Hz[k];
    if (line && Math.abs(f - line.f_Hz) > span) continue;
    if (psd.psd[k] > 0) pts.push([f, psd.psd[k]]);
    if (lor) fit.push([f, lor.amplitude / (1 + ((f - lor.f0_Hz) / (lor.fwhm_Hz / 2)) ** 2) + lor.background]);
  }
  const series: Series[] = [{ name: "Welch PSD", points: pts }];
  if (lor) series.push({ name: `Lorentzian, FWHM ${(lor.fwhm_Hz / 1e6).toPrecision(3)} MHz`, points: fit.filter(([, y]) => y > 0), dashed: true });
  return lineFigure({
    name: "psd",
    title: `PSD (${r.welch.window}, ${psd.segments} x ${psd.segment})`,
    x: { name: "f", unit: "Hz" },
    y: { name: `PSD of ${r.signal.name}`, unit: r.signal.unit ? `${r.signal.unit}^2/Hz` : "1/Hz" },
    series,
    logY: true,
  });
}

/** f (simulated and theory), linewidth, power and <m_z> against the first swept parameter; one series per value of the second. */
export function sweepFigures(r: SweepResult, axes: SweepAxis[]): Figure[] {
  const x = axes[0];
  const second = axes[1];
  const xq = { name: x.spec.name, unit: x.spec.unit };
  const groups = second
    ? second.values.map((v) => ({
        label: `${second.spec.name} = ${Number(v.toPrecision(6))}${second.spec.unit ? " " + second.spec.unit : ""}`,
        pts: r.points.filter((p) => p.values[second.spec.name] === v),
      }))
    : [{ label: "", pts: r.points }];
  type P = (typeof r.points)[number];
  const mk = (name: string, get: (p: P) => number, onlyOsc = true): Series[] =>
    groups.map((g) => ({
      name: [name, g.label].filter(Boolean).join(", "),
      points: g.pts.filter((p) => !onlyOsc || p.oscillating).map((p) => [p.values[x.spec.name], get(p)] as [number, number]),
    }));
  const theory = (name: string, get: (p: P) => number) => mk(name, get, false).map((s) => ({ ...s, dashed: true }));
  return [
    lineFigure({
      name: "frequency",
      title: "Oscillation frequency",
      x: xq,
      y: { name: "f", unit: "Hz" },
      series: [...mk("simulated", (p) => p.f_Hz), ...theory("orbit-averaged theory", (p) => p.theory.f_Hz)],
    }),
    lineFigure({ name: "linewidth", title: "Linewidth (FWHM)", x: xq, y: { name: "linewidth", unit: "Hz" }, series: mk("FWHM", (p) => p.linewidth_Hz) }),
    lineFigure({ name: "power", title: "Peak power", x: xq, y: { name: "peak power", unit: "" }, series: mk("peak power", (p) => p.power) }),
    lineFigure({
      name: "mz",
      title: "Mean m_z",
      x: xq,
      y: { name: "<m_z>", unit: "" },
      series: [...mk("simulated", (p) => p.mz, false), ...theory("orbit-averaged theory", (p) => p.theory.mz)],
    }),
  ];
}
