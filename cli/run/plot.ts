/**
 * The work of `stoopt plot`: read a result file (validated by cli/io/schema.ts and
 * then typed as the result the command that wrote it returns) and draw its
 * figures (cli/render/figures/).
 */
import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { readTeacher } from "../io/teacher-csv.js";
import { defaultParams, PARAMS } from "../model.js";
import { info, note } from "../log.js";
import { checkOutputDir, declareInput } from "../io/output.js";
import { LANDSCAPE_RESULT, MNIST_RESULT, SYSID_RESULT, validate } from "../io/schema.js";
import { DEFAULT_EXPORT, ExportOptions, Figure, writeFigures } from "../render/figures/export.js";
import { Component, landscapeFigure, lossFigure, parameterFigure, trajectoryFigure } from "../render/figures/sysid.js";
import { accuracyFigure, physicsFigures, stoDynamicsFigures } from "../render/figures/mnist.js";
import { denseStudent, studentAtSamples } from "./student.js";
import { loadCheckpoint } from "../network/checkpoint.js";
import { initialTheta } from "../network/init.js";
import { stoDynamics } from "../network/dynamics.js";
import { DEFAULT_DATA, loadDataset } from "../io/idx.js";
import { core } from "../core/wasm.js";
import { teacherArrays } from "./teacher.js";
import type { SysidPlotInput } from "./sysid.js";
import type { LandscapeResult } from "./landscape.js";
import type { MnistResult } from "./mnist.js";
import { readSysidPath } from "./sysid-path.js";

