/**
 * Figures to files: a Vega-Lite spec laid out at a print size (the theme's),
 * written as SVG, PNG (resvg, at a DPI) and/or PDF (pdfkit + svg-to-pdfkit,
 * vector), with the data behind it as CSV beside it. Text is set in DejaVu
 * Sans, shipped by the npm package dejavu-fonts-ttf, so PNG and PDF render the
 * same on any machine (no system fonts needed).
 */
import path from "node:path";
import { createRequire } from "node:module";
import type * as Vega from "vega";
import { ensureDir, writeFileAtomic } from "../../io/output.js";
import type { Spec } from "./spec.js";
import { FigureSize, FONT_FAMILY, NUMBER_LOCALE, parseSize, themeConfig } from "./theme.js";

export const FORMATS = ["svg", "png", "pdf"] as const;
export type Format = (typeof FORMATS)[number];

/** A figure ready to be laid out at any size. */
export interface Figure {
  /** file name without extension */
  name: string;
  /** a single or layered view, or a `vconcat` of them; width and height are set at export */
  spec: Record<string, unknown>;
  /** for a vconcat: each panel's share of the plot height */
  panels?: number[];
  /** height relative to the size's base height (named sizes only) */
  heightFactor?: number;
  /** the data drawn, as CSV files beside the figure: `${name}${suffix}.csv` */
  tables: { suffix: string; csv: string }[];
}

export interface ExportOptions {
  size: FigureSize;
  formats: Format[];
  dpi: number;
}

export const DEFAULT_EXPORT: ExportOptions = { size: parseSize("column"), formats: ["svg"], dpi: 600 };

let fontFiles: { regular: string; bold: string } | undefined;
/** The bundled fonts' files, found when a figure is first drawn (not when a command that may draw one starts). */
function fonts(): { regular: string; bold: string } {
  const require = createRequire(import.meta.url);
  fontFiles ??= { regular: require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf"), bold: require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf") };
  return fontFiles;
}

/**
 * Vega sizes axes and legends from text widths; without a canvas it guesses
 * 0.8 em per character, far wider than the text is. Measure with the font the
 * PNG and PDF are set in instead (pdfkit's metrics of DejaVu Sans).
 */
let measuring = false;
/** Vega and Vega-Lite load with the first figure, not with every command that can draw one. */
let vegaModules: Promise<{ vega: typeof Vega; compile: typeof import("vega-lite").compile }> | undefined;
function loadVega(): Promise<{ vega: typeof Vega; compile: typeof import("vega-lite").compile }> {
  vegaModules ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vl]) => ({ vega, compile: vl.compile }));
  return vegaModules;
}
async function measureText(vega: typeof Vega): Promise<void> {
  if (measuring) return;
  const { default: PDFDocument } = await import("pdfkit");
  const measurer = new PDFDocument({ autoFirstPage: false });
  measurer.registerFont("regular", fonts().regular);
  measurer.registerFont("bold", fonts().bold);
  (vega as unknown as { textMetrics: { width: (item: { fontSize?: number; fontWeight?: string | number }, text: unknown) => number } }).textMetrics.width = (
    item,
    text,
  ) => {
    const t = text == null ? "" : String(text).trim();
    const size = item.fontSize ?? 11;
    if (!t || !(size > 0)) return 0;
    const bold = item.fontWeight === "bold" || Number(item.fontWeight) >= 600;
    return measurer
      .font(bold ? "bold" : "regular")
      .fontSize(size)
      .widthOfString(t);
  };
  measuring = true;
}

