/** `stoopt plot`: render what a result file holds as SVG figures (the paper's figure kinds). */
import { Command } from "commander";
import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { readTeacher } from "../teacher.js";
import { defaultParams, PARAMS } from "../model.js";
import { info, note } from "../log.js";
import { checkOutputDir, declareInput } from "../output.js";
import { LANDSCAPE_RESULT, MNIST_RESULT, SYSID_RESULT, validate } from "../schema.js";
import { addFigureOptions, DEFAULT_EXPORT, exportOptions, ExportOptions, Figure, writeFigures } from "../plots/export.js";
import { Component, COMPONENTS, landscapeFigure, lossFigure, parameterFigure, SysidResultLike, trajectoryFigure } from "../plots/sysid.js";
import { denseStudent, studentAtSamples } from "../plots/student.js";
import { accuracyFigure, MnistCounts, MnistEpoch, physicsFigures, stoDynamicsFigures } from "../plots/mnist.js";
import { loadCheckpoint } from "../network/checkpoint.js";
import { initialTheta } from "../network/init.js";
import { stoDynamics } from "../network/dynamics.js";
import { DEFAULT_DATA, loadDataset } from "../idx.js";
import { core } from "../core/wasm.js";
import { intFlag } from "../options.js";
import { teacherArrays, optionReader } from "./common.js";
import { readSysidPath } from "./landscape.js";

interface SysidResult extends SysidResultLike {
  command: "sysid";
  input: { file: string; trials?: number; sha256?: string; truncated?: boolean };
  settings: { dt_s: number; washout_s: number; scale?: number; fixed: Record<string, { value: number }> };
}

export interface SysidPlotOptions {
  trial: number;
  teacher?: string;
  /** components drawn as panels (default: m_x alone, what the loss compares) */
  components?: Component[];
  export?: ExportOptions;
  /** draw the teacher even if its hash differs from the recorded one (with a warning) */
  force?: boolean;
}

/** `mx`, `mx,my,mz` or `all`, for --components. */
export function parseComponents(text: string, flag = "--components"): Component[] {
  const t = text.trim().toLowerCase();
  if (t === "all") return [...COMPONENTS];
  const names = t
    .split(",")
    .map((s) => s.trim().replace(/^m_/, "m"))
    .filter(Boolean);
  for (const n of names)
    if (!(COMPONENTS as readonly string[]).includes(n))
      throw new UsageError(`${flag}: unknown component '${n}' (expected a comma-separated list of mx, my, mz, or all)`);
  if (names.length === 0) throw new UsageError(`${flag}: name at least one of mx, my, mz`);
  return COMPONENTS.filter((c) => names.includes(c));
}

