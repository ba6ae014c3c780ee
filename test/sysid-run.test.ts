/**
 * The whole fit (cli/fit/sysid.ts runFit) with evaluators made on purpose:
 * the best point is returned even when later epochs get worse, the
 * statistics follow lmfit's definitions, a bound is reported.
 */
import { describe, expect, it } from "vitest";
import { Evaluator, Parts, runFit, RunOptions, statistics } from "../cli/fit/sysid.js";
import { PARAMS, defaultParams } from "../cli/model.js";

const H = PARAMS.find((p) => p.name === "H_appl")!;

/**
 * 10 samples per trial; residual per sample r = (H - centre)/100 + offset,
 * offsets alternating +-spread (so the least-squares minimum is H = centre
 * with sum r^2 = n spread^2). After `turn` gradient evaluations the gradient
 * and J^T r point the wrong way (later epochs get worse). Every full-data
 * evaluation is logged with its loss and sum of squares.
 */
function fake(centre: number, spread: number, turn = Infinity) {
  const log: { h: number; loss: number; sumSq: number }[] = [];
  let gradCalls = 0;
  const ev: Evaluator = {
    async evaluate(values: Float64Array, fit: number[], mode: string, sel: number[]): Promise<Parts> {
      const h = values[H.index];
      let sumAbs = 0;
      let sumSq = 0;
      let g = 0;
      let jtr = 0;
      const n = 10 * sel.length;
      for (let k = 0; k < n; k++) {
        const r = (h - centre) / 100 + (k % 2 ? spread : -spread);
        sumAbs += Math.abs(r);
        sumSq += r * r;
        g += Math.sign(r) / 100;
        jtr += r / 100;
      }
      if (mode !== "loss") gradCalls++;
      const flip = mode !== "loss" && gradCalls > turn ? -1 : 1;
      if (sel.length === 10) log.push({ h, loss: sumAbs / n, sumSq });
      return { sumAbs, count: n, sumSq, grad: fit.map(() => flip * g), jtr: fit.map(() => flip * jtr), jtj: fit.map(() => fit.map(() => n / 1e4)) };
    },
    async close() {},
  };
  return { ev, log };
}

const options = (o: Partial<RunOptions> = {}): RunOptions => ({
  base: defaultParams(),
  params: [{ spec: H, range: [1500, 2000], start: 1600 }],
  stages: [{ lr: { H_appl: 50 }, epochs: 20 }],
  mode: "dual",
  batch: 3,
  seed: 1,
  maxFailures: 3,
  starts: 1,
  refine: "lm",
  ...o,
});

describe("runFit", () => {
  it("never returns a point with a higher loss than the best evaluated when later epochs get worse (Adam only)", async () => {
    const { ev, log } = fake(1800, 0, 25);
    const r = await runFit(ev, 10, options({ refine: "none" }));
    const best = Math.min(...log.map((e) => e.loss));
    // the evaluator really did make the later epochs worse
    const iBest = log.findIndex((e) => e.loss === best);
    expect(log.slice(iBest + 1).some((e) => e.loss > best + 0.1)).toBe(true);
    expect(r.history[r.history.length - 1].loss).toBeGreaterThan(best + 0.1);
    expect(r.stats.lossEq4).toBe(best);
    expect(r.objective).toBe("eq4");
    expect(r.status).toBe("not_converged");
    expect(r.convergence.reason).toBe("max_epochs");
    expect(r.warnings.join("\n")).toMatch(/not converged/);
  });

  it("never returns a point with a higher sum of squares than the best evaluated, refinement included", async () => {
    // the gradient turns after a few Adam steps and stays wrong in the refinement: its steps are all refused
    const { ev, log } = fake(1800, 0.01, 12);
    const r = await runFit(ev, 10, options());
    const best = Math.min(...log.map((e) => e.sumSq));
    const iBest = log.findIndex((e) => e.sumSq === best);
    expect(log.slice(iBest + 1).some((e) => e.sumSq > 2 * best)).toBe(true);
    expect(r.stats.sumSq).toBe(best);
    expect(r.objective).toBe("least_squares");
    expect(r.convergence.converged).toBe(r.convergence.reason === "xtol" || r.convergence.reason === "ftol" || r.convergence.reason === "gtol");
  });

  it("converges with Levenberg-Marquardt and reports the Gauss-Newton standard error and lmfit's statistics", async () => {
    const { ev } = fake(1800, 0.1);
    const r = await runFit(ev, 10, options({ stages: [{ lr: { H_appl: 50 }, epochs: 3 }] }));
    expect(r.status).toBe("ok");
    expect(r.convergence.converged).toBe(true);
    expect(Math.abs(r.params[0].value - 1800)).toBeLessThan(1e-9);
    // n = 100 residuals of +-0.1 at the minimum, J = 1/100 each: sigma_H = sqrt(s^2 / (n/1e4)), s^2 = n 0.01 / (n - 1)
    const n = 100;
    expect(r.params[0].statistical).toBeCloseTo(Math.sqrt(((n * 0.01) / (n - 1)) * (1e4 / n)), 9);
    expect(r.params[0].stderr).toBeGreaterThanOrEqual(r.params[0].statistical);
    expect(r.stats.nData).toBe(n);
    expect(r.stats.nFree).toBe(1);
    expect(r.stats.chiSquare).toBeCloseTo(1, 12);
    expect(r.stats.reducedChiSquare).toBeCloseTo(1 / 99, 12);
    expect(r.correlation).toEqual([[1]]);
  });

  it("reports a parameter on its bound as at_bound with a warning", async () => {
    const { ev } = fake(1650, 0.01);
    const r = await runFit(ev, 10, options({ params: [{ spec: H, range: [1700, 2000], start: 1850 }] }));
    expect(r.status).toBe("at_bound");
    expect(r.params[0].atBound).toBe(true);
    expect(r.params[0].value).toBe(1700);
    expect(r.warnings.join("\n")).toMatch(/H_appl = 1700 is on the lower bound of its range 1700:2000/);
  });

  it("computes chi-square, AIC and BIC as lmfit does", () => {
    const s = statistics(4, 10, 100, 2);
    expect(s.chiSquare).toBe(4);
    expect(s.reducedChiSquare).toBeCloseTo(4 / 98, 15);
    expect(s.aic).toBeCloseTo(100 * Math.log(4 / 100) + 4, 12);
    expect(s.bic).toBeCloseTo(100 * Math.log(4 / 100) + 2 * Math.log(100), 12);
    expect(s.sigma).toBeCloseTo(Math.sqrt(4 / 98), 15);
    expect(s.sigmaSource).toBe("estimated");
    const g = statistics(4, 10, 100, 2, 0.5);
    expect(g.chiSquare).toBe(16);
    expect(g.sigmaSource).toBe("given");
    expect(g.lossEq4).toBe(0.1);
  });
});

