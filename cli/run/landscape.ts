/** The work of `stoopt landscape`: the loss of eq. (4) on a grid of two parameters (Fig. 3 a-b), evaluated in the wasm core. */
import path from "node:path";
import { Evaluator } from "../fit/sysid.js";
import { ParamSpec } from "../model.js";
import { Interrupted } from "../errors.js";
import { progress } from "../log.js";
import { writeJson } from "../render/text.js";
import { checkOutputDir, declareInput, ensureDir } from "../io/output.js";
import { stopsCleanly } from "../signals.js";
import { landscapeFigure } from "../render/figures/sysid.js";
import { ExportOptions, writeFigures } from "../render/figures/export.js";
import { loadTeacher, makeEvaluator } from "./teacher.js";
import { readSysidPath } from "./sysid-path.js";
import { VERSION } from "../version.js";
import { Parsed, settled } from "../options/parse.js";
import type { TeacherSettings } from "../options/teacher.js";
import { gridValue } from "../fit/landscape-grid.js";

export interface Axis {
  spec: ParamSpec;
  range: [number, number];
  n: number;
}

export interface Landscape {
  x: Axis;
  y: Axis;
  /** loss[j * nx + i] at (x_i, y_j) */
  loss: Float64Array;
}

export async function evaluateLandscape(
  ev: Evaluator,
  nTrials: number,
  base: Float64Array,
  x: Axis,
  y: Axis,
  onPoint: (done: number) => void = () => undefined,
): Promise<Landscape> {
  const all = Array.from({ length: nTrials }, (_, i) => i);
  const loss = new Float64Array(x.n * y.n);
  const v = Float64Array.from(base);
  for (let j = 0; j < y.n; j++) {
    for (let i = 0; i < x.n; i++) {
      v[x.spec.index] = gridValue(x, i);
      v[y.spec.index] = gridValue(y, j);
      const p = await ev.evaluate(v, [], "loss", all);
      loss[j * x.n + i] = p.sumAbs / p.count;
      onPoint(j * x.n + i + 1);
    }
  }
  return { x, y, loss };
}

/** The grid point with the lowest (finite) loss. */
export function minimum(l: Landscape): { i: number; j: number; x: number; y: number; loss: number } {
  let best = -1;
  for (let k = 0; k < l.loss.length; k++) if (Number.isFinite(l.loss[k]) && (best < 0 || l.loss[k] < l.loss[best])) best = k;
  const i = best % l.x.n;
  const j = Math.floor(best / l.x.n);
  return { i, j, x: gridValue(l.x, i), y: gridValue(l.y, j), loss: l.loss[best] };
}

/** grid points of one landscape (each a full pass over the teacher) */
export const MAX_GRID_POINTS = 1_000_000;

export interface LandscapeSettings {
  /** the teacher CSV, or - for stdin */
  file: string;
  /** the shared teacher settings (--dt, --washout, --trials, ..., fixed parameters); a flag's error is raised where the teacher is read */
  teacher: Parsed<TeacherSettings>;
  x: { spec: ParamSpec; range: [number, number]; n: number };
  y: { spec: ParamSpec; range: [number, number]; n: number };
  /** folder of landscape.csv, landscape.json and the figure */
  out: string;
  export: ExportOptions;
  /** a sysid result whose path is drawn over the heatmap */
  overlay?: string;
}

/** landscape.json: what `stoopt landscape` writes and `stoopt plot` reads (cli/io/schema.ts LANDSCAPE_RESULT). */
export interface LandscapeResult {
  stoopt: string;
  command: "landscape";
  input: { file: string; sha256: string; trials: number };
  x: { name: string; unit: string; range: [number, number]; n: number };
  y: { name: string; unit: string; range: [number, number]; n: number };
  /** the grid point of lowest loss, by parameter name, and its loss */
  minimum: Record<string, number>;
  settings: { dt_s: number; washout_s: number; fixed: Record<string, number> };
  /** loss[j * x.n + i] at (x_i, y_j) */
  loss: number[];
  time_s: number;
}

/** Evaluate the grid and write DIR/landscape.json and the figure (which writes landscape.csv beside it). */
export async function runLandscape(s: LandscapeSettings): Promise<LandscapeResult> {
  const t0 = Date.now();
  const { x, y, out: outDir } = s;
  if (s.overlay !== undefined) declareInput(s.overlay, "--result file");
  checkOutputDir(outDir, "--out", ["landscape.csv", "landscape.json", ...s.export.formats.map((f) => `landscape.${f}`)]);
  const overlay = s.overlay !== undefined ? readSysidPath(s.overlay, x.spec.name, y.spec.name) : undefined;
  const loaded = await loadTeacher(s.file, settled(s.teacher), [
    { spec: x.spec, range: x.range },
    { spec: y.spec, range: y.range },
  ]);
  const ev = makeEvaluator(loaded);
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
  const result: LandscapeResult = {
    stoopt: VERSION,
    command: "landscape",
    input: { file: s.file, sha256: loaded.data.sha256, trials: loaded.arrays.labels.length },
    x: { name: x.spec.name, unit: x.spec.unit, range: x.range, n: x.n },
    y: { name: y.spec.name, unit: y.spec.unit, range: y.range, n: y.n },
    minimum: { [x.spec.name]: min.x, [y.spec.name]: min.y, loss: min.loss },
    settings: { dt_s: loaded.dtS, washout_s: loaded.washoutS, fixed: Object.fromEntries([...loaded.base].map((v, i) => [i, v])) },
    loss: Array.from(l.loss),
    time_s: (Date.now() - t0) / 1000,
  };
  ensureDir(outDir, "--out");
  writeJson(path.join(outDir, "landscape.json"), result, "--out");
  // the figure writes landscape.csv (the grid) beside it
  await writeFigures(outDir, [landscapeFigure(result, overlay)], s.export);
  return result;
}
