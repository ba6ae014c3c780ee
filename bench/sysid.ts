/** Time of one sysid epoch: 100 trials, 1 ns each at 0.5 ps (2000 RK4 steps), gradient included. */
import { simulate } from "../cli/simulator.js";
import { defaultParams, PARAMS } from "../cli/model.js";
import { CoreEvaluator, Evaluator, fitOnce, FitParam, Refinement, runFit, TeacherArrays } from "../cli/fit/sysid.js";
import { PoolEvaluator } from "../cli/fit/pool.js";
import { PARAM_SLOT } from "../cli/core/codes.js";

/** A noise-free teacher of `trials` trials (1 ns sampled every 50 ps after `washoutS`), flattened for the core. */
export async function teacherArrays(trials: number, params = defaultParams(), washoutS = 10e-9): Promise<TeacherArrays> {
  const offsets = [0];
  const t: number[] = [];
  const mx: number[] = [];
  const m0: number[] = [];
  await simulate({ params, scheme: "rk4", dtS: 0.5e-12, temperatureK: 0, seed: 1n, trials, washoutS, sampleS: 50e-12, durationS: 1e-9 }, async (b) => {
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
  v[PARAM_SLOT.j_DC] = 4.5e-3;
  v[PARAM_SLOT.alpha] = 0.006;
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

/**
 * One epoch as `stoopt sysid` runs it: ten mini-batches of 10 trials, each
 * evaluated with its gradient and followed by an Adam step, then the loss on
 * all 100 trials at the point reached. Every epoch of a fit of 20 (sysid's
 * default --epochs) runs (no plateau hand-over, no refinement); ms per epoch
 * is the fit's wall time over its epochs. With 2 threads and one start, an
 * epoch's full-data loss is evaluated during the next epoch's mini-batches,
 * where the lighter share would wait (cli/fit/pool.ts), and the last epoch's
 * after them: a fit of few epochs gains less.
 * - One start (`fitOnce`): with 2 threads the main thread and one worker
 *   share each evaluation (the worker's share through the shared-memory
 *   channel of cli/fit/channel.ts).
 * - Four starts (`runFit --starts 4`, as the README's main job): with 2
 *   threads the starts run side by side, one on each thread; ms per epoch is
 *   the wall time over the 80 epochs of the four starts.
 * Best of 5 runs (noise only ever adds time).
 */
export async function sysidFitEpochBench(): Promise<string[][]> {
  const teacher = await teacherArrays(100);
  const spec = (n: string) => PARAMS.find((p) => p.name === n)!;
  const three = ["H_appl", "j_DC", "alpha"].map((n) => ({ spec: spec(n), range: spec(n).range!, start: (spec(n).range![0] + spec(n).range![1]) / 2 }));
  const cases: [string, FitParam[], number][] = [
    ["H_appl", [{ spec: spec("H_appl"), range: [1500, 2000], start: 1750 }], 1],
    ["H_appl, j_DC, alpha", three, 1],
    ["H_appl, 4 starts", [{ spec: spec("H_appl"), range: [1500, 2000], start: 1750 }], 4],
  ];
  const base = defaultParams();
  base[1] = 1800;
  base[PARAM_SLOT.j_DC] = 4.5e-3;
  base[PARAM_SLOT.alpha] = 0.006;
  const rows: string[][] = [];
  const oneThread: number[] = [];
  for (const threads of [1, 2]) {
    const ev: Evaluator = threads === 1 ? new CoreEvaluator(teacher, 0.5e-12, 0.5e-9) : new PoolEvaluator(teacher, 0.5e-12, 0.5e-9, 2);
    for (const [k, [label, params, starts]] of cases.entries()) {
      const epochs = 20;
      const opts = {
        base,
        params,
        stages: [{ lr: Object.fromEntries(params.map((p) => [p.spec.name, 0.1 * (p.range[1] - p.range[0])])), epochs }],
        mode: "dual" as const,
        batch: 10,
        seed: 1,
        maxFailures: 8,
      };
      const run = async (): Promise<void> => {
        if (starts === 1)
          await fitOnce(
            ev,
            100,
            opts,
            0,
            params.map((p) => p.start),
            [],
            [],
          );
        else await runFit(ev, 100, { ...opts, starts, refine: "none", patience: 0, minImprovement: 0 });
      };
      await run(); // warm-up: wasm tier-up, the worker's channel
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint();
        await run();
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6 / (epochs * starts));
      }
      if (threads === 1) oneThread[k] = best;
      rows.push([String(threads), label, best.toFixed(1), threads === 1 ? "1.00" : (oneThread[k] / best).toFixed(2)]);
    }
    await ev.close();
  }
  return rows;
}

/**
 * Time to convergence (issue 16, acceptance 6): the noise-free 3-parameter
 * case of the issue (100 trials, 100 ns washout, 50 ps sampling, 1 ns;
 * H_appl 1650 Oe, j_DC 6.2 mA, alpha 0.004; H_appl, j_DC, alpha fitted from
 * the middle of the paper's ranges, 2 threads). "Adam only" is main's method
 * before the refinement (`--refine none`, 20 epochs); the others are the
 * default (Adam, then Levenberg-Marquardt) and LM alone (`--epochs 0`).
 */
export async function sysidConvergenceBench(): Promise<string[][]> {
  const truth = { H_appl: 1650, j_DC: 6.2e-3, alpha: 0.004 };
  const params = defaultParams();
  const specs = (["H_appl", "j_DC", "alpha"] as const).map((n) => PARAMS.find((p) => p.name === n)!);
  for (const s of specs) params[s.index] = truth[s.name as keyof typeof truth];
  const teacher = await teacherArrays(100, params, 100e-9);
  const fitParams: FitParam[] = specs.map((s) => ({ spec: s, range: s.range!, start: (s.range![0] + s.range![1]) / 2 }));
  const rows: string[][] = [];
  const cases: [string, Refinement, number, number][] = [
    ["Adam only, 20 epochs (main's method; --refine none)", "none", 20, 0],
    ["Adam 20 epochs, then Levenberg-Marquardt (--patience 0)", "lm", 20, 0],
    ["Adam to a plateau (at most 20 epochs), then Levenberg-Marquardt (default: --patience 2)", "lm", 20, 2],
    ["Levenberg-Marquardt alone (--epochs 0)", "lm", 0, 0],
  ];
  for (const [label, refine, epochs, patience] of cases) {
    const ev = new PoolEvaluator(teacher, 0.5e-12, 0.5e-9, 2);
    const t0 = process.hrtime.bigint();
    const out = await runFit(ev, 100, {
      base: params,
      params: fitParams,
      stages: [{ lr: Object.fromEntries(fitParams.map((p) => [p.spec.name, 0.1 * (p.range[1] - p.range[0])])), epochs }],
      mode: "dual",
      batch: 10,
      seed: 1,
      maxFailures: 8,
      starts: 1,
      refine,
      patience,
      minImprovement: 0.1,
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    await ev.close();
    const err = Math.max(
      ...out.params.map((p, i) => Math.abs(p.value - truth[p.name as keyof typeof truth]) / (fitParams[i].range[1] - fitParams[i].range[0])),
    );
    const sig = Math.max(...out.params.map((p) => Math.abs(p.value - truth[p.name as keyof typeof truth]) / p.stderr));
    rows.push([label, s.toFixed(1), err.toExponential(1), sig.toFixed(1), `${out.status} (${out.convergence.reason})`]);
  }
  return rows;
}
