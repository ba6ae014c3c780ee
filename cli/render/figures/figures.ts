/**
 * The paper's figure kinds as Vega-Lite specs in the one theme (theme.ts):
 * every axis title carries its unit with the SI prefix chosen for the data
 * (none for dimensionless quantities), series are named so that a legend
 * (and a test) can find them, and each figure carries the data it draws as
 * CSV. Sizes are set at export (export.ts).
 */
import { csv } from "../text.js";
import type { Figure } from "./export.js";
import { axisTitle, axisUnit, AxisUnit, columnName } from "./theme.js";

/** A quantity on an axis: its name and the unit the data are in (`A`, `s`, `Oe`, "" when dimensionless). */
export interface Quantity {
  name: string;
  unit: string;
  /** a fixed axis unit instead of the SI prefix chosen from the data */
  fixed?: AxisUnit;
}

export interface Series {
  name: string;
  points: [number, number][];
  /** dashed line */
  dashed?: boolean;
}

export interface LineFigure {
  name: string;
  title?: string;
  x: Quantity;
  y: Quantity;
  series: Series[];
  /** horizontal reference lines, e.g. the true value */
  rules?: { y: number; label: string }[];
  logY?: boolean;
  /** where the legend goes: below the plot (default) or inside a corner */
  legend?: "bottom" | "top-right" | "bottom-right" | "top-left" | "bottom-left";
}

/** The axis unit of a quantity for these values. */
export function unitFor(q: Quantity, values: Iterable<number>): AxisUnit {
  return q.fixed ?? axisUnit(q.unit, values);
}

const finite = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y);

/** Curves against a common x (Fig. 2 a-c, Fig. 4 b-f, Fig. 8). */
export function lineFigure(f: LineFigure): Figure {
  const all = f.series.flatMap((s) => s.points.filter(finite));
  const ux = unitFor(
    f.x,
    all.map((p) => p[0]),
  );
  const uy = unitFor(f.y, [...all.map((p) => p[1]), ...(f.rules ?? []).map((r) => r.y)]);
  const values = f.series.flatMap((s) =>
    s.points.filter(finite).map(([x, y]) => ({ x: x * ux.factor, y: y * uy.factor, series: s.name, dashed: s.dashed ? "dashed" : "solid" })),
  );
  const legend = f.legend && f.legend !== "bottom" ? { orient: f.legend, direction: "vertical", fillColor: "white", padding: 2, offset: 3 } : {};
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: "line", clip: true, point: values.length / Math.max(1, f.series.length) <= 30 ? { size: 9 } : false },
      encoding: {
        x: { field: "x", type: "quantitative", title: axisTitle(f.x.name, ux.unit), scale: { zero: false, nice: false, padding: 4 } },
        y: { field: "y", type: "quantitative", title: axisTitle(f.y.name, uy.unit), scale: f.logY ? { type: "log", padding: 4 } : { zero: false, padding: 4 } },
        // one series needs no legend: the axis title names it
        color: { field: "series", type: "nominal", title: null, sort: f.series.map((s) => s.name), legend: f.series.length > 1 ? legend : null },
        ...(f.series.some((s) => s.dashed)
          ? {
              strokeDash: {
                field: "dashed",
                type: "nominal",
                legend: null,
                scale: {
                  domain: ["solid", "dashed"],
                  range: [
                    [1, 0],
                    [4, 2],
                  ],
                },
              },
            }
          : {}),
      },
    },
  ];
  if (f.rules?.length) {
    const rules = f.rules.map((r) => ({ y: r.y * uy.factor, label: r.label }));
    layers.push({ data: { values: rules }, mark: { type: "rule", strokeDash: [2, 2], color: "black" }, encoding: { y: { field: "y", type: "quantitative" } } });
    layers.push({
      data: { values: rules },
      mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 2, x: 0 },
      encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
    });
  }
  const xc = columnName(f.x.name, ux.unit);
  const yc = columnName(f.y.name, uy.unit);
  const rows = [
    ...values.map((v) => ({ series: v.series, [xc]: v.x, [yc]: v.y })),
    ...(f.rules ?? []).map((r) => ({ series: r.label, [xc]: "", [yc]: r.y * uy.factor })),
  ];
  return { name: f.name, spec: { ...(f.title ? { title: f.title } : {}), layer: layers }, tables: [{ suffix: "", csv: csv(["series", xc, yc], rows) }] };
}

export interface HeatmapFigure {
  name: string;
  title?: string;
  x: Quantity;
  y: Quantity;
  z: Quantity;
  /** cell centres on a regular grid, values in the quantities' units */
  cells: { x: number; y: number; z: number }[];
  dx: number;
  dy: number;
  /** optimization path drawn over the map */
  path?: [number, number][];
  /** labelled points (start, end, true value) */
  marks?: { x: number; y: number; label: string; shape: string }[];
  /** the grid's own CSV (written as NAME.csv); the overlay goes to NAME-overlay.csv */
  gridCsv: string;
}

