/** `stoopt landscape`: the loss on a grid of two parameters, as CSV and a heatmap (Fig. 3 a-b); the work is cli/run/landscape.ts. */
import { Command } from "commander";
import { collect } from "../options/parse.js";
import { addFixedParamOptions, addTeacherOptions } from "../options/teacher.js";
import { addFigureOptions } from "../options/figures.js";
import { landscapeSettingsFromFlags } from "../options/landscape.js";
import { info } from "../log.js";
import { toJson } from "../render/text.js";
import { landscapeSummary } from "../render/landscape.js";
import { landscapeGridCsv } from "../render/figures/sysid.js";
import { runLandscape } from "../run/landscape.js";

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
    const { settings, csv, json, notes } = landscapeSettingsFromFlags(file, opts);
    for (const n of notes) info(`stoopt: ${n}`);
    const r = await runLandscape(settings);
    info(landscapeSummary(r, settings.out, settings.export.formats));
    if (csv) process.stdout.write(landscapeGridCsv(r));
    if (json) process.stdout.write(toJson({ ...r, loss: undefined }));
  });
  return cmd;
}
