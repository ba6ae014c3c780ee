/** Figures of system identification: Fig. 2 (a-e) and Fig. 3 (a-b). */
import { heatmapFigure, lineFigure, Quantity, unitFor } from "./figures.js";
import type { Figure } from "./export.js";
import { csv } from "../text.js";
import { PARAMS } from "../../model.js";
import type { LandscapeResult } from "../../run/landscape.js";
import { axisTitle, columnName, COLORS } from "./theme.js";
import { gridStep, gridValue } from "../../fit/landscape-grid.js";

const unitOf = (name: string) => PARAMS.find((p) => p.name === name)?.unit ?? "";
const param = (name: string): Quantity => ({ name, unit: unitOf(name) });
const EPOCH: Quantity = { name: "epoch", unit: "" };

/** What the heatmap reads of a landscape result. */
export type LandscapeSummary = Pick<LandscapeResult, "x" | "y" | "loss"> & { input?: Partial<LandscapeResult["input"]> };

export interface LandscapeOverlay {
  path: [number, number][];
  start: [number, number];
  end: [number, number];
  /** the teacher's true point, when the sysid result knows it (simulate's sidecar) */
  truth?: [number, number];
}

/** The landscape grid as CSV (x, y, loss in the parameters' units), as `stoopt landscape` writes landscape.csv. */
export function landscapeGridCsv(l: LandscapeSummary): string {
  const gx = (i: number) => gridValue(l.x, i);
  const gy = (j: number) => gridValue(l.y, j);
  const rows: Record<string, number>[] = [];
  for (let j = 0; j < l.y.n; j++) for (let i = 0; i < l.x.n; i++) rows.push({ [l.x.name]: gx(i), [l.y.name]: gy(j), loss: l.loss[j * l.x.n + i] });
  return csv([l.x.name, l.y.name, "loss"], rows);
}

export function landscapeFigure(l: LandscapeSummary, overlay?: LandscapeOverlay): Figure {
  const gx = (i: number) => gridValue(l.x, i);
  const gy = (j: number) => gridValue(l.y, j);
  const cells = [];
  for (let j = 0; j < l.y.n; j++) for (let i = 0; i < l.x.n; i++) cells.push({ x: gx(i), y: gy(j), z: l.loss[j * l.x.n + i] });
  const marks: { x: number; y: number; label: string; shape: string }[] = [];
  if (overlay)
    marks.push(
      { x: overlay.start[0], y: overlay.start[1], label: "start", shape: "circle" },
      { x: overlay.end[0], y: overlay.end[1], label: "end", shape: "diamond" },
    );
  if (overlay?.truth) marks.push({ x: overlay.truth[0], y: overlay.truth[1], label: "true", shape: "cross" });
  return heatmapFigure({
    name: "landscape",
    title: `Loss (eq. 4) over ${l.input?.trials ?? "the"} trials`,
    x: param(l.x.name),
    y: param(l.y.name),
    z: { name: "loss", unit: "" },
    cells,
    dx: gridStep(l.x),
    dy: gridStep(l.y),
    path: overlay?.path,
    marks,
    gridCsv: landscapeGridCsv(l),
  });
}

export interface SysidResultLike {
  fit: Record<string, { value: number; unit: string; start: number; true?: number }>;
  history: { start: number; epoch: number; loss: number; values: Record<string, number> }[];
  best_start?: number;
  input?: { trials?: number };
}

const trials = (r: SysidResultLike) => (r.input?.trials !== undefined ? `, ${r.input.trials} trials` : "");

/** Loss against epoch for every start (Fig. 2 a-c, loss panel). */
export function lossFigure(r: SysidResultLike): Figure {
  const starts = [...new Set(r.history.map((h) => h.start))];
  return lineFigure({
    name: "loss",
    title: `Loss against epoch${trials(r)}`,
    x: EPOCH,
    y: { name: "loss (eq. 4)", unit: "" },
    logY: r.history.every((h) => h.loss > 0),
    legend: starts.length > 1 ? "bottom" : "top-right",
    series: starts.map((s) => ({
      name: `start ${s + 1}${s === r.best_start ? " (best)" : ""}`,
      points: r.history.filter((h) => h.start === s).map((h): [number, number] => [h.epoch, h.loss]),
    })),
  });
}

/** One fitted parameter against epoch, with the true value when known (Fig. 2 a-c). */
export function parameterFigure(r: SysidResultLike, name: string): Figure {
  const starts = [...new Set(r.history.map((h) => h.start))];
  const f = r.fit[name];
  return lineFigure({
    name,
    title: `${name} against epoch${trials(r)}`,
    x: EPOCH,
    y: param(name),
    series: starts.map((s) => ({
      name: `student, start ${s + 1}`,
      points: [
        [0, s === r.best_start ? f.start : NaN] as [number, number],
        ...r.history.filter((h) => h.start === s).map((h): [number, number] => [h.epoch, h.values[name]]),
      ].filter(([, y]) => Number.isFinite(y)),
    })),
    rules: f.true !== undefined && Number.isFinite(f.true) ? [{ y: f.true, label: `teacher (true) ${name}` }] : undefined,
  });
}

export type Component = "mx" | "my" | "mz";
export const COMPONENTS: readonly Component[] = ["mx", "my", "mz"];
const label = (c: Component) => `m_${c[1]}`;

