/**
 * Reading a teacher for sysid and landscape: the shared options (cli/options/teacher.ts)
 * checked, the CSV read (cli/io/teacher-csv.ts), flattened for the core, and an evaluator on it.
 */
import { ParamSpec } from "../model.js";
import type { TeacherSettings } from "../options/teacher.js";
import { UsageError } from "../errors.js";
import { readTeacher, TeacherData, TeacherTrial } from "../io/teacher-csv.js";
import { CoreEvaluator, Evaluator, TeacherArrays } from "../fit/sysid.js";
import { PoolEvaluator } from "../fit/pool.js";
import { note } from "../log.js";
import { declareInput } from "../io/output.js";
import { checkMemory, checkPrecessionStep, checkTimeAxis } from "../limits.js";

export interface LoadedTeacher {
  data: TeacherData;
  arrays: TeacherArrays;
  base: Float64Array;
  dtS: number;
  washoutS: number;
  threads: number;
  notes: string[];
}

/**
 * Read the teacher with the shared settings (cli/options/teacher.ts); check,
 * before any work, that the step resolves the precession over the `varied`
 * parameters' ranges and the teacher's time axis (cli/limits.ts).
 */
export async function loadTeacher(
  file: string,
  settings: TeacherSettings,
  varied: { spec: ParamSpec; range: [number, number] }[] = [],
): Promise<LoadedTeacher> {
  const r = await readTeacherData(file, settings, undefined, varied);
  const arrays = teacherArrays(r.data);
  checkTimeAxis({ file: r.data.file, column: r.data.timeColumn, trials: r.data.trials }, r.dtS, r.washoutS);
  return { ...r, arrays };
}

/**
 * The teacher as read with the shared settings (`signal`: a measured column in
 * place of mx), with the step and memory checks of `loadTeacher` but before
 * any check of what the fit needs (full state, time axis against the washout).
 */
export async function readTeacherData(
  file: string,
  settings: TeacherSettings,
  signal?: string,
  varied: { spec: ParamSpec; range: [number, number] }[] = [],
): Promise<Omit<LoadedTeacher, "arrays">> {
  const { base, dtS, washoutS, scale, threads, maxTrials, paramFlags } = settings;
  const notes = [...settings.notes];
  // the largest field the student will see: fixed values, and each varied parameter at its largest magnitude
  const worst = Float64Array.from(base);
  for (const v of varied) worst[v.spec.index] = Math.max(Math.abs(v.range[0]), Math.abs(v.range[1]));
  const named = ["H_appl", "H_K", "M", "gamma"].flatMap((n) =>
    varied.some((v) => v.spec.name === n) ? [`--range ${n}`] : paramFlags[n] !== undefined ? [`--${n} ${paramFlags[n]}`] : [],
  );
  checkPrecessionStep(worst, dtS, "--dt", named.join(", ") || "the default parameters");
  declareInput(file, "teacher");
  if (file !== "-") declareInput(`${file}.json`, "teacher's settings sidecar");
  const data = await readTeacher(file, { delimiter: settings.delimiter, maxTrials, scale, signal });
  for (const n of notes) note(n);
  // the teacher resident in each core: times and m_x (f64), the student's state at plot time (3 f64)
  checkMemory(
    data.rowsRead * 5 * 8,
    `${data.file}${maxTrials === undefined ? " (read fewer trials with --trials)" : " and --trials"}`,
    `the teacher (${data.rowsRead} samples)`,
  );
  return { data, base: Float64Array.from(base), dtS, washoutS, threads, notes };
}

export function makeEvaluator(t: LoadedTeacher): Evaluator {
  const n = t.arrays.labels.length;
  const used = t.threads > 1 && n > 1 ? Math.min(t.threads, n) : 1;
  note(`${n} trial${n > 1 ? "s" : ""} (${t.arrays.t_s.length} samples) on ${used} thread${used > 1 ? "s" : ""}: working`);
  return t.threads > 1 && n > 1 ? new PoolEvaluator(t.arrays, t.dtS, t.washoutS, Math.min(t.threads, n)) : new CoreEvaluator(t.arrays, t.dtS, t.washoutS);
}

/** Flatten the teacher for the core; the student needs the full state at each trial's first row. */
export function teacherArrays(d: TeacherData): TeacherArrays {
  if (!d.hasMy || !d.hasMz) {
    throw new UsageError(
      `${d.file}: the student starts from the teacher's full state (mx, my, mz) at each trial's first row, so the teacher needs columns my and mz (found: mx${d.hasMy ? ", my" : ""}${d.hasMz ? ", mz" : ""})`,
    );
  }
  const n = d.trials.reduce((s, t) => s + t.t_s.length, 0);
  const offsets = new Uint32Array(d.trials.length + 1);
  // the reader's columns when the trials lie in them end to end (no copy); else a copy in shared memory
  const whole = (pick: (tr: TeacherTrial) => Float64Array): Float64Array | undefined => {
    const first = pick(d.trials[0]);
    let at = first.byteOffset;
    for (const tr of d.trials) {
      const a = pick(tr);
      if (a.buffer !== first.buffer || a.byteOffset !== at) return undefined;
      at += a.byteLength;
    }
    return first.buffer instanceof SharedArrayBuffer ? new Float64Array(first.buffer, first.byteOffset, n) : undefined;
  };
  const inPlace = [whole((tr) => tr.t_s), whole((tr) => tr.mx)];
  const columns = inPlace[0] && inPlace[1] ? undefined : new SharedArrayBuffer(16 * n);
  const t = inPlace[0] && inPlace[1] ? inPlace[0] : new Float64Array(columns!, 0, n);
  const mx = inPlace[0] && inPlace[1] ? inPlace[1] : new Float64Array(columns!, 8 * n, n);
  const m0 = new Float64Array(3 * d.trials.length);
  let k = 0;
  d.trials.forEach((tr, i) => {
    if (columns) {
      t.set(tr.t_s, k);
      mx.set(tr.mx, k);
    }
    m0.set([tr.mx[0], tr.my![0], tr.mz![0]], 3 * i);
    const norm = Math.hypot(tr.mx[0], tr.my![0], tr.mz![0]);
    if (!(norm > 0.5))
      throw new UsageError(`${d.file}:${tr.line}: trial ${tr.label} starts at |m| = ${norm.toPrecision(3)}; the student needs a magnetization direction`);
    k += tr.t_s.length;
    offsets[i + 1] = k;
  });
  return { offsets, t_s: t, mx, m0, labels: d.trials.map((tr) => tr.label) };
}
