/** `stoopt landscape`: the loss on a grid of two parameters, as CSV and a heatmap (Fig. 3 a-b); the work is cli/run/landscape.ts. */
import { Command } from "commander";
import { paramByName } from "../model.js";
import { UsageError } from "../errors.js";
import { collect, optionReader } from "../options/parse.js";
import { addFixedParamOptions, addTeacherOptions, rangesFor } from "../options/teacher.js";
import { addFigureOptions, exportOptions } from "../options/figures.js";
import { info } from "../log.js";
import { toJson } from "../render/text.js";
import { landscapeSummary } from "../render/landscape.js";
import { landscapeGridCsv } from "../render/figures/sysid.js";
import { LandscapeSettings, MAX_GRID_POINTS, runLandscape } from "../run/landscape.js";

export function landscapeCommand(): Command {
  const cmd = new Command("landscape")
    .description("Evaluate the loss (eq. 4) on a grid of two parameters and draw it as a heatmap (paper Fig. 3 a-b)")
    .usage("<teacher.csv|-> --x NAME --y NAME [options]")
    .argument("<teacher>", "teacher CSV, or - for stdin")
    .requiredOption("--x <name>", "parameter on the horizontal axis")
    .requiredOption("--y <name>", "parameter on the vertical axis")
    .option("--grid <NxM>", "grid points along x and y", "41x41")
    .option("--range <name=min:max>", "axis range (repeatable; default: the sysid ranges, e.g. H_appl 1500:2000 Oe, j_DC 2.5:7.5 mA)", collect)
    .option(
      "--result <sysid.json>",
      "overlay the optimization path of a 'stoopt sysid -o' result and mark its start, end and (when the result knows it) the true point",
    )
    .option("-o, --out <dir>", "folder for landscape.csv, landscape.json and the figure landscape.svg (--format)", ".")
    .option("--csv", "also print the grid as CSV on stdout")
    .option("--json", "print a summary (minimum, settings) as JSON on stdout");
  addTeacherOptions(cmd);
  addFixedParamOptions(cmd);
  addFigureOptions(cmd, "the figure");
  cmd.addHelpText(
    "after",
    `
Outputs: DIR/landscape.csv (x, y, loss), DIR/landscape.json (settings, grid, minimum) and
DIR/landscape.svg (heatmap, or .png/.pdf with --format; with --result, the sysid path from start to
end and the true point; the path and points also in DIR/landscape-overlay.csv).

Examples:
  stoopt simulate --H_appl 1800 --j_DC 5mA --trials 100 --washout 100ns -o teacher.csv
  stoopt landscape teacher.csv --x H_appl --y j_DC --grid 41x41 -o fig3/
  stoopt landscape teacher.csv --x H_appl --y j_DC --result fit.json -o fig3/`,
  );
  cmd.action(async (file: string, opts: Record<string, unknown>) => {
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
    for (const n of notes) info(`stoopt: ${n}`);
    const settings: LandscapeSettings = {
      file,
      teacherFlags: opts,
      x: { spec: xs, range: ranges.get(xs.name)!, n: Number(g[1]) },
      y: { spec: ys, range: ranges.get(ys.name)!, n: Number(g[2]) },
      out: str("out")!,
      export: ex,
      overlay: str("result"),
    };
    const r = await runLandscape(settings);
    info(landscapeSummary(r, settings.out, ex.formats));
    if (flag("csv")) process.stdout.write(landscapeGridCsv(r));
    if (flag("json")) process.stdout.write(toJson({ ...r, loss: undefined }));
  });
  return cmd;
}