async function vegaSvg(spec: Spec): Promise<{ svg: string; width: number; height: number }> {
  const { vega, compile } = await loadVega();
  await measureText(vega);
  const compiled = compile(spec).spec;
  // the plot frame over the marks (e.g. over a shaded washout), as in a printed figure
  const frameOnTop = (marks: unknown[] | undefined): void => {
    for (const m of (marks ?? []) as { type?: string; style?: string | string[]; encode?: Record<string, Record<string, unknown>>; marks?: unknown[] }[]) {
      if (m.type !== "group") continue;
      if ([m.style].flat().includes("cell")) m.encode = { ...m.encode, update: { ...(m.encode?.update ?? {}), strokeForeground: { value: true } } };
      frameOnTop(m.marks);
    }
  };
  frameOnTop(compiled.marks);
  const view = new vega.View(vega.parse(compiled), { renderer: "none", locale: { number: NUMBER_LOCALE } } as unknown as Vega.ViewOptions);
  const svg = await view.toSVG();
  view.finalize();
  const m = /<svg[^>]*?width="([\d.]+)"[^>]*?height="([\d.]+)"/.exec(svg);
  if (!m) throw new Error("vega wrote an SVG without width and height");
  return { svg, width: Number(m[1]), height: Number(m[2]) };
}

/** The plot area sizes set into a copy of the spec (one value for a single view, shares for panels). */
function sized(fig: Figure, w: number, h: number, totalW: number, legendColumns?: number): Spec {
  const spec = structuredClone(fig.spec) as Record<string, unknown>;
  if (Array.isArray(spec.vconcat)) {
    const shares = fig.panels ?? spec.vconcat.map(() => 1);
    const sum = shares.reduce((a, b) => a + b, 0);
    (spec.vconcat as Record<string, unknown>[]).forEach((p, i) => {
      p.width = w;
      p.height = Math.max(10, (h * shares[i]) / sum);
    });
  } else {
    spec.width = w;
    spec.height = h;
  }
  const theme = themeConfig();
  const own = (spec.config as Record<string, unknown>) ?? {};
  // a title longer than the figure is cut (with an ellipsis) rather than widening it
  const config = {
    ...theme,
    ...own,
    title: { ...(theme.title as object), limit: totalW - 6 },
    legend: { ...(theme.legend as object), ...((own.legend as object) ?? {}), ...(legendColumns ? { columns: legendColumns } : {}) },
  };
  return { $schema: "https://vega.github.io/schema/vega-lite/v5.json", ...spec, config } as unknown as Spec;
}

/**
 * Lay the figure out so that the whole of it (axes, titles, legend) is the
 * requested size: render, measure what the axes and legend took, set the plot
 * area to what is left and render again (text widths are Vega's estimate, so
 * this converges in two or three passes). A legend below the plot that would
 * leave the plot less than half the width is wrapped into fewer columns.
 */
