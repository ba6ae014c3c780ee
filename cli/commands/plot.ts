/** `stoopt plot`: render what a result file holds as SVG figures (the paper's figure kinds); the work is cli/run/plot.ts. */
import { Command } from "commander";
import { info } from "../log.js";
import { addFigureOptions } from "../options/figures.js";
import { plotSettingsFromFlags } from "../options/plot.js";

export function plotCommand(): Command {
  const cmd = new Command("plot")
    .description("Render a result file as figures for print (SVG, PNG, PDF): sysid (Fig. 2), landscape (Fig. 3), mnist (Fig. 4, 8)")
    .usage("<result.json> [options]")
    .argument("<result>", "a result JSON written by 'stoopt sysid -o', 'stoopt landscape' (landscape.json) or 'stoopt mnist --out' (result.json)")
    .option("-o, --out <dir>", "folder for the figures", "plots")
    .option("--trial <k>", "sysid: the trial (0-based) whose trajectories are drawn", "0")
    .option("--components <list>", "sysid: magnetization components drawn, one panel each: mx (default: what the loss compares), mx,my,mz or all", "mx")
    .option("--teacher <file>", "sysid: the teacher file, if it is not where the result says (e.g. it came from stdin)")
    .option("--result <sysid.json>", "landscape: overlay this sysid result's path (and the true point when it knows it)")
    .option("--checkpoint <file>", "mnist: the checkpoint for the STO dynamics (default: checkpoint.bin beside the result)")
    .option("--image <k>", "mnist: the test image (0-based) whose STO dynamics are drawn", "0")
    .option("--stos <k>", "mnist: how many STOs to draw", "5")
    .option("--force", "sysid: draw the teacher even if its hash differs from the one the result records");
  addFigureOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Figures (axis titles carry units with an SI prefix chosen per axis; each figure's data is written
beside it as NAME.csv, in the units drawn):
  sysid:     loss, <parameter> (with the true value when the teacher's sidecar gives it),
             trajectory-before, trajectory-after (teacher samples as markers over the student
             integrated densely by the core, residual panel below, washout shaded)
  landscape: landscape (heatmap; with --result the optimization path, start, end and the true point)
  mnist:     accuracy (train and test, with the set sizes the run used), h_appl_mean, h_appl_var,
             j_dc, alpha (Fig. 4 b-f); with the checkpoint, dynamics-{before,after}-m{x,y,z}
             (supplement Fig. 8: the first --stos STOs for one test image, seeded initial vs trained)

Sizes: column = 8.5 cm wide, page = 17 cm; text is 7-9 pt at that size (1 SVG unit = 1 pt).
PNG and PDF embed DejaVu Sans (npm package dejavu-fonts-ttf), so they need no system fonts.

Examples:
  stoopt sysid teacher.csv --fit alpha -o fit.json && stoopt plot fit.json -o fig2/
  stoopt plot fit.json --components all --size page --format svg,pdf -o fig2/
  stoopt plot fig3/landscape.json --result fit.json --format png --dpi 600 -o fig3/
  stoopt plot results/full-cm10/result.json -o fig4/`,
  );
  cmd.action(async (file: string, opts: Record<string, unknown>) => {
    const settings = plotSettingsFromFlags(file, opts);
    const { runPlot } = await import("../run/plot.js");
    const r = await runPlot(settings);
    info(`wrote ${r.files.join(", ")}`);
  });
  return cmd;
}