describe("Parts.jtr through the wasm ABI", () => {
  it("is the gradient of sum r^2 / 2 (central differences) and J^T J is symmetric", async () => {
    const { readTeacher } = await import("../cli/io/teacher-csv.js");
    const { teacherArrays } = await import("../cli/run/teacher.js");
    const { CoreEvaluator } = await import("../cli/fit/sysid.js");
    const { ROOT } = await import("./helpers.js");
    const data = await readTeacher(`${ROOT}/fixtures/teacher-small.csv`, { scale: 1 });
    const ev = new CoreEvaluator(teacherArrays(data), 0.5e-12, 0.5e-9);
    const n = ev.nTrials;
    const sel = Array.from({ length: n }, (_, i) => i);
    const names = ["H_appl", "j_DC", "alpha"];
    const fit = names.map((k) => PARAMS.find((p) => p.name === k)!.index);
    const v = defaultParams();
    v[fit[0]] = 1790;
    v[fit[1]] = 4.6e-3;
    v[fit[2]] = 0.0061;
    const parts = ev.evaluateSync(v, fit, "dual", sel);
    expect(parts.jtr.length).toBe(3);
    fit.forEach((j, a) => {
      const h = 1e-6 * Math.abs(v[j]);
      const at = (x: number) => {
        const w = Float64Array.from(v);
        w[j] = x;
        return ev.evaluateSync(w, [], "loss", sel).sumSq / 2;
      };
      const fd = (at(v[j] + h) - at(v[j] - h)) / (2 * h);
      expect(Math.abs(parts.jtr[a] - fd) / Math.abs(fd)).toBeLessThan(1e-5);
      for (let b = 0; b < 3; b++) expect(parts.jtj[a][b]).toBe(parts.jtj[b][a]);
    });
    // adjoint mode: no J^T r
    expect(ev.evaluateSync(v, fit, "adjoint", sel).jtr).toEqual([0, 0, 0]);
    await ev.close();
  });
});

/**
 * The built modules (the worker threads load dist/cli/fit/pool-worker.js) and
 * a fixture's teacher arrays read by them.
 */
async function built(fixture: string) {
  const { readTeacher } = await import("../dist/cli/io/teacher-csv.js");
  const { teacherArrays } = await import("../dist/cli/run/teacher.js");
  const { CoreEvaluator, runFit: runFitBuilt } = await import("../dist/cli/fit/sysid.js");
  const { PoolEvaluator, closeIdleWorkers } = await import("../dist/cli/fit/pool.js");
  const { ROOT } = await import("./helpers.js");
  const arrays = teacherArrays(await readTeacher(`${ROOT}/fixtures/${fixture}`, { scale: 1 }));
  return { arrays, CoreEvaluator, runFitBuilt, PoolEvaluator, closeIdleWorkers };
}

