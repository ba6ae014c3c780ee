/** Time of one sysid epoch: 100 trials, 1 ns each at 0.5 ps (2000 RK4 steps), gradient included. */
import { simulate } from "../cli/simulator.js";
import { defaultParams, PARAMS } from "../cli/model.js";
import { CoreEvaluator, Evaluator, TeacherArrays } from "../cli/sysid.js";
import { PoolEvaluator } from "../cli/pool.js";

export async function teacherArrays(trials: number): Promise<TeacherArrays> {
  const offsets = [0];
  const t: number[] = [];
  const mx: number[] = [];
  const m0: number[] = [];
  await simulate({ params: defaultParams(), scheme: "rk4", dtS: 0.5e-12, temperatureK: 0, seed: 1n, trials, washoutS: 10e-9, sampleS: 50e-12, durationS: 1e-9 }, async (b) => {
    for (let i = 0; i < b.count; i++) {
      for (let s = 0; s < b.nSamples; s++) {
        const k = 3 * (i * b.nSamples + s);
        if (s === 0) m0.push(b.data[k], b.data[k + 1], b.data[k + 2]);
        t.push(s * 50e-12);
        mx.push(b.data[k]);
      }
      offsets.push(t.length);
    }
  });
  return { offsets: Uint32Array.from(offsets), t_s: Float64Array.from(t), mx: Float64Array.from(mx), m0: Float64Array.from(m0), labels: [] };
}

async function epochMs(ev: Evaluator, fit: number[], mode: "dual" | "adjoint", trials: number): Promise<number> {
  const v = defaultParams();
  v[1] = 1800;
  v[8] = 4.5e-3;
  v[9] = 0.006;
  const sel = Array.from({ length: trials }, (_, i) => i);
  await ev.evaluate(v, fit, mode, sel);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    // one epoch as sysid runs it: mini-batches of 10 trials
    for (let b = 0; b < trials; b += 10) await ev.evaluate(v, fit, mode, sel.slice(b, b + 10));
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}

export async function sysidBench(): Promise<string[][]> {
  const teacher = await teacherArrays(100);
  const one = [PARAMS.find((p) => p.name === "H_appl")!.index];
  const three = ["H_appl", "j_DC", "alpha"].map((n) => PARAMS.find((p) => p.name === n)!.index);
  const rows: string[][] = [];
  for (const threads of [1, 2]) {
    const ev: Evaluator = threads === 1 ? new CoreEvaluator(teacher, 0.5e-12, 0.5e-9) : new PoolEvaluator(teacher, 0.5e-12, 0.5e-9, 2);
    for (const mode of ["dual", "adjoint"] as const) {
      for (const fit of [one, three]) {
        const ms = await epochMs(ev, fit, mode, 100);
        rows.push([String(threads), mode, String(fit.length), ms.toFixed(1), (5400 / ms).toFixed(0)]);
      }
    }
    await ev.close();
  }
  return rows;
}
