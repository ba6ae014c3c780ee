/**
 * `stoopt reservoir`: the task generators against known answers, the
 * adjoint through the wasm core against central differences, bad input,
 * and a small run with --out and --resume.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { core } from "../cli/core/wasm.js";
import { defaultParams } from "../cli/model.js";
import { Adam, Problem, StoEngine, thetaLayout } from "../cli/core/reservoir.js";
import { guardedAdamStep, TuneState } from "../cli/reservoir/run.js";
import { mackeyGlassSeries, memoryCapacity, narma10, nrmse, squaredCorrelation } from "../cli/reservoir/tasks.js";
import { plotReservoir } from "../cli/render/figures/reservoir.js";
import { runCli } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "stoopt-res-"));

describe("task generators", () => {
  it("NARMA10 with u = 0 settles at the fixed point of y = 0.3 y + 0.5 y^2 + 0.1", () => {
    const t = narma10((n) => new Float64Array(n), 400);
    const fixed = 0.7 - Math.sqrt(0.49 - 0.2); // root of 0.5 y^2 - 0.7 y + 0.1 = 0 below 1
    expect(t.y[399]).toBeCloseTo(fixed, 12);
  });

  it("NARMA10 follows the recurrence: y(t+1) - 0.3 y(t) - 0.05 y(t) sum y - 0.1 = 1.5 u(t-9) u(t)", () => {
    let s = 12345;
    const uni = (n: number) => Float64Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const t = narma10(uni, 300);
    expect(Math.min(...t.u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...t.u)).toBeLessThanOrEqual(0.5);
    // target of hold t is y(t+1); y(t) is the target of hold t-1
    for (let k = 20; k < 300; k++) {
      const y = (j: number) => t.y[j - 1]; // y(j)
      let sum = 0;
      for (let i = 0; i < 10; i++) sum += y(k - i);
      const lhs = y(k + 1) - 0.3 * y(k) - 0.05 * y(k) * sum - 0.1;
      expect(lhs).toBeCloseTo(1.5 * t.u[k - 9] * t.u[k], 12);
    }
  });

  it("Mackey-Glass (tau 17) satisfies its delay equation and stays on the known attractor range", () => {
    const x = mackeyGlassSeries(600);
    expect(Math.min(...x)).toBeGreaterThan(0.2);
    expect(Math.max(...x)).toBeLessThan(1.4);
    // central difference of the unit-sampled series against the right-hand side
    let worst = 0;
    for (let t = 20; t < 599; t++) {
      const d = (x[t + 1] - x[t - 1]) / 2;
      const f = (0.2 * x[t - 17]) / (1 + x[t - 17] ** 10) - 0.1 * x[t];
      worst = Math.max(worst, Math.abs(d - f));
    }
    expect(worst).toBeLessThan(0.02);
    // chaotic, not periodic with period < 100: the series does not repeat
    expect(Math.abs(x[300] - x[350]) + Math.abs(x[301] - x[351])).toBeGreaterThan(1e-3);
  });

  it("memory-capacity targets are the delayed input; perfect predictions have r^2 = 1 and NRMSE 0", () => {
    const t = memoryCapacity((n) => Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000), 200, 5);
    expect(t.y[50 * 5 + 2]).toBe(t.u[47]);
    expect(squaredCorrelation(t.y, t.y, 5, 3)).toBeCloseTo(1, 14);
    expect(nrmse(t.y, t.y, 5, 0)).toBe(0);
  });
});

describe("adjoint through the wasm core", () => {
  it("agrees with central differences for H_appl, j_DC, alpha, s_f and W_in (N = 3, 150 holds)", () => {
    const c = core();
    const n = 3;
    const k = 2;
    const holds = 150;
    const shape = { n, k, sub: 2, holds, every: 9, feat: "all" as const };
    const L = thetaLayout(n, k);
    const wcp = Float64Array.from([0.3, -0.5, 0.2, 0.1, 0.4, -0.6, -0.2, 0.5, 0.3]);
    const u = Float64Array.from({ length: holds }, (_, t) => 0.25 + 0.2 * Math.sin(0.7 * t) * Math.cos(0.13 * t * t));
    const y = Float64Array.from({ length: holds }, (_, t) => (t >= 2 ? u[t - 1] * u[t - 2] : 0));
    const m0 = Float64Array.from([0.1, -0.2, 0.3, 0.2, 0.1, -0.1, 0.97, 0.95, 0.9]);
    const theta = new Float64Array(L.total);
    theta.set([1700, 1760, 1820], 0);
    theta[L.jdc] = 4.5e-3;
    theta[L.alpha] = 0.006;
    theta[L.sf] = 200;
    theta[L.sc] = 5e-4;
    theta.set([0.5, -0.3, 0.8, -0.7, 0.2, 0.4], L.win[0]);
    const f = 9 * k;
    const p = new Problem(c, holds, f, 1, y);
    const eng = new StoEngine(c, shape, wcp, defaultParams(), 50e-12, 10, u, m0);
    const lam = 1e-6;
    const loss = (th: Float64Array, grad: boolean) => {
      eng.forward(th, p);
      const w = p.solve(20, holds, [lam])[0]!;
      const l = p.lossAndGrad(w, lam, 20, holds);
      return { l, g: grad ? eng.backward(th, p) : undefined };
    };
    const g = loss(theta, true).g!;
    const fd = (i: number, h: number) => {
      const at = (d: number) => {
        const th = theta.slice();
        th[i] += d;
        return loss(th, false).l;
      };
      return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
    };
    const checks: [number, number][] = [
      [0, 2e-3],
      [2, 2e-3],
      [L.jdc, 3e-8],
      [L.alpha, 1e-7],
      [L.sf, 1e-3],
      [L.sc, 3e-8],
      [L.win[0] + 1, 1e-5],
      [L.win[0] + 5, 1e-5],
    ];
    for (const [i, h] of checks) {
      const d = fd(i, h);
      expect(Math.abs(g[i] - d) / Math.max(Math.abs(g[i]), Math.abs(d))).toBeLessThan(1e-6);
    }
    eng.free();
    p.free();
  });
});

describe("held-out readout objective", () => {
  it("its gradient through the standardization and the ridge solution agrees with central differences", () => {
    const c = core();
    const T = 70;
    const f = 4;
    const nOut = 2;
    let r = 12345;
    const rnd = () => {
      r = (r * 1103515245 + 12345) % 2147483648;
      return r / 2147483648 - 0.5;
    };
    const x0 = Float64Array.from({ length: T * f }, (_, i) => rnd() * (1 + (i % f)) + 0.3 * (i % f));
    const y = Float64Array.from({ length: T * nOut }, (_, i) => Math.sin(0.3 * i) + 0.2 * rnd());
    const p = new Problem(c, T, f, nOut, y);
    const [t0, mid, t1] = [10, 38, 66];
    const lam = 0.05;
    const loss = (x: Float64Array, grad: boolean) => {
      p.x.view().set(x);
      const sd = p.standardize(t0, t1);
      const l = p.heldOutLossAndGrad(lam, t0, mid, t1)!;
      if (grad) p.standardizeBackward(t0, t1, sd);
      return l;
    };
    loss(x0, true);
    const g = p.g.view().slice();
    const h = 1e-5;
    for (const i of [3, 12 * f + 1, 20 * f + 2, 37 * f + 3, 38 * f, 50 * f + 1, 65 * f + 2, 68 * f + 1]) {
      const at = (d: number) => {
        const x = x0.slice();
        x[i] += d;
        return loss(x, false);
      };
      const fd = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
      if (i < t0 * f || i >= t1 * f) {
        expect(g[i]).toBe(0);
        expect(Math.abs(fd)).toBeLessThan(1e-9);
      } else expect(Math.abs(g[i] - fd) / Math.max(Math.abs(g[i]), Math.abs(fd))).toBeLessThan(1e-6);
    }
    p.free();
  });
});

describe("physics tuning step (N = 1, virtual nodes)", () => {
  it("an undone step restarts Adam, and halving the rates then lowers the training objective", () => {
    const c = core();
    const k = 5;
    const holds = 160;
    const shape = { n: 1, k, sub: 1, holds, every: 8, feat: "all" as const };
    const L = thetaLayout(1, k);
    const u = Float64Array.from({ length: holds }, (_, t) => 0.25 + 0.2 * Math.sin(0.7 * t) * Math.cos(0.13 * t * t));
    const y = Float64Array.from({ length: holds }, (_, t) => (t >= 3 ? u[t - 1] * u[t - 3] + 0.5 * u[t - 2] : 0));
    const p = new Problem(c, holds, 3 * k, 1, y);
    const eng = new StoEngine(c, shape, new Float64Array([0]), defaultParams(), 50e-12, 10, u, Float64Array.from([0.1, -0.2, 0.97]));
    const adam = new Adam(c, L.total);
    const lam = 1e-3;
    const objectiveAt = (th: Float64Array) => {
      eng.forward(th, p);
      const w = p.solve(20, holds, [lam])[0]!;
      return p.lossAndGrad(w, lam, 20, holds);
    };
    const theta = new Float64Array(L.total);
    theta[0] = 1750;
    theta[L.jdc] = 5e-3;
    theta[L.alpha] = 0.0055;
    theta[L.sf] = 1000;
    theta.set([0.6, -0.4, 0.9, -0.8, 0.3], L.win[0]);
    const groups = [
      { range: [0, 1] as [number, number], lo: 0, hi: 5000, lr: 5 },
      { range: [L.jdc, L.jdc + 1] as [number, number], lo: 0, hi: 0.02, lr: 5e-5 },
      { range: [L.alpha, L.alpha + 1] as [number, number], lo: 1e-4, hi: 0.1, lr: 2e-4 },
      { range: [L.sf, L.sf + 1] as [number, number], lo: 0, hi: Infinity, lr: 20 },
      { range: L.win, lo: -Infinity, hi: Infinity, lr: 0.02 },
    ];
    const cur0 = objectiveAt(theta);
    const grad = eng.backward(theta, p);
    // stale moments pointing uphill, as left by earlier epochs whose gradients had the other sign
    const st: TuneState = { theta: theta.slice(), m: grad.map((g) => -g), v: grad.map((g) => g * g), step: 5, lrScale: 1 };
    const first = guardedAdamStep(adam, st, grad, groups, cur0, objectiveAt);
    expect(first.accepted).toBe(false);
    expect(first.objective).toBe(cur0);
    expect(Array.from(st.theta)).toEqual(Array.from(theta));
    expect(st.lrScale).toBe(0.5);
    expect(st.step).toBe(0);
    expect(st.m.every((v) => v === 0) && st.v.every((v) => v === 0)).toBe(true);
    // at the same point (same gradient), the restarted Adam steps along -sign(g): a few halvings give a kept step
    let kept: { accepted: boolean; objective: number } | undefined;
    for (let i = 0; i < 12 && !kept; i++) {
      const r = guardedAdamStep(adam, st, grad, groups, cur0, objectiveAt);
      if (r.accepted) kept = r;
    }
    expect(kept).toBeDefined();
    expect(kept!.objective).toBeLessThan(cur0);
    expect(st.step).toBe(1);
    adam.free();
    eng.free();
    p.free();
  });
});

describe("stoopt reservoir CLI", () => {
  const small = ["--n", "4", "--train", "300", "--val", "100", "--test", "100", "--washout", "60", "--hold", "250ps"];

  it("bad input: one line, exit 2", () => {
    const d = tmp();
    const nanCsv = path.join(d, "nan.csv");
    writeFileSync(nanCsv, "u,y\n0.1,0.2\n0.3,NaN\n0.2,0.1\n");
    const ok = path.join(d, "ok.csv");
    writeFileSync(ok, "u,y\n" + Array.from({ length: 50 }, (_, i) => `${i / 50},${(i % 7) / 7}`).join("\n") + "\n");
    const cases: [string[], RegExp][] = [
      [["--input", nanCsv, "--target", "y"], /nan\.csv:3:2: 'NaN' in column 'y' is not a finite number/],
      [["--input", ok, "--target", "z"], /ok\.csv:1: --target column 'z' is missing/],
      [["--hold", "10ps"], /--hold: the hold \(10 ps\) is shorter than one RK4 step \(50 ps\)/],
      [["--input", ok, "--target", "y"], /ok\.csv: the series has 50 values, shorter than washout \+ train \+ validation \+ test/],
      [["--length", "500"], /--length: 500 holds is shorter than washout \+ train \+ validation \+ test/],
      [["--tune", "happl,foo"], /--tune: 'foo' is not one of/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(["reservoir", ...args]);
      expect(r.code, args.join(" ") + ": " + r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stdout).toBe("");
    }
  });

  it("trains, writes its outputs, and resumes to the same result as an uninterrupted run", () => {
    const a = tmp();
    const b = tmp();
    const full = runCli(["reservoir", ...small, "--epochs", "3", "--out", a, "--json"]);
    expect(full.code, full.stderr).toBe(0);
    const res = JSON.parse(full.stdout);
    expect(res.history.length).toBe(4);
    expect(res.history[0].epoch).toBe(0);
    expect(res.history[1].grad_norm).toBeGreaterThan(0);
    const metrics = readFileSync(path.join(a, "metrics.csv"), "utf8").trim().split("\n");
    expect(metrics.length).toBe(5);
    expect(metrics[0]).toContain("val_nrmse");
    // the reported epoch is the best on validation
    const best = res.history.reduce((m: { val_nrmse: number }, h: { val_nrmse: number }) => (h.val_nrmse < m.val_nrmse ? h : m));
    expect(res.chosen_epoch).toBe(best.epoch);
    const first = runCli(["reservoir", ...small, "--epochs", "1", "--out", b]);
    expect(first.code, first.stderr).toBe(0);
    const resumed = runCli(["reservoir", "--resume", b, "--epochs", "3", "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const r2 = JSON.parse(resumed.stdout);
    expect(r2.history.map((h: { val_nrmse: number }) => h.val_nrmse)).toEqual(res.history.map((h: { val_nrmse: number }) => h.val_nrmse));
    expect(r2.test_nrmse).toEqual(res.test_nrmse);
  });

  it("--objective heldout tunes a single STO with virtual nodes: kept steps lower the held-out objective", () => {
    const r = runCli([
      "reservoir",
      "--n",
      "1",
      "--virtual",
      "5",
      "--input-mode",
      "field",
      "--hold",
      "250ps",
      "--train",
      "300",
      "--val",
      "100",
      "--test",
      "100",
      "--washout",
      "60",
      "--epochs",
      "4",
      "--objective",
      "heldout",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const h = JSON.parse(r.stdout).history as { train_objective: number; accepted: number }[];
    expect(h.length).toBe(5);
    for (let i = 1; i < h.length; i++) {
      if (h[i].accepted) expect(h[i].train_objective).toBeLessThanOrEqual(h[i - 1].train_objective);
      else expect(h[i].train_objective).toBe(h[i - 1].train_objective);
    }
    expect(h.some((x, i) => i > 0 && x.accepted === 1)).toBe(true);
    expect(runCli(["reservoir", "--objective", "validation", "--epochs", "0"]).code).toBe(2);
  });

  it("the ESN baseline and the single STO with virtual nodes run on memory capacity", () => {
    const esn = runCli(["reservoir", "--task", "memory-capacity", "--mc-delays", "10", ...small, "--model", "esn", "--json"]);
    expect(esn.code, esn.stderr).toBe(0);
    const e = JSON.parse(esn.stdout);
    expect(e.mc_curve.length).toBe(10);
    expect(e.memory_capacity).toBeGreaterThan(1); // a 4-node ESN remembers at least a few delays
    const sto = runCli([
      "reservoir",
      "--task",
      "memory-capacity",
      "--mc-delays",
      "10",
      "--n",
      "1",
      "--virtual",
      "5",
      "--hold",
      "250ps",
      "--train",
      "300",
      "--val",
      "100",
      "--test",
      "100",
      "--washout",
      "60",
      "--epochs",
      "0",
      "--json",
    ]);
    expect(sto.code, sto.stderr).toBe(0);
    const s = JSON.parse(sto.stdout);
    expect(s.memory_capacity).toBeGreaterThan(0);
    expect(s.memory_capacity).toBeLessThanOrEqual(10);
  });
});

describe("reservoir figures", () => {
  it("draws prediction vs target, the memory curve and the parameters against epoch", async () => {
    const d = tmp();
    const h = (epoch: number) => ({
      epoch,
      val_nrmse: 0.5 - 0.01 * epoch,
      test_nrmse: 0.6,
      h_appl_mean_oe: 1750 + epoch,
      h_appl_min_oe: 1740,
      h_appl_max_oe: 1760,
      j_dc_a: 5e-3,
      alpha: 0.0055,
      in_field_oe: 1000,
      in_current_a: 0,
    });
    const files = await plotReservoir(
      {
        model: "STO reservoir, N = 3",
        outputs: ["u(t-1)", "u(t-2)"],
        test_prediction: { t0: 100, target: [0.1, 0.2, 0.3], prediction: [0.12, 0.18, 0.31] },
        mc_curve: [0.9, 0.5],
        history: [h(0), h(1), h(2)],
      },
      d,
    );
    const svgs = files.filter((f) => f.endsWith(".svg")).map((f) => path.basename(f));
    expect(svgs).toEqual([
      "prediction.svg",
      "memory_capacity.svg",
      "nrmse.svg",
      "h_appl.svg",
      "j_dc.svg",
      "alpha.svg",
      "input_field_scale.svg",
      "input_current_scale.svg",
    ]);
    expect(files.some((f) => f.endsWith("prediction.csv"))).toBe(true);
    const svg = readFileSync(path.join(d, "prediction.svg"), "utf8");
    expect(svg).toContain("<svg");
    expect(svg).toContain("target");
    expect(readFileSync(path.join(d, "memory_capacity.svg"), "utf8")).toContain("delay k (holds)");
  });
});