/** A loss landscape over two parameters with an optional path and marked points (Fig. 3 a-b). */
export function heatmapFigure(f: HeatmapFigure): Figure {
  const ux = unitFor(
    f.x,
    f.cells.map((c) => c.x),
  );
  const uy = unitFor(
    f.y,
    f.cells.map((c) => c.y),
  );
  const uz = unitFor(
    f.z,
    f.cells.map((c) => c.z),
  );
  const X = (x: number) => x * ux.factor;
  const Y = (y: number) => y * uy.factor;
  const layers: Record<string, unknown>[] = [
    {
      data: {
        values: f.cells.map((c) => ({ x1: X(c.x - f.dx / 2), xe: X(c.x + f.dx / 2), y1: Y(c.y - f.dy / 2), ye: Y(c.y + f.dy / 2), z: c.z * uz.factor })),
      },
      mark: { type: "rect", strokeWidth: 0 },
      encoding: {
        x: { field: "x1", type: "quantitative", title: axisTitle(f.x.name, ux.unit), scale: { zero: false, nice: false } },
        x2: { field: "xe" },
        y: { field: "y1", type: "quantitative", title: axisTitle(f.y.name, uy.unit), scale: { zero: false, nice: false } },
        y2: { field: "ye" },
        color: {
          field: "z",
          type: "quantitative",
          title: axisTitle(f.z.name, uz.unit),
          scale: { scheme: "viridis" },
          legend: {
            orient: "right",
            direction: "vertical",
            gradientLength: 60,
            gradientThickness: 6,
            titleOrient: "left",
            titleAnchor: "middle",
            tickCount: 4,
          },
        },
      },
    },
  ];
  if (f.path?.length) {
    layers.push({
      data: { values: f.path.map(([x, y], i) => ({ x: X(x), y: Y(y), i })) },
      mark: { type: "line", color: "white", strokeWidth: 0.8, point: { filled: true, size: 6, color: "white" } },
      encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, order: { field: "i" } },
    });
  }
  if (f.marks?.length) {
    layers.push({
      data: { values: f.marks.map((m) => ({ ...m, x: X(m.x), y: Y(m.y) })) },
      mark: { type: "point", filled: true, size: 40, stroke: "white", strokeWidth: 0.6, opacity: 1 },
      encoding: {
        x: { field: "x", type: "quantitative" },
        y: { field: "y", type: "quantitative" },
        shape: {
          field: "label",
          type: "nominal",
          title: null,
          scale: { domain: f.marks.map((m) => m.label), range: f.marks.map((m) => m.shape) },
          legend: { orient: "bottom", direction: "horizontal" },
        },
        color: { value: "black" },
      },
    });
  }
  const xc = columnName(f.x.name, ux.unit);
  const yc = columnName(f.y.name, uy.unit);
  const overlay = [
    ...(f.path ?? []).map(([x, y], i) => ({ point: `path ${i}`, [xc]: X(x), [yc]: Y(y) })),
    ...(f.marks ?? []).map((m) => ({ point: m.label, [xc]: X(m.x), [yc]: Y(m.y) })),
  ];
  return {
    name: f.name,
    spec: { ...(f.title ? { title: f.title } : {}), layer: layers, resolve: { scale: { color: "independent" } } },
    heightFactor: 1.2,
    tables: [{ suffix: "", csv: f.gridCsv }, ...(overlay.length ? [{ suffix: "-overlay", csv: csv(["point", xc, yc], overlay) }] : [])],
  };
}

export interface ErrorBarFigure {
  /** file name without extension */
  name: string;
  title: string;
  xTitle: string;
  yTitle: string;
  /** legend title of the series (e.g. "cm"); no legend with one series */
  seriesTitle?: string;
  /** one point per category and series: the mean with a bar of +-std (std null: no bar) */
  points: { x: string; series: string; mean: number; std: number | null; n: number }[];
}

/** Means with +-1 standard deviation bars per category, series side by side (e.g. Table II over seeds). */
export function errorBarFigure(f: ErrorBarFigure): Figure {
  const xs = [...new Set(f.points.map((p) => p.x))];
  const series = [...new Set(f.points.map((p) => p.series))];
  const values = f.points
    .filter((p) => Number.isFinite(p.mean))
    .map((p) => ({ ...p, lo: p.std === null ? p.mean : p.mean - p.std, hi: p.std === null ? p.mean : p.mean + p.std }));
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
  return {
    name: f.name,
    spec: { title: f.title, data: { values }, layer: layers },
    tables: [{ suffix: "", csv: csv(["x", "series", "mean", "std", "n"], f.points) }],
  };
}