/** The teacher's temperature from its `stoopt simulate` sidecar, if there is one. */
function sidecarTemperature(file: string): number | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(`${file}.json`, "utf8"));
    return meta?.command === "simulate" && typeof meta.temperature_K === "number" ? meta.temperature_K : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fig. 2: loss and parameters against epoch, and teacher vs student for one
 * trial before and after the fit (the student densely from the core, the
 * teacher's samples as markers, a residual panel, the washout shaded).
 */
export async function plotSysid(r: SysidResult, dir: string, opts: SysidPlotOptions): Promise<string[]> {
  const figures: Figure[] = [lossFigure(r)];
  for (const name of Object.keys(r.fit)) figures.push(parameterFigure(r, name));
  const file = opts.teacher ?? r.input.file;
  if (file === "-") {
    info("stoopt: the teacher was read from stdin: give it with --teacher FILE to plot the trajectories");
  } else {
    declareInput(file, "teacher");
    // the teacher is read as far as the fit read it, so that its hash can be compared with the recorded one
    const data = await readTeacher(file, {
      maxTrials: r.input.truncated && r.input.trials !== undefined ? r.input.trials : undefined,
      scale: r.settings.scale ?? 1,
    });
    if (r.input.sha256 !== undefined && data.sha256 !== r.input.sha256) {
      const what = `${file} is not the teacher the result was fitted to (sha256 ${data.sha256.slice(0, 12)}..., the result records ${r.input.sha256.slice(0, 12)}...)`;
      if (!opts.force) throw new UsageError(`${what}; give the right file with --teacher, or --force to draw it anyway`);
      note(`${what}; drawing it anyway (--force)`);
    }
    if (data.trials.length <= opts.trial) throw new UsageError(`--trial: the teacher has ${data.trials.length} trials (counting from 0)`);
    const arrays = teacherArrays(data);
    const base = defaultParams();
    for (const p of PARAMS) if (r.settings.fixed[p.name]) base[p.index] = r.settings.fixed[p.name].value;
    const tr = data.trials[opts.trial];
    const temperature = sidecarTemperature(file);
    const t = Float64Array.from(tr.t_s, (x) => x - tr.t_s[0]);
    const teacher = { mx: tr.mx, my: tr.my, mz: tr.mz };
    const dtTeacher = t.length > 1 ? t[t.length - 1] / (t.length - 1) : 0;
    const teacherLabel = `teacher: trial ${tr.label}, ${Number((dtTeacher * 1e12).toPrecision(3))} ps samples${temperature !== undefined ? `, T = ${temperature} K` : ""}`;
    for (const which of ["start", "value"] as const) {
      const v = Float64Array.from(base);
      for (const [name, f] of Object.entries(r.fit)) v[PARAMS.find((p) => p.name === name)!.index] = f[which];
      const student = studentAtSamples(arrays, r.settings.dt_s, r.settings.washout_s, v, opts.trial);
      const dense = await denseStudent(v, tr, r.settings.dt_s);
      const tag = which === "start" ? "before" : "after";
      figures.push(
        trajectoryFigure({
          name: `trajectory-${tag}`,
          title: `Trial ${tr.label}, ${tag} the fit${r.input.trials !== undefined ? ` (${r.input.trials} trials)` : ""}`,
          components: opts.components ?? ["mx"],
          t_s: t,
          teacher,
          student,
          dense,
          washout_s: r.settings.washout_s,
          teacherLabel,
          studentLabel: `student ${tag === "before" ? "at the start values" : "fitted"}: RK4, ${Number((r.settings.dt_s * 1e12).toPrecision(3))} ps step`,
        }),
      );
    }
  }
  return writeFigures(dir, figures, opts.export ?? DEFAULT_EXPORT);
}

interface MnistResult {
  command: "mnist";
  config: { tune: string; cmOe: number };
  data?: MnistCounts;
  history: MnistEpoch[];
}

/**
 * Fig. 4 (b-f): accuracy, and the physical parameters' statistics, against
 * epoch; with the run's checkpoint, supplement Fig. 8: m_x, m_y, m_z of the
 * first `stos` STOs for test image `image`, with the seeded initial network
 * (before) and the trained one (after).
 */
export async function plotMnist(
  r: MnistResult,
  dir: string,
  opts: { checkpoint?: string; image: number; stos: number; export?: ExportOptions },
): Promise<string[]> {
  if (!Array.isArray(r.history) || r.history.length === 0) throw new UsageError("the mnist result has no finished epoch to plot");
  const figures: Figure[] = [accuracyFigure(r.history, `tune ${r.config.tune}, CM ${r.config.cmOe} Oe`, r.data ?? {}), ...physicsFigures(r.history)];
  if (opts.checkpoint && fs.existsSync(opts.checkpoint)) {
    const ck = loadCheckpoint(opts.checkpoint);
    const cfg = ck.header.config;
    const data = loadDataset(ck.header.data.dir ?? DEFAULT_DATA);
    if (opts.image >= data.test.count) throw new UsageError(`--image: the test set has ${data.test.count} images`);
    const img = data.test.images.subarray(opts.image * cfg.nIn, (opts.image + 1) * cfg.nIn);
    const label = data.test.labels[opts.image];
    const c = core();
    const pick = Array.from({ length: Math.min(opts.stos, cfg.n) }, (_, i) => i);
    for (const [tag, theta] of [
      ["before", initialTheta(c, cfg)],
      ["after", ck.theta],
    ] as const) {
      const d = stoDynamics(c, cfg, ck.wcp, theta, img, label);
      const stos = pick.map((i) => ({ index: i, m: d.state.map((st): [number, number, number] => [st[i], st[cfg.n + i], st[2 * cfg.n + i]]) }));
      figures.push(...stoDynamicsFigures(tag, d.t_s, stos, { index: opts.image, label }));
    }
  }
  return writeFigures(dir, figures, opts.export ?? DEFAULT_EXPORT);
}

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
    const { str } = optionReader(opts);
    const notes: string[] = [];
    const ex = exportOptions(opts, notes);
    for (const n of notes) info(`stoopt: ${n}`);
    const components = parseComponents(str("components")!);
    const trial = intFlag(str("trial")!, "--trial", 0);
    const image = intFlag(str("image")!, "--image", 0);
    const stos = intFlag(str("stos")!, "--stos", 1, 1000);
    let r: { command?: string };
    declareInput(file, "result file");
    try {
      r = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new UsageError(`${file}: cannot read as a result JSON (${(e as Error).message.split("\n")[0]})`);
    }
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw new UsageError(`${file}: not a stoopt result (expected a JSON object)`);
    const dir = str("out")!;
    checkOutputDir(dir, "--out");
    let files: string[];
    if (r.command === "sysid") {
      validate(r, SYSID_RESULT, file);
      files = await plotSysid(r as SysidResult, dir, { trial, teacher: str("teacher"), components, export: ex, force: Boolean(opts.force) });
    } else if (r.command === "mnist") {
      validate(r, MNIST_RESULT, file);
      const ck = str("checkpoint") ?? path.join(path.dirname(file), "checkpoint.bin");
      if (fs.existsSync(ck)) declareInput(ck, "checkpoint");
      files = await plotMnist(r as MnistResult, dir, { checkpoint: ck, image, stos, export: ex });
    } else if (r.command === "landscape") {
      validate(r, LANDSCAPE_RESULT, file);
      const l = r as unknown as Parameters<typeof landscapeFigure>[0];
      if (l.x.n < 2 || l.y.n < 2 || l.loss.length !== l.x.n * l.y.n)
        throw new UsageError(`${file}: field 'loss' has ${l.loss.length} values; expected x.n * y.n = ${l.x.n} * ${l.y.n} (each n >= 2)`);
      if (str("result")) declareInput(str("result")!, "--result file");
      const overlay = str("result") ? readSysidPath(str("result")!, l.x.name, l.y.name) : undefined;
      files = await writeFigures(dir, [landscapeFigure(l, overlay)], ex);
    } else {
      throw new UsageError(`${file}: not a stoopt result (its "command" is ${JSON.stringify(r.command)}; expected sysid, landscape or mnist)`);
    }
    info(`wrote ${files.join(", ")}`);
  });
  return cmd;
}
