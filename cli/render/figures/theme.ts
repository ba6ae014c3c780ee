/**
 * The one figure style of stoopt (every figure kind uses it): print sizes,
 * fonts that read 7-9 pt at that size, axis titles with SI-prefixed units and
 * plain numbers (no thousands separators).
 *
 * Lengths inside a spec are in points (1 pt = 1/72 in): the SVG's user unit is
 * one point, its width and height attributes say "pt", so a 8 pt label is 8 pt
 * on paper when the figure is placed at its natural size.
 */
import { UsageError } from "../../errors.js";

export const PT_PER_CM = 72 / 2.54;

export interface FigureSize {
  /** what the user asked for (column, page or WxH) */
  name: string;
  widthPt: number;
  /** fixed by WxH; otherwise each figure kind picks its height from `baseHeightPt` */
  heightPt?: number;
  baseHeightPt: number;
}

/** Single column (8.5 cm) and full page width (17 cm) of the usual two-column journals. */
export const SIZES: Record<string, { widthCm: number; heightCm: number }> = {
  column: { widthCm: 8.5, heightCm: 6.0 },
  page: { widthCm: 17, heightCm: 7.5 },
};

const LENGTH_UNITS: Record<string, number> = { cm: PT_PER_CM, mm: PT_PER_CM / 10, in: 72, pt: 1 };

/** `column`, `page` or `WxH` with a unit (`8.5x6cm`, `85x60mm`, `3.3x2.4in`); a bare WxH is read in cm (noted). */
export function parseSize(text: string, flag = "--size", notes: string[] = []): FigureSize {
  const t = text.trim();
  const preset = SIZES[t];
  if (preset) return { name: t, widthPt: preset.widthCm * PT_PER_CM, baseHeightPt: preset.heightCm * PT_PER_CM };
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*x\s*(\d+(?:\.\d*)?|\.\d+)\s*(cm|mm|in|pt)?$/.exec(t);
  if (!m) throw new UsageError(`${flag}: expected column, page or WxH with a unit (e.g. 8.5x6cm, 85x60mm, 3.3x2.4in), got '${text}'`);
  if (!m[3]) notes.push(`${flag}: read '${t}' in cm`);
  const k = LENGTH_UNITS[m[3] ?? "cm"];
  const w = Number(m[1]) * k;
  const h = Number(m[2]) * k;
  if (!(w >= 2 * PT_PER_CM && w <= 60 * PT_PER_CM && h >= 2 * PT_PER_CM && h <= 60 * PT_PER_CM))
    throw new UsageError(`${flag}: width and height must be between 2 and 60 cm, got '${text}'`);
  return { name: t, widthPt: w, heightPt: h, baseHeightPt: h };
}

/** Font sizes in pt: tick labels, legend and annotations 7, axis titles 8, the figure title 9. */
export const FONT_PT = { label: 7, title: 8, figureTitle: 9 } as const;
export const FONT_FAMILY = "DejaVu Sans";

/** Okabe-Ito: distinguishable for colour-blind readers and in greyscale print. */
export const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

/** Vega-Lite `config` of every figure. */
export function themeConfig(): Record<string, unknown> {
  const { label, title, figureTitle } = FONT_PT;
  return {
    font: FONT_FAMILY,
    background: "white",
    padding: 2,
    autosize: { type: "pad" },
    view: { stroke: "black", strokeWidth: 0.6 },
    range: { category: COLORS },
    axis: {
      labelFontSize: label,
      titleFontSize: title,
      titleFontWeight: "normal",
      labelColor: "black",
      titleColor: "black",
      domain: false,
      tickColor: "black",
      tickWidth: 0.6,
      tickSize: 3,
      labelPadding: 1.5,
      titlePadding: 3,
      grid: false,
      labelFlush: true,
      labelOverlap: true,
    },
    legend: {
      labelFontSize: label,
      titleFontSize: label,
      titleFontWeight: "normal",
      labelColor: "black",
      symbolSize: 20,
      symbolStrokeWidth: 1.2,
      rowPadding: 1,
      columnPadding: 6,
      padding: 0,
      offset: 4,
      labelLimit: 400,
      orient: "bottom",
      direction: "horizontal",
    },
    title: { fontSize: figureTitle, fontWeight: "normal", anchor: "start", offset: 3, color: "black", limit: 0 },
    text: { fontSize: label, font: FONT_FAMILY },
    line: { strokeWidth: 1 },
    point: { size: 9, strokeWidth: 0.8 },
    rule: { strokeWidth: 0.6 },
    header: { labelFontSize: title, titleFontSize: title },
    concat: { spacing: 4 },
  };
}

/** d3-format locale of every figure: "." decimals, no thousands separator, a true minus sign. */
export const NUMBER_LOCALE = { decimal: ".", thousands: "", grouping: [3], currency: ["", ""], minus: "\u2212" };

const PREFIXES: [number, string][] = [
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
  [1, ""],
  [1e-3, "m"],
  [1e-6, "µ"],
  [1e-9, "n"],
  [1e-12, "p"],
  [1e-15, "f"],
];
/** Base units that take an SI prefix on an axis; Oe and emu/cm3 are kept as they are written in the field. */
const PREFIXABLE = new Set(["A", "s", "Hz", "V", "W", "m", "T", "Ohm", "Ω"]);
/** Units converted to a prefixable SI unit first (lengths of the Table I geometry). */
const TO_SI: Record<string, [string, number]> = { cm: ["m", 1e-2], mm: ["m", 1e-3] };

export interface AxisUnit {
  /** the unit the axis is labelled in, "" for a dimensionless quantity */
  unit: string;
  /** multiply a value in the base unit by this to get the axis value */
  factor: number;
}

/**
 * The SI prefix for an axis: the one that puts the largest magnitude of the
 * data between 1 and 1000 (0.0065 A -> mA, 5e9 Hz -> GHz, 2e-9 s -> ns).
 * Units that take no prefix come back unchanged.
 */
export function axisUnit(unit: string, values: Iterable<number>): AxisUnit {
  let u = unit;
  let factor = 1;
  if (TO_SI[u]) [u, factor] = [TO_SI[u][0], TO_SI[u][1]];
  if (!PREFIXABLE.has(u)) return { unit, factor: 1 };
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v * factor));
  if (max === 0) return { unit: u, factor };
  const p = PREFIXES.find(([k]) => max >= k * 0.9995) ?? PREFIXES[PREFIXES.length - 1];
  return { unit: p[1] + u, factor: factor / p[0] };
}

/** An axis title: `name [unit]`, or the bare name for a dimensionless quantity (never `[1]`). */
export function axisTitle(name: string, unit: string): string {
  return unit && unit !== "1" ? `${name} [${unit}]` : name;
}

/** A CSV column name for a quantity on an axis: `t_ns`, `j_DC_mA`, `m_x`. */
export function columnName(name: string, unit: string): string {
  const clean = (s: string) =>
    s
      .replace(/µ/g, "u")
      .replace(/[^A-Za-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "");
  return unit && unit !== "1" ? `${clean(name)}_${clean(unit)}` : clean(name);
}
