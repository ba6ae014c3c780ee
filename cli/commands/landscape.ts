/** `stoopt landscape`: the loss on a grid of two parameters, as CSV and a heatmap (Fig. 3 a-b). */
import { VERSION } from "../version.js";
import { Command } from "commander";
import fs from "node:fs";
import path from "node:path";
import { paramByName } from "../model.js";
import { Interrupted, UsageError } from "../errors.js";
import { evaluateLandscape, gridValue, Landscape, minimum } from "../run/landscape-grid.js";
import { addFixedParamOptions, addTeacherOptions, loadTeacher, makeEvaluator, optionReader, rangesFor, collect } from "../options/teacher.js";
import { info, progress } from "../log.js";
import { csv, num, toJson, writeJson } from "../render/text.js";
import { checkOutputDir, declareInput, ensureDir } from "../output.js";
import { stopsCleanly } from "../signals.js";
import { SYSID_RESULT, validate } from "../schema.js";
import { landscapeFigure } from "../render/figures/sysid.js";
import { addFigureOptions, exportOptions, writeFigures } from "../render/figures/export.js";

/** grid points of one landscape (each a full pass over the teacher) */
export const MAX_GRID_POINTS = 1_000_000;

export function landscapeCsv(l: Landscape): string {
  const rows: Record<string, number>[] = [];
  for (let j = 0; j < l.y.n; j++)
    for (let i = 0; i < l.x.n; i++) rows.push({ [l.x.spec.name]: gridValue(l.x, i), [l.y.spec.name]: gridValue(l.y, j), loss: l.loss[j * l.x.n + i] });
  return csv([l.x.spec.name, l.y.spec.name, "loss"], rows);
}

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
    const t0 = Date.now();
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
    const outDir = str("out")!;
    if (str("result") !== undefined) declareInput(str("result")!, "--result file");
    checkOutputDir(outDir, "--out", ["landscape.csv", "landscape.json", ...ex.formats.map((f) => `landscape.${f}`)]);
    const overlay = str("result") !== undefined ? readSysidPath(str("result")!, xs.name, ys.name) : undefined;
    const loaded = await loadTeacher(file, opts, [
      { spec: xs, range: ranges.get(xs.name)! },
      { spec: ys, range: ranges.get(ys.name)! },
    ]);
    const ev = makeEvaluator(loaded);
    const x = { spec: xs, range: ranges.get(xs.name)!, n: Number(g[1]) };
    const y = { spec: ys, range: ranges.get(ys.name)!, n: Number(g[2]) };
    const bar = progress(x.n * y.n, "landscape");
    let l: Landscape;
    const release = stopsCleanly();
    try {
      l = await evaluateLandscape(ev, loaded.arrays.labels.length, loaded.base, x, y, (d) => bar.update(d));
    } catch (e) {
      // a partial grid has no meaningful minimum: nothing is written, earlier files stay as they were
      if (e instanceof Interrupted) throw new Interrupted(e.signal, `interrupted by ${e.signal}: the grid was not finished; nothing was written to ${outDir}`);
      throw e;
    } finally {
      release();
      bar.stop();
      await ev.close();
    }
    const min = minimum(l);
    const grid = landscapeCsv(l);
    const summary = {
      stoopt: VERSION,
      command: "landscape",
      input: { file, sha256: loaded.data.sha256, trials: loaded.arrays.labels.length },
      x: { name: xs.name, unit: xs.unit, range: x.range, n: x.n },
      y: { name: ys.name, unit: ys.unit, range: y.range, n: y.n },
      minimum: { [xs.name]: min.x, [ys.name]: min.y, loss: min.loss },
      settings: { dt_s: loaded.dtS, washout_s: loaded.washoutS, fixed: Object.fromEntries([...loaded.base].map((v, i) => [i, v])) },
      loss: Array.from(l.loss),
      time_s: (Date.now() - t0) / 1000,
    };
    ensureDir(outDir, "--out");
    writeJson(path.join(outDir, "landscape.json"), summary, "--out");
    // the figure writes landscape.csv (the grid) beside it
    await writeFigures(outDir, [landscapeFigure(summary, overlay)], ex);
    info(
      `landscape ${x.n}x${y.n}: minimum loss ${num(min.loss, 4)} at ${xs.name} = ${num(min.x)} ${xs.unit}, ${ys.name} = ${num(min.y)} ${ys.unit} (${summary.time_s.toFixed(1)} s); wrote ${path.join(outDir, `landscape.{csv,json,${ex.formats.join(",")}}`)}`,
    );
    if (flag("csv")) process.stdout.write(grid);
    if (flag("json")) process.stdout.write(toJson({ ...summary, loss: undefined }));
  });
  return cmd;
}

export interface SysidPath {
  path: [number, number][];
  start: [number, number];
  end: [number, number];
  /** the teacher's true point, when the result knows it (from the teacher's simulate sidecar) */
  truth?: [number, number];
}

/** The best start's path (start point, then the values after each epoch) from a sysid result. */
export function readSysidPath(file: string, xName: string, yName: string): SysidPath {
  let res: {
    fit?: Record<string, { value: number; start: number; true?: number }>;
    history?: { start: number; values: Record<string, number> }[];
    best_start?: number;
  };
  try {
    res = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`--result: cannot read '${file}' as a sysid result JSON (${(e as Error).message.split("\n")[0]})`);
  }
  validate(res, SYSID_RESULT, file);
  const fx = res.fit?.[xName];
  const fy = res.fit?.[yName];
  if (!fx || !fy || !Array.isArray(res.history)) throw new UsageError(`--result: '${file}' is not a sysid result that fitted both ${xName} and ${yName}`);
  const hist = res.history.filter((h) => h.start === (res.best_start ?? 0));
  const start: [number, number] = [fx.start, fy.start];
  const truth: [number, number] | undefined = typeof fx.true === "number" && typeof fy.true === "number" ? [fx.true, fy.true] : undefined;
  return {
    path: [start, ...hist.map((h): [number, number] => [h.values[xName], h.values[yName]])],
    start,
    end: [fx.value, fy.value],
    ...(truth ? { truth } : {}),
  };
}