export interface TrajectoryData {
  name: string;
  title: string;
  components: Component[];
  /** sample times from the trial's first row (s) and the teacher's samples */
  t_s: Float64Array;
  teacher: Partial<Record<Component, Float64Array>>;
  /** the student at the teacher's sample times, exactly as the loss compares it */
  student: Record<Component, Float64Array>;
  /** the student densely (several points per step of the teacher), from the same initial state */
  dense: { t_s: Float64Array; m: Record<Component, Float64Array> };
  washout_s: number;
  teacherLabel: string;
  studentLabel: string;
}

/**
 * Teacher vs student of one trial (Fig. 2 d-e): per component a panel with
 * the teacher's samples as markers over the dense student curve, and a
 * residual panel (teacher - student at the samples) below; the washout that
 * the loss does not compare is shaded.
 */
export function trajectoryFigure(d: TrajectoryData): Figure {
  const ut = unitFor({ name: "t", unit: "s" }, d.dense.t_s);
  const T = (t: number) => t * ut.factor;
  const tEnd = Math.max(d.t_s[d.t_s.length - 1], d.dense.t_s[d.dense.t_s.length - 1]);
  const residualLabel = "residual (teacher \u2212 student)";
  const washoutLabel = "washout (not in the loss)";
  const domain = [d.teacherLabel, d.studentLabel, residualLabel, ...(d.washout_s > 0 ? [washoutLabel] : [])];
  const color = { field: "series", type: "nominal", title: null, scale: { domain, range: [COLORS[6], COLORS[1], COLORS[0], "#e0e0e0"] } };
  const tTitle = axisTitle("t", ut.unit);
  const washout =
    d.washout_s > 0
      ? [
          {
            data: { values: [{ a: T(0), b: T(Math.min(d.washout_s, tEnd)), series: washoutLabel }] },
            mark: { type: "rect" },
            encoding: { x: { field: "a", type: "quantitative" }, x2: { field: "b" }, color },
          },
        ]
      : [];
  const rows: Record<string, unknown>[] = [];
  const tc = columnName("t", ut.unit);
  const panels: Record<string, unknown>[] = d.components.map((c) => {
    const teacher = d.teacher[c];
    const pts = teacher ? Array.from(d.t_s, (t, k) => ({ t: T(t), v: teacher[k], series: d.teacherLabel })).filter((p) => Number.isFinite(p.v)) : [];
    const line = Array.from(d.dense.t_s, (t, k) => ({ t: T(t), v: d.dense.m[c][k], series: d.studentLabel }));
    for (const p of pts) rows.push({ panel: label(c), series: "teacher", [tc]: p.t, value: p.v });
    for (const p of line) rows.push({ panel: label(c), series: "student", [tc]: p.t, value: p.v });
    return {
      layer: [
        ...washout,
        {
          data: { values: line },
          mark: { type: "line", strokeWidth: 0.9, clip: true },
          encoding: {
            x: { field: "t", type: "quantitative", title: null, scale: { domain: [T(0), T(tEnd)], nice: false, zero: false }, axis: { labels: false } },
            y: { field: "v", type: "quantitative", title: label(c), scale: { zero: false } },
            color,
          },
        },
        {
          data: { values: pts },
          mark: { type: "point", filled: true, size: 7, clip: true },
          encoding: { x: { field: "t", type: "quantitative" }, y: { field: "v", type: "quantitative" }, color },
        },
      ],
    };
  });
  const res = d.components.flatMap((c) => {
    const teacher = d.teacher[c];
    return teacher
      ? Array.from(d.t_s, (t, k) => ({ t: T(t), v: teacher[k] - d.student[c][k], series: residualLabel, component: label(c) })).filter((p) =>
          Number.isFinite(p.v),
        )
      : [];
  });
  for (const p of res) rows.push({ panel: `residual ${p.component}`, series: "residual", [tc]: p.t, value: p.v });
  const multi = d.components.length > 1;
  panels.push({
    layer: [
      ...washout,
      { data: { values: [{ z: 0 }] }, mark: { type: "rule", color: "#888888", strokeWidth: 0.5 }, encoding: { y: { field: "z", type: "quantitative" } } },
      {
        data: { values: res },
        mark: { type: "line", strokeWidth: 0.7, point: { size: 5, filled: true }, clip: true },
        encoding: {
          x: { field: "t", type: "quantitative", title: tTitle, scale: { domain: [T(0), T(tEnd)], nice: false, zero: false } },
          y: { field: "v", type: "quantitative", title: multi ? "\u0394m" : `\u0394${label(d.components[0])}`, axis: { tickCount: 3, format: "~g" } },
          color,
          ...(multi
            ? {
                detail: { field: "component" },
                strokeDash: { field: "component", type: "nominal", title: null, legend: { symbolType: "stroke", symbolStrokeColor: COLORS[0] } },
              }
            : {}),
        },
      },
    ],
  });
  const n = d.components.length;
  return {
    name: d.name,
    spec: { title: d.title, vconcat: panels, resolve: { scale: { x: "shared", color: "shared" } } },
    panels: [...d.components.map(() => 2.4), 1],
    heightFactor: 1.25 + 0.45 * (n - 1),
    tables: [{ suffix: "", csv: csv(["panel", "series", tc, "value"], rows) }],
  };
}