export interface SysidPlotOptions {
  trial: number;
  teacher?: string;
  /** components drawn as panels (default: m_x alone, what the loss compares) */
  components?: Component[];
  export?: ExportOptions;
  /** draw the teacher even if its hash differs from the recorded one (with a warning) */
  force?: boolean;
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
export async function plotSysid(r: SysidPlotInput, dir: string, options: SysidPlotOptions): Promise<string[]> {
  const figures: Figure[] = [lossFigure(r)];
  for (const name of Object.keys(r.fit)) figures.push(parameterFigure(r, name));
  const file = options.teacher ?? r.input.file;
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
      if (!options.force) throw new UsageError(`${what}; give the right file with --teacher, or --force to draw it anyway`);
      note(`${what}; drawing it anyway (--force)`);
    }
    if (data.trials.length <= options.trial) throw new UsageError(`--trial: the teacher has ${data.trials.length} trials (counting from 0)`);
    const arrays = teacherArrays(data);
    const base = defaultParams();
    for (const p of PARAMS) if (r.settings.fixed[p.name]) base[p.index] = r.settings.fixed[p.name].value;
    const tr = data.trials[options.trial];
    const temperature = sidecarTemperature(file);
    const t = Float64Array.from(tr.t_s, (x) => x - tr.t_s[0]);
    const teacher = { mx: tr.mx, my: tr.my, mz: tr.mz };
    const dtTeacher = t.length > 1 ? t[t.length - 1] / (t.length - 1) : 0;
    const teacherLabel = `teacher: trial ${tr.label}, ${Number((dtTeacher * 1e12).toPrecision(3))} ps samples${temperature !== undefined ? `, T = ${temperature} K` : ""}`;
    for (const which of ["start", "value"] as const) {
      const v = Float64Array.from(base);
      for (const [name, f] of Object.entries(r.fit)) v[PARAMS.find((p) => p.name === name)!.index] = f[which];
      const student = studentAtSamples(arrays, r.settings.dt_s, r.settings.washout_s, v, options.trial);
      const dense = await denseStudent(v, tr, r.settings.dt_s);
      const tag = which === "start" ? "before" : "after";
      figures.push(
        trajectoryFigure({
          name: `trajectory-${tag}`,
          title: `Trial ${tr.label}, ${tag} the fit${r.input.trials !== undefined ? ` (${r.input.trials} trials)` : ""}`,
          components: options.components ?? ["mx"],
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
  return writeFigures(dir, figures, options.export ?? DEFAULT_EXPORT);
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
  options: { checkpoint?: string; image: number; stos: number; export?: ExportOptions },
): Promise<string[]> {
  if (!Array.isArray(r.history) || r.history.length === 0) throw new UsageError("the mnist result has no finished epoch to plot");
  const figures: Figure[] = [accuracyFigure(r.history, `tune ${r.config.tune}, CM ${r.config.cmOe} Oe`, r.data ?? {}), ...physicsFigures(r.history)];
  if (options.checkpoint && fs.existsSync(options.checkpoint)) {
    const ck = loadCheckpoint(options.checkpoint);
    const cfg = ck.header.config;
    const data = loadDataset(ck.header.data.dir ?? DEFAULT_DATA);
    if (options.image >= data.test.count) throw new UsageError(`--image: the test set has ${data.test.count} images`);
    const img = data.test.images.subarray(options.image * cfg.nIn, (options.image + 1) * cfg.nIn);
    const label = data.test.labels[options.image];
    const c = core();
    const pick = Array.from({ length: Math.min(options.stos, cfg.n) }, (_, i) => i);
    for (const [tag, theta] of [
      ["before", initialTheta(c, cfg)],
      ["after", ck.theta],
    ] as const) {
      const d = stoDynamics(c, cfg, ck.wcp, theta, img, label);
      const stos = pick.map((i) => ({ index: i, m: d.state.map((st): [number, number, number] => [st[i], st[cfg.n + i], st[2 * cfg.n + i]]) }));
      figures.push(...stoDynamicsFigures(tag, d.t_s, stos, { index: options.image, label }));
    }
  }
  return writeFigures(dir, figures, options.export ?? DEFAULT_EXPORT);
}

export interface PlotSettings {
  /** the result JSON */
  file: string;
  /** folder for the figures */
  out: string;
  export: ExportOptions;
  /** sysid: the trial drawn, the components, the teacher if not where the result says, draw a teacher whose hash differs */
  trial: number;
  components: Component[];
  teacher?: string;
  force: boolean;
  /** landscape: a sysid result whose path is drawn over the heatmap */
  overlay?: string;
  /** mnist: the checkpoint (default: checkpoint.bin beside the result), the test image and how many STOs are drawn */
  checkpoint?: string;
  image: number;
  stos: number;
}

export interface PlotResult {
  /** what the result file holds */
  kind: "sysid" | "landscape" | "mnist";
  /** the figure files written */
  files: string[];
}

/** Read a result, check it against its schema and draw its figures. */
export async function runPlot(s: PlotSettings): Promise<PlotResult> {
  const file = s.file;
  let r: { command?: string };
  declareInput(file, "result file");
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`${file}: cannot read as a result JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw new UsageError(`${file}: not a stoopt result (expected a JSON object)`);
  const dir = s.out;
  checkOutputDir(dir, "--out");
  if (r.command === "sysid") {
    validate(r, SYSID_RESULT, file);
    const files = await plotSysid(r as SysidPlotInput, dir, { trial: s.trial, teacher: s.teacher, components: s.components, export: s.export, force: s.force });
    return { kind: "sysid", files };
  }
  if (r.command === "mnist") {
    validate(r, MNIST_RESULT, file);
    const ck = s.checkpoint ?? path.join(path.dirname(file), "checkpoint.bin");
    if (fs.existsSync(ck)) declareInput(ck, "checkpoint");
    return { kind: "mnist", files: await plotMnist(r as MnistResult, dir, { checkpoint: ck, image: s.image, stos: s.stos, export: s.export }) };
  }
  if (r.command === "landscape") {
    validate(r, LANDSCAPE_RESULT, file);
    const l = r as LandscapeResult;
    if (l.x.n < 2 || l.y.n < 2 || l.loss.length !== l.x.n * l.y.n)
      throw new UsageError(`${file}: field 'loss' has ${l.loss.length} values; expected x.n * y.n = ${l.x.n} * ${l.y.n} (each n >= 2)`);
    if (s.overlay) declareInput(s.overlay, "--result file");
    const overlay = s.overlay ? readSysidPath(s.overlay, l.x.name, l.y.name) : undefined;
    return { kind: "landscape", files: await writeFigures(dir, [landscapeFigure(l, overlay)], s.export) };
  }
  throw new UsageError(`${file}: not a stoopt result (its "command" is ${JSON.stringify(r.command)}; expected sysid, landscape or mnist)`);
}