export async function layout(fig: Figure, size: FigureSize): Promise<{ svg: string; widthPt: number; heightPt: number }> {
  const W = size.widthPt;
  const H = size.heightPt ?? size.baseHeightPt * (fig.heightFactor ?? 1);
  let r = { svg: "", width: 0, height: 0 };
  for (const columns of [undefined, 4, 3, 2, 1]) {
    let w = W - 40;
    let h = H - 40;
    r = await vegaSvg(sized(fig, w, h, W, columns));
    for (let pass = 0; pass < 4 && (Math.abs(r.width - W) > 0.5 || Math.abs(r.height - H) > 0.5); pass++) {
      w = Math.max(20, w + (W - r.width));
      h = Math.max(20, h + (H - r.height));
      r = await vegaSvg(sized(fig, w, h, W, columns));
    }
    if (w >= 0.5 * W && Math.abs(r.width - W) <= 0.5) break;
  }
  // one SVG user unit is one point: say so in the width and height; a "1,0" dash is a solid line
  const svg = r.svg
    .replace(/ stroke-dasharray="1,0"/g, "")
    .replace(/^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"/, (_, a: string, wd: string, ht: string) => `<svg${a} width="${wd}pt" height="${ht}pt"`);
  return { svg, widthPt: r.width, heightPt: r.height };
}

/** PNG of an SVG laid out in points, at `dpi`, with the resolution recorded in a pHYs chunk. */
export async function pngOf(svg: string, widthPt: number, dpi: number): Promise<Buffer> {
  const { Resvg } = await import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    fitTo: { mode: "width", value: Math.round((widthPt / 72) * dpi) },
    background: "white",
    font: { fontFiles: [fonts().regular, fonts().bold], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  return withPhys(resvg.render().asPng(), dpi);
}

let crcTable: number[] | undefined;
function crc32(b: Buffer): number {
  // made when a PNG is first written
  crcTable ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const table = crcTable;
  let c = 0xffffffff;
  for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Insert (or replace) the pHYs chunk after IHDR so viewers and journals read the DPI. */
function withPhys(png: Buffer, dpi: number): Buffer {
  const ppm = Math.round(dpi / 0.0254);
  const body = Buffer.alloc(13);
  body.write("pHYs", 0, "latin1");
  body.writeUInt32BE(ppm, 4);
  body.writeUInt32BE(ppm, 8);
  body.writeUInt8(1, 12);
  const chunk = Buffer.alloc(21);
  chunk.writeUInt32BE(9, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), 17);
  const ihdrEnd = 8 + 8 + 13 + 4;
  const parts: Buffer[] = [png.subarray(0, ihdrEnd), chunk];
  for (let o = ihdrEnd; o < png.length;) {
    const len = png.readUInt32BE(o);
    const type = png.toString("latin1", o + 4, o + 8);
    if (type !== "pHYs") parts.push(png.subarray(o, o + 12 + len));
    o += 12 + len;
  }
  return Buffer.concat(parts);
}

/** Vector PDF of the SVG, one page of the figure's size, text in the embedded DejaVu Sans. */
export async function pdfOf(svg: string, widthPt: number, heightPt: number, title: string): Promise<Buffer> {
  const { default: PDFDocument } = await import("pdfkit");
  const { default: SVGtoPDF } = await import("svg-to-pdfkit");
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: [widthPt, heightPt], margin: 0, info: { Title: title, Creator: "stoopt", Producer: "stoopt (pdfkit)" } });
    const chunks: Buffer[] = [];
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
    doc.registerFont("figure", fonts().regular);
    doc.registerFont("figure-bold", fonts().bold);
    // svg-to-pdfkit reads "pt" in the root's size as 4/3 user units (with assumePt one user unit is
    // one point already), and fills Vega's group backgrounds that have neither fill nor stroke
    // (invisible in SVG) in white, over the plot frame: drop those
    const unitless = svg
      .replace(/^<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"/, '<svg$1 width="$2" height="$3"')
      .replace(/<path class="background"(?![^>]*\s(?:fill|stroke)=)[^>]*\/>/g, "");
    SVGtoPDF(doc, unitless, 0, 0, {
      width: widthPt,
      height: heightPt,
      assumePt: true,
      fontCallback: (_family: string, bold: boolean) => (bold ? "figure-bold" : "figure"),
    });
    doc.end();
  });
}

/** Write each figure in every format, and its data as CSV; returns the files written. */
export async function writeFigures(dir: string, figures: Figure[], o: ExportOptions = DEFAULT_EXPORT, flag = "--out"): Promise<string[]> {
  ensureDir(dir, flag);
  const files: string[] = [];
  for (const fig of figures) {
    const { svg, widthPt, heightPt } = await layout(fig, o.size);
    const base = path.join(dir, fig.name);
    for (const f of o.formats) {
      const file = `${base}.${f}`;
      if (f === "svg") writeFileAtomic(file, svg, flag);
      else if (f === "png") writeFileAtomic(file, await pngOf(svg, widthPt, o.dpi), flag);
      else writeFileAtomic(file, await pdfOf(svg, widthPt, heightPt, fig.name), flag);
      files.push(file);
    }
    for (const t of fig.tables) {
      const file = `${base}${t.suffix}.csv`;
      writeFileAtomic(file, t.csv, flag);
      files.push(file);
    }
  }
  return files;
}
