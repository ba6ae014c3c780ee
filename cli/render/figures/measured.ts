/** Figures of a fit to measured data: each window's measured signal and the fitted model, in the signal's unit. */
import type { Figure } from "./export.js";
import { csv } from "../text.js";
import type { Windows } from "../../fit/measured.js";

/** Window `i`: the measurement as points, the model (offset + amplitude * the student's m_x) as a line; the data beside it as CSV. */
export function windowFigure(
  w: Windows,
  i: number,
  student: Float64Array,
  affine: { offset: number; amplitude: number },
  column: string,
  unit: string,
): Figure {
  const rows: { t_ns: number; value: number; series: string }[] = [];
  const table: Record<string, unknown>[] = [];
  for (let k = w.offsets[i]; k < w.offsets[i + 1]; k++) {
    const t = (w.t_s[k] - w.t_s[w.offsets[i]]) * 1e9;
    const model = affine.offset + affine.amplitude * student[3 * k];
    rows.push({ t_ns: t, value: w.y[k], series: "measured" });
    rows.push({ t_ns: t, value: model, series: "fitted model" });
    table.push({ t_ns: t, measured: w.y[k], model, residual: w.y[k] - model });
  }
  const y = { field: "value", type: "quantitative", title: `${column} [${unit}]`, scale: { zero: false } };
  return {
    name: `window-${i + 1}`,
    spec: {
      title: `Window ${i + 1} (from ${(w.startS[i] * 1e9).toFixed(3)} ns): measured and fitted`,
      data: { values: rows },
      layer: [
        {
          mark: { type: "line" },
          transform: [{ filter: "datum.series === 'fitted model'" }],
          encoding: { x: { field: "t_ns", type: "quantitative", title: "time in window [ns]" }, y, color: { field: "series", type: "nominal", title: null } },
        },
        {
          mark: { type: "point", filled: true },
          transform: [{ filter: "datum.series === 'measured'" }],
          encoding: { x: { field: "t_ns", type: "quantitative" }, y, color: { field: "series", type: "nominal", title: null } },
        },
      ],
    },
    tables: [{ suffix: "", csv: csv(["t_ns", "measured", "model", "residual"], table) }],
  };
}
