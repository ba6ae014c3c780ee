/** Figures of system identification: Fig. 2 (a-e) and Fig. 3 (a-b). */
import { heatmapFigure, lineFigure } from "./figures.js";
import type { Spec } from "./render.js";
import { PARAMS } from "../model.js";

const unitOf = (name: string) => PARAMS.find((p) => p.name === name)?.unit ?? "";
const withUnit = (name: string) => (unitOf(name) ? `${name} [${unitOf(name)}]` : `${name} [1]`);

interface LandscapeSummary {
  x: { name: string; range: [number, number]; n: number };
  y: { name: string; range: [number, number]; n: number };
  loss: number[];
}

export function landscapeFigure(l: LandscapeSummary, overlay?: { path: [number, number][]; start: [number, number]; end: [number, number] }): Spec {
  const gx = (i: number) => l.x.range[0] + ((l.x.range[1] - l.x.range[0]) * i) / (l.x.n - 1);
  const gy = (j: number) => l.y.range[0] + ((l.y.range[1] - l.y.range[0]) * j) / (l.y.n - 1);
  const cells = [];
  for (let j = 0; j < l.y.n; j++) for (let i = 0; i < l.x.n; i++) cells.push({ x: gx(i), y: gy(j), z: l.loss[j * l.x.n + i] });
  return heatmapFigure({
    title: "Loss landscape (eq. 4)",
    xTitle: withUnit(l.x.name),
    yTitle: withUnit(l.y.name),
    zTitle: "loss [1]",
    cells,
    dx: (l.x.range[1] - l.x.range[0]) / (l.x.n - 1),
    dy: (l.y.range[1] - l.y.range[0]) / (l.y.n - 1),
    path: overlay?.path,
    marks: overlay
      ? [
          { x: overlay.start[0], y: overlay.start[1], label: "start", shape: "circle" },
          { x: overlay.end[0], y: overlay.end[1], label: "end", shape: "diamond" },
        ]
      : undefined,
  });
}

export interface SysidResultLike {
  fit: Record<string, { value: number; unit: string; start: number; true?: number }>;
  history: { start: number; epoch: number; loss: number; values: Record<string, number> }[];
  best_start?: number;
}

/** Loss against epoch for every start (Fig. 2 a-c, loss panel). */
export function lossFigure(r: SysidResultLike): Spec {
  const starts = [...new Set(r.history.map((h) => h.start))];
  return lineFigure({
    title: "Loss against epoch",
    xTitle: "epoch [1]",
    yTitle: "loss (eq. 4) [1]",
    logY: r.history.every((h) => h.loss > 0),
    series: starts.map((s) => ({ name: `start ${s + 1}${s === r.best_start ? " (best)" : ""}`, points: r.history.filter((h) => h.start === s).map((h): [number, number] => [h.epoch, h.loss]) })),
  });
}

/** One fitted parameter against epoch, with the true value when known (Fig. 2 a-c). */
export function parameterFigure(r: SysidResultLike, name: string): Spec {
  const starts = [...new Set(r.history.map((h) => h.start))];
  const f = r.fit[name];
  return lineFigure({
    title: `${name} against epoch`,
    xTitle: "epoch [1]",
    yTitle: withUnit(name),
    series: starts.map((s) => ({ name: `student, start ${s + 1}`, points: [[0, s === r.best_start ? f.start : NaN] as [number, number], ...r.history.filter((h) => h.start === s).map((h): [number, number] => [h.epoch, h.values[name]])].filter(([, y]) => Number.isFinite(y)) })),
    rules: f.true !== undefined && Number.isFinite(f.true) ? [{ y: f.true, label: `teacher (true) ${name}` }] : undefined,
  });
}

/** Teacher and student m_x(t) (and m_y, m_z) of one trial (Fig. 2 d-e). */
export function trajectoryFigure(title: string, tS: Float64Array, teacher: Record<string, Float64Array | undefined>, student: Record<string, Float64Array>): Spec {
  const series = [];
  for (const c of ["mx", "my", "mz"]) {
    const te = teacher[c];
    if (te) series.push({ name: `teacher ${c}`, points: Array.from(tS, (t, k): [number, number] => [t * 1e9, te[k]]) });
    series.push({ name: `student ${c}`, dashed: true, points: Array.from(tS, (t, k): [number, number] => [t * 1e9, student[c][k]]) });
  }
  return lineFigure({ title, xTitle: "t [ns]", yTitle: "magnetization [1]", series });
}
