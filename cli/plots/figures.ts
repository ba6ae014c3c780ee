/**
 * The paper's figure kinds as Vega-Lite specs. Every axis title carries its
 * unit; series are named so that a legend (and a test) can find them.
 */
import type { Spec } from "./render.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
const FONT = { config: { font: "DejaVu Sans, Arial, sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 400 }, title: { fontSize: 13 } } };

export interface Series {
  name: string;
  points: [number, number][];
  /** draw as points instead of a line */
  dashed?: boolean;
}

export interface LineFigure {
  title: string;
  xTitle: string;
  yTitle: string;
  series: Series[];
  /** horizontal reference lines, e.g. the true value */
  rules?: { y: number; label: string }[];
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Curves against a common x (Fig. 2 a-e, Fig. 4 b-f, Fig. 8). */
export function lineFigure(f: LineFigure): Spec {
  const values = f.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => ({ x, y, series: s.name, dashed: s.dashed ? "dashed" : "solid" })));
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: "line", strokeWidth: 1.6, clip: true },
      encoding: {
        x: { field: "x", type: "quantitative", title: f.xTitle, scale: { zero: false } },
        y: { field: "y", type: "quantitative", title: f.yTitle, scale: f.logY ? { type: "log" } : { zero: false } },
        color: { field: "series", type: "nominal", title: null, sort: f.series.map((s) => s.name) },
        strokeDash: { field: "dashed", type: "nominal", legend: null, scale: { domain: ["solid", "dashed"], range: [[1, 0], [5, 3]] } },
      },
    },
  ];
  if (f.rules?.length) {
    layers.push({
      data: { values: f.rules.map((r) => ({ y: r.y, series: r.label })) },
      mark: { type: "rule", strokeDash: [2, 2], strokeWidth: 1.2, color: "black" },
      encoding: { y: { field: "y", type: "quantitative" } },
    });
    layers.push({
      data: { values: f.rules.map((r) => ({ y: r.y, label: r.label })) },
      mark: { type: "text", align: "left", dx: 4, dy: -6, fontSize: 10, x: 0 },
      encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
    });
  }
  return { $schema: SCHEMA, title: f.title, width: f.width ?? 420, height: f.height ?? 220, layer: layers, ...FONT } as unknown as Spec;
}

export interface HeatmapFigure {
  title: string;
  xTitle: string;
  yTitle: string;
  zTitle: string;
  cells: { x: number; y: number; z: number }[];
  /** optimization path drawn over the map */
  path?: [number, number][];
  marks?: { x: number; y: number; label: string; shape: string }[];
  dx: number;
  dy: number;
}

/** A loss landscape over two parameters with an optional path (Fig. 3 a-b). */
export function heatmapFigure(f: HeatmapFigure): Spec {
  const layers: Record<string, unknown>[] = [
    {
      data: { values: f.cells.map((c) => ({ ...c, x2: c.x + f.dx, y2: c.y + f.dy, x1: c.x - f.dx / 2, y1: c.y - f.dy / 2, xe: c.x + f.dx / 2, ye: c.y + f.dy / 2 })) },
      mark: { type: "rect" },
      encoding: {
        x: { field: "x1", type: "quantitative", title: f.xTitle, scale: { zero: false, nice: false } },
        x2: { field: "xe" },
        y: { field: "y1", type: "quantitative", title: f.yTitle, scale: { zero: false, nice: false } },
        y2: { field: "ye" },
        color: { field: "z", type: "quantitative", title: f.zTitle, scale: { scheme: "viridis" } },
      },
    },
  ];
  if (f.path?.length) {
    layers.push({
      data: { values: f.path.map(([x, y], i) => ({ x, y, i })) },
      mark: { type: "line", color: "white", strokeWidth: 1.5, point: { filled: true, size: 12, color: "white" } },
      encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, order: { field: "i" } },
    });
  }
  if (f.marks?.length) {
    layers.push({
      data: { values: f.marks },
      mark: { type: "point", filled: true, size: 160, stroke: "white", strokeWidth: 1 },
      encoding: {
        x: { field: "x", type: "quantitative" },
        y: { field: "y", type: "quantitative" },
        shape: { field: "label", type: "nominal", title: null, scale: { domain: f.marks.map((m) => m.label), range: f.marks.map((m) => m.shape) } },
        color: { value: "black" },
      },
    });
  }
  return { $schema: SCHEMA, title: f.title, width: 380, height: 320, layer: layers, resolve: { scale: { color: "independent" } }, ...FONT } as unknown as Spec;
}

export interface ErrorBarFigure {
  title: string;
  xTitle: string;
  yTitle: string;
  /** legend title of the series (e.g. "cm"); no legend with one series */
  seriesTitle?: string;
  /** one point per category and series: the mean with a bar of +-std (std null: no bar) */
  points: { x: string; series: string; mean: number; std: number | null; n: number }[];
}

/** Means with +-1 standard deviation bars per category, series side by side (e.g. Table II over seeds). */
export function errorBarFigure(f: ErrorBarFigure): Spec {
  const xs = [...new Set(f.points.map((p) => p.x))];
  const series = [...new Set(f.points.map((p) => p.series))];
  const values = f.points.filter((p) => Number.isFinite(p.mean)).map((p) => ({ ...p, lo: p.std === null ? p.mean : p.mean - p.std, hi: p.std === null ? p.mean : p.mean + p.std }));
  const x = { field: "x", type: "nominal", title: f.xTitle, sort: xs, axis: { labelAngle: 0 } };
  const color = { field: "series", type: "nominal", title: f.seriesTitle ?? null, sort: series, ...(series.length <= 1 ? { legend: null } : {}) };
  const xOffset = { field: "series", type: "nominal", sort: series };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: "rule", strokeWidth: 1.5 },
      encoding: { x, xOffset, color, y: { field: "lo", type: "quantitative", title: f.yTitle, scale: { zero: false } }, y2: { field: "hi" } },
    },
    {
      mark: { type: "point", filled: true, size: 50 },
      encoding: {
        x,
        xOffset,
        color,
        y: { field: "mean", type: "quantitative" },
        tooltip: [{ field: "mean" }, { field: "std" }, { field: "n" }],
      },
    },
  ];
  return { $schema: SCHEMA, title: f.title, width: Math.max(240, 70 * xs.length), height: 240, data: { values }, layer: layers, ...FONT } as unknown as Spec;
}
