/** Rendering of a landscape result: the summary line on stderr (the grid as CSV is landscapeGridCsv, cli/render/figures/sysid.ts). */
import path from "node:path";
import { num } from "./text.js";
import type { LandscapeResult } from "../run/landscape.js";

export function landscapeSummary(r: LandscapeResult, outDir: string, formats: string[]): string {
  return `landscape ${r.x.n}x${r.y.n}: minimum loss ${num(r.minimum.loss, 4)} at ${r.x.name} = ${num(r.minimum[r.x.name])} ${r.x.unit}, ${r.y.name} = ${num(r.minimum[r.y.name])} ${r.y.unit} (${r.time_s.toFixed(1)} s); wrote ${path.join(outDir, `landscape.{csv,json,${formats.join(",")}}`)}`;
}
