/** Vega-Lite specs rendered to SVG in Node (Vega's SVG renderer; no native modules). */
import * as vega from "vega";
import { compile, TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../output.js";

export type Spec = TopLevelSpec;

export async function svgOf(spec: Spec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function writeSvg(file: string, spec: Spec, flag: string): Promise<void> {
  writeFileAtomic(file, await svgOf(spec), flag);
}
