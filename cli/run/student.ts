/**
 * The data behind a teacher-vs-student figure: the student at the teacher's
 * samples (the sysid evaluator, exactly what the loss compares) and densely
 * (the same RK4 at the same step from the same initial state, sampled finely
 * enough for at least 20 points per oscillation period).
 */
import type { TeacherTrial } from "../io/teacher-csv.js";
import { CoreEvaluator, TeacherArrays } from "../fit/sysid.js";
import { simulate } from "../simulator.js";
import type { Component } from "../render/figures/sysid.js";

type M = Record<Component, Float64Array>;

/** Points per oscillation period of a sampled signal (from its crossings of the mean); Infinity if it does not oscillate. */
export function pointsPerPeriod(v: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i] / v.length;
  let crossings = 0;
  for (let i = 1; i < v.length; i++) if (v[i - 1] - mean < 0 !== v[i] - mean < 0) crossings++;
  return crossings >= 2 ? v.length / (crossings / 2) : Infinity;
}

const MIN_POINTS_PER_PERIOD = 20;
const MAX_DENSE_POINTS = 20000;

/** The dense student of one trial, from the trial's first-row state, at a multiple of the step `dtS`. */
export async function denseStudent(params: Float64Array, tr: TeacherTrial, dtS: number): Promise<{ t_s: Float64Array; m: M }> {
  const t = tr.t_s;
  const span = t[t.length - 1] - t[0];
  const dtTeacher = t.length > 1 ? span / (t.length - 1) : dtS;
  const m0 = [tr.mx[0], tr.my![0], tr.mz![0]];
  const norm = Math.hypot(m0[0], m0[1], m0[2]);
  const run = async (k: number) => {
    const sampleS = k * dtS;
    const n = Math.max(1, Math.ceil(span / sampleS - 1e-9));
    const out = new Float64Array(3 * (n + 1));
    await simulate(
      {
        params,
        scheme: "rk4",
        dtS,
        temperatureK: 0,
        seed: 1n,
        trials: 1,
        washoutS: 0,
        sampleS,
        durationS: n * sampleS,
        m0: [m0[0] / norm, m0[1] / norm, m0[2] / norm],
      },
      async (b) => void out.set(b.data, 3 * b.sample0),
    );
    const comp = (c: number) => Float64Array.from({ length: n + 1 }, (_, i) => out[3 * i + c]);
    return { t_s: Float64Array.from({ length: n + 1 }, (_, i) => i * sampleS), m: { mx: comp(0), my: comp(1), mz: comp(2) } };
  };
  // ten points per teacher step to start with, never finer than the integration step
  let k = Math.max(1, Math.floor(dtTeacher / (10 * dtS)));
  k = Math.max(k, Math.ceil(span / dtS / MAX_DENSE_POINTS));
  let d = await run(k);
  const ppp = pointsPerPeriod(d.m.mx);
  if (ppp < MIN_POINTS_PER_PERIOD && k > 1) {
    k = Math.max(1, Math.floor((k * ppp) / MIN_POINTS_PER_PERIOD));
    d = await run(k);
  }
  return d;
}

/** The student at the teacher's samples of trial `trial`, as the sysid loss sees it. */
export function studentAtSamples(arrays: TeacherArrays, dtS: number, washoutS: number, params: Float64Array, trial: number): M {
  const ev = new CoreEvaluator(arrays, dtS, washoutS);
  try {
    const out = new Float64Array(3 * ev.totalSamples);
    ev.evaluateSync(params, [], "loss", [trial], out);
    const off = arrays.offsets[trial];
    const n = arrays.offsets[trial + 1] - off;
    const comp = (c: number) => Float64Array.from({ length: n }, (_, k) => out[3 * (off + k) + c]);
    return { mx: comp(0), my: comp(1), mz: comp(2) };
  } finally {
    void ev.close();
  }
}
