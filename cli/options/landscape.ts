/** Flags of `stoopt landscape` into its settings (cli/run/landscape.ts), checked before any work. */
import { paramByName } from "../model.js";
import { UsageError } from "../errors.js";
import { optionReader, parsed } from "./parse.js";
import { rangesFor, teacherSettingsFromFlags } from "./teacher.js";
import { exportOptions } from "./figures.js";
import { LandscapeSettings, MAX_GRID_POINTS } from "../run/landscape.js";

/** The run's settings and what the command prints on stdout. */
export interface LandscapeFlags {
  settings: LandscapeSettings;
  /** also print the grid as CSV */
  csv: boolean;
  /** print the summary as JSON */
  json: boolean;
  /** notes of the figure settings (unit assumptions), printed before the work */
  notes: string[];
}

export function landscapeSettingsFromFlags(file: string, opts: Record<string, unknown>): LandscapeFlags {
  const { str, list, flag } = optionReader(opts);
  const xs = paramByName(str("x")!, "--x");
  const ys = paramByName(str("y")!, "--y");
  if (xs === ys) throw new UsageError("--x and --y name the same parameter");
  const g = /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(str("grid")!);
  if (!g || Number(g[1]) < 2 || Number(g[2]) < 2) throw new UsageError(`--grid: expected NxM with N, M >= 2 (e.g. 41x41), got '${str("grid")}'`);
  if (Number(g[1]) * Number(g[2]) > MAX_GRID_POINTS)
    throw new UsageError(`--grid: ${g[1]}x${g[2]} is ${(Number(g[1]) * Number(g[2])).toExponential(3)} points; the limit is N*M <= ${MAX_GRID_POINTS}`);
  const ranges = rangesFor([xs.name, ys.name], list("range"));
  const notes: string[] = [];
  const ex = exportOptions(opts, notes);
  return {
    settings: {
      file,
      teacher: parsed(() => teacherSettingsFromFlags(opts)),
      x: { spec: xs, range: ranges.get(xs.name)!, n: Number(g[1]) },
      y: { spec: ys, range: ranges.get(ys.name)!, n: Number(g[2]) },
      out: str("out")!,
      export: ex,
      overlay: str("result"),
    },
    csv: flag("csv"),
    json: flag("json"),
    notes,
  };
}