describe("two threads: whole starts in a worker, mini-batches through the shared-memory channel", () => {
  it("give exactly the one-thread fit: every start, epoch and value, and the refined point", async () => {
    const { arrays, CoreEvaluator, runFitBuilt, PoolEvaluator, closeIdleWorkers } = await built("teacher-small.csv");
    const J = PARAMS.find((p) => p.name === "j_DC")!;
    const o = (starts: number) =>
      options({
        params: [
          { spec: H, range: [1500, 2000], start: 1750 },
          { spec: J, range: [2.5e-3, 7.5e-3], start: 5e-3 },
        ],
        stages: [{ lr: { H_appl: 50, j_DC: 5e-4 }, epochs: 4 }],
        batch: 3,
        starts,
        patience: 2,
        minImprovement: 0.1,
        lm: { maxIterations: 3 },
      });
    for (const starts of [1, 3]) {
      const one = new CoreEvaluator(arrays, 0.5e-12, 0.5e-9);
      const two = new PoolEvaluator(arrays, 0.5e-12, 0.5e-9, 2);
      try {
        const a = await runFitBuilt(one, one.nTrials, o(starts));
        const b = await runFitBuilt(two, one.nTrials, o(starts));
        expect(b.starts).toEqual(a.starts);
        expect(b.history).toEqual(a.history);
        expect(b.events).toEqual(a.events);
        // sums over trials split differently between threads: equal to rounding
        b.params.forEach((p, i) => expect(Math.abs(p.value - a.params[i].value)).toBeLessThanOrEqual(1e-9 * Math.abs(a.params[i].value)));
      } finally {
        await one.close();
        await two.close();
      }
    }
    await closeIdleWorkers();
  });
});

describe("two threads, one start: the previous epoch's full-data loss as side work", () => {
  it("is the loss of those trials, taken by the lighter share; the fit equals the one that evaluates it after each epoch", async () => {
    const { arrays, CoreEvaluator, runFitBuilt, PoolEvaluator, closeIdleWorkers } = await built("teacher.csv");
    const one = new CoreEvaluator(arrays, 0.5e-12, 0.5e-9);
    const two = new PoolEvaluator(arrays, 0.5e-12, 0.5e-9, 2);
    try {
      expect(one.nTrials).toBe(100);
      expect(two.takesSideWork).toBe(true);
      const v = defaultParams();
      v[H.index] = 1780;
      const at = defaultParams();
      at[H.index] = 1830;
      const all = Array.from({ length: 100 }, (_, i) => i);
      // 10 trials = 5 SIMD pairs: 3 and 2, the lighter share takes loss trials at the other point
      const r = await two.evaluate(v, [H.index], "dual", all.slice(20, 30), { values: at, sel: all });
      expect(r.side!.taken).toBeGreaterThan(0);
      expect(r.side!.taken % 4).toBe(0);
      const direct = await one.evaluate(at, [], "loss", all.slice(0, r.side!.taken));
      expect(r.side!.parts.count).toBe(direct.count);
      expect(r.side!.parts.sumAbs).toBeCloseTo(direct.sumAbs, 10);
      expect(r.side!.parts.sumSq).toBeCloseTo(direct.sumSq, 10);
      const plain = await two.evaluate(v, [H.index], "dual", all.slice(20, 30));
      expect(r.sumAbs).toBe(plain.sumAbs);
      expect(r.grad).toEqual(plain.grad);

      // the same pool without side work: the fit's full-data losses evaluated after each epoch
      const sequential: Evaluator = { evaluate: (values, fit, mode, sel) => two.evaluate(values, fit, mode, sel), close: async () => {} };
      for (const extra of [{ patience: 0 }, { patience: 2, minImprovement: 0.99 }]) {
        // with patience: less than 99 % better counts as flat, so the hand-over follows epoch 3
        const o = options({
          stages: [{ lr: { H_appl: 50 }, epochs: 6 }],
          batch: 10,
          // the hand-over is to Levenberg-Marquardt (3 iterations here)
          lm: { maxIterations: 3 },
          ...extra,
        });
        const a = await runFitBuilt(sequential, 100, o);
        const b = await runFitBuilt(two, 100, o);
        expect(b.history).toEqual(a.history);
        expect(b.events).toEqual(a.events);
        expect(b.starts.map((s: { epochs: number; plateau: boolean; values: unknown }) => [s.epochs, s.plateau, s.values])).toEqual(
          a.starts.map((s: { epochs: number; plateau: boolean; values: unknown }) => [s.epochs, s.plateau, s.values]),
        );
        b.starts.forEach((s: { loss: number }, i: number) => expect(s.loss).toBeCloseTo(a.starts[i].loss, 12));
        if (extra.patience) expect([b.starts[0].plateau, b.starts[0].epochs]).toEqual([true, 3]);
        // and the one-thread fit, to rounding (sums split between threads)
        const c = await runFitBuilt(one, 100, o);
        expect(b.starts[0].epochs).toBe(c.starts[0].epochs);
        b.params.forEach((p: { value: number }, i: number) =>
          expect(Math.abs(p.value - c.params[i].value)).toBeLessThanOrEqual(1e-9 * Math.abs(c.params[i].value)),
        );
      }
    } finally {
      await one.close();
      await two.close();
      await closeIdleWorkers();
    }
  });
});
