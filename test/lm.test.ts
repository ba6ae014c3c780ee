/** Bounded Levenberg-Marquardt (cli/fit/lm.ts) on least-squares problems with known answers. */
import { describe, expect, it } from "vitest";
import { invertSpd, levenbergMarquardt, LsqPoint } from "../cli/fit/lm.js";

/** An LsqPoint from residuals r(x) and Jacobian J(x) (rows = residuals). */
function lsq(res: (x: Float64Array) => number[], jac: (x: Float64Array) => number[][]) {
  const seen: number[] = [];
  const f = async (x: Float64Array): Promise<LsqPoint> => {
    const r = res(x);
    const J = jac(x);
    const n = x.length;
    const jtr = new Float64Array(n);
    const jtj = new Float64Array(n * n);
    r.forEach((ri, k) => {
      for (let a = 0; a < n; a++) {
        jtr[a] += J[k][a] * ri;
        for (let b = 0; b < n; b++) jtj[a * n + b] += J[k][a] * J[k][b];
      }
    });
    const sumSq = r.reduce((s, v) => s + v * v, 0);
    seen.push(sumSq);
    return { sumSq, jtr, jtj, count: r.length };
  };
  return { f, seen };
}

describe("levenbergMarquardt", () => {
  it("solves a linear least-squares problem whose columns differ by 1e6 in scale", async () => {
    // r = A x - b, columns scaled by 1e3 and 1e-3 (parameters in 'Oe' and 'A')
    const A = [
      [1e3, 2e-3],
      [2e3, -1e-3],
      [-1e3, 3e-3],
      [5e2, 1e-3],
    ];
    const b = [1, 2, 3, 4];
    // normal equations by hand: A^T A x = A^T b
    const ata = [0, 1].map((i) => [0, 1].map((j) => A.reduce((s, row) => s + row[i] * row[j], 0)));
    const atb = [0, 1].map((i) => A.reduce((s, row, k) => s + row[i] * b[k], 0));
    const det = ata[0][0] * ata[1][1] - ata[0][1] * ata[1][0];
    const exact = [(atb[0] * ata[1][1] - ata[0][1] * atb[1]) / det, (ata[0][0] * atb[1] - ata[1][0] * atb[0]) / det];
    const { f } = lsq(
      (x) => A.map((row, k) => row[0] * x[0] + row[1] * x[1] - b[k]),
      () => A,
    );
    const r = await levenbergMarquardt(f, Float64Array.of(0, 0));
    expect(["ftol", "xtol", "gtol"]).toContain(r.reason);
    expect(r.x[0]).toBeCloseTo(exact[0], 12);
    expect(Math.abs(r.x[1] - exact[1]) / Math.abs(exact[1])).toBeLessThan(1e-8);
    expect(r.atBound).toEqual([false, false]);
  });

  it("finds the Rosenbrock minimum from (-1.2, 1)", async () => {
    const { f } = lsq(
      (x) => [10 * (x[1] - x[0] * x[0]), 1 - x[0]],
      (x) => [
        [-20 * x[0], 10],
        [-1, 0],
      ],
    );
    const r = await levenbergMarquardt(f, Float64Array.of(-1.2, 1));
    expect(["ftol", "xtol", "gtol"]).toContain(r.reason);
    expect(Math.abs(r.x[0] - 1)).toBeLessThan(1e-8);
    expect(Math.abs(r.x[1] - 1)).toBeLessThan(1e-8);
    expect(r.sumSq).toBeLessThan(1e-16);
    expect(r.iterations).toBeLessThan(100);
  });

  it("fits an exponential decay y = A exp(-t / tau) + c", async () => {
    const t = Array.from({ length: 50 }, (_, k) => 0.2 * k);
    const truth = [5, 2, 0.5];
    const y = t.map((tk) => truth[0] * Math.exp(-tk / truth[1]) + truth[2]);
    const { f } = lsq(
      (x) => t.map((tk, k) => x[0] * Math.exp(-tk / x[1]) + x[2] - y[k]),
      (x) => t.map((tk) => [Math.exp(-tk / x[1]), (x[0] * tk * Math.exp(-tk / x[1])) / (x[1] * x[1]), 1]),
    );
    const r = await levenbergMarquardt(f, Float64Array.of(1, 1, 0), { lower: Float64Array.of(0, 0.01, -10), upper: Float64Array.of(100, 100, 10) });
    expect(["ftol", "xtol", "gtol"]).toContain(r.reason);
    truth.forEach((v, i) => expect(Math.abs(r.x[i] - v)).toBeLessThan(1e-9));
    expect(r.count).toBe(50);
  });

  it("stops on an active bound (the KKT point of a bounded linear problem)", async () => {
    // minimize (x - 3)^2 + (y + 1)^2 + (x + y - 1)^2 with x <= 1.5
    // unconstrained optimum: x = 7/3, y = -1/3; with x = 1.5: d/dy = 2(y+1) + 2(y + 0.5) = 0 -> y = -0.75
    const { f } = lsq(
      (x) => [x[0] - 3, x[1] + 1, x[0] + x[1] - 1],
      () => [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
    );
    const r = await levenbergMarquardt(f, Float64Array.of(0, 0), { lower: Float64Array.of(NaN, -Infinity), upper: Float64Array.of(1.5, NaN) });
    expect(r.x[0]).toBe(1.5);
    expect(Math.abs(r.x[1] + 0.75)).toBeLessThan(1e-9);
    expect(r.atBound).toEqual([true, false]);
    expect(["ftol", "xtol", "gtol"]).toContain(r.reason);
    expect(r.message).toMatch(/1 variable at a bound/);
  });

  it("never returns a point worse than the best evaluated, even where the model is NaN", async () => {
    // a narrow valley with a NaN wall: every other trial point is refused
    const { f, seen } = lsq(
      (x) => (x[0] > 2.2 ? [NaN] : [Math.sin(3 * x[0]) + 0.3 * x[0] - 1, 0.1 * (x[0] - 2)]),
      (x) => [[3 * Math.cos(3 * x[0]) + 0.3], [0.1]],
    );
    const r = await levenbergMarquardt(f, Float64Array.of(0));
    const finiteSeen = seen.filter(Number.isFinite);
    expect(r.sumSq).toBe(Math.min(...finiteSeen));
    expect(r.evaluations).toBe(seen.length);
  });

  it("reports max_iterations, interrupted and a non-finite start honestly", async () => {
    const { f } = lsq(
      (x) => [10 * (x[1] - x[0] * x[0]), 1 - x[0]],
      (x) => [
        [-20 * x[0], 10],
        [-1, 0],
      ],
    );
    const m = await levenbergMarquardt(f, Float64Array.of(-1.2, 1), { maxIterations: 2 });
    expect(m.reason).toBe("max_iterations");
    expect(m.iterations).toBe(2);
    let calls = 0;
    const s = await levenbergMarquardt(f, Float64Array.of(-1.2, 1), { shouldStop: () => ++calls > 3 });
    expect(s.reason).toBe("interrupted");
    await expect(
      levenbergMarquardt(async () => ({ sumSq: NaN, jtr: Float64Array.of(0), jtj: Float64Array.of(1), count: 1 }), Float64Array.of(0)),
    ).rejects.toThrow(/non-finite/);
  });

  it("inverts J^T J in mixed units (covariance)", () => {
    const a = Float64Array.of(4e6, 2e-1, 2e-1, 3e-8);
    const inv = invertSpd(a, 2)!;
    const det = 4e6 * 3e-8 - 4e-2;
    expect(inv[0] / (3e-8 / det)).toBeCloseTo(1, 12);
    expect(inv[3] / (4e6 / det)).toBeCloseTo(1, 12);
    expect(inv[1] / (-2e-1 / det)).toBeCloseTo(1, 12);
    expect(invertSpd(Float64Array.of(1, 1, 1, 1), 2)).toBeNull();
  });
});
