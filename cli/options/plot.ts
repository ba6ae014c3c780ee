/** Flags of `stoopt plot` into its settings (cli/run/plot.ts). */
import { intFlag, optionReader } from "./parse.js";
import { exportOptions, parseComponents } from "./figures.js";
import type { PlotSettings } from "../run/plot.js";
import { info } from "../log.js";

/** The settings; the figure settings' notes (unit assumptions) are printed as soon as those are read. */
export function plotSettingsFromFlags(file: string, opts: Record<string, unknown>): PlotSettings {
  const { str } = optionReader(opts);
  const notes: string[] = [];
  const ex = exportOptions(opts, notes);
  for (const n of notes) info(`stoopt: ${n}`);
  return {
    file,
    out: str("out")!,
    export: ex,
    components: parseComponents(str("components")!),
    trial: intFlag(str("trial")!, "--trial", 0),
    image: intFlag(str("image")!, "--image", 0),
    stos: intFlag(str("stos")!, "--stos", 1, 1000),
    teacher: str("teacher"),
    force: Boolean(opts.force),
    overlay: str("result"),
    checkpoint: str("checkpoint"),
  };
}
