// Why tuning did not move the single STO with 50 virtual nodes (NARMA10, field
// input, 2.5 ns holds). Run from the repo root after `npm run build`:
//   nice -n 10 node results/reservoir/n1-diagnosis.mjs > results/reservoir/n1-diagnosis.txt
// 1. the stuck point of the run before the fix (its checkpoint.json, kept in
//    n1-diagnosis/): the Adam step with the stored moments against the gradient;
// 2. the objective and validation NRMSE along the rate-weighted negative gradient
//    at the untuned point, and along each physical axis over its training range;
// 3. linear readouts of the last few inputs on the same split (the floor).
import { readFileSync } from "node:fs";
import { core } from "../../dist/cli/core.js";
import { buildTask, evaluate } from "../../dist/cli/reservoir/run.js";
import { makeSplit } from "../../dist/cli/reservoir/tasks.js";
import { Problem, StoEngine, thetaLayout, featuresPerHold } from "../../dist/cli/reservoir/engine.js";
import { rngFill } from "../../dist/cli/network/init.js";
import { RANGES } from "../../dist/cli/network/config.js";

const ck = JSON.parse(readFileSync(new URL("./n1-diagnosis/before-fix-checkpoint.json", import.meta.url), "utf8"));
const s = ck.settings;
const c = core();
const task = buildTask(c, s);
const split = makeSplit(task.u.length, s.washout, s.train, s.val, s.test, "generated");
const seed = BigInt(s.seed);
const shape = { n: s.n, k: s.virtual, sub: s.sub, holds: task.u.length, every: s.checkpointEvery, feat: s.feat };
const L = thetaLayout(s.n, s.virtual);
const m0 = rngFill(c, seed, 13n, "normal", 0, 1, 3 * s.n); // STREAM.m0 of run.ts
const p = new Problem(c, task.u.length, featuresPerHold(shape), task.nOut, task.y);
const eng = new StoEngine(c, shape, new Float64Array([0]), Float64Array.from(s.params), s.dtS, s.cmOe, task.u, m0);
const lam = ck.history[0].lambda;
const obj = (th) => {
  eng.forward(th, p);
  const ev = evaluate(p, split, s.lambdas, task);
  const w = p.solve(split.train[0], split.train[1], [lam])[0];
  return [p.lossAndGrad(w, lam, split.train[0], split.train[1]) / task.nOut, ev];
};
const grad = (th) => {
  const [o] = obj(th);
  return [o, eng.backward(th, p).map((v) => v / task.nOut)];
};
const lr = new Float64Array(L.total);
lr.fill(s.lr.happl, 0, s.n);
lr[L.jdc] = s.lr.jdc;
lr[L.alpha] = s.lr.alpha;
lr[L.sf] = s.lr.field;
lr.fill(s.lr.win, L.win[0], L.win[1]);
const names = ["H_appl [Oe]", "j_DC [A]", "alpha", "s_f [Oe]"];
const f4 = (v) => v.toFixed(4);

console.log(`N = 1, ${s.virtual} virtual nodes, field input, hold ${s.holdS * 1e9} ns, NARMA10 seed ${s.seed}; objective = ridge training loss at lambda ${lam} (epoch 0's validation choice)\n`);
console.log("1. Run before the fix: every step from epoch 9 on undone, rate scale down to 3e-5. At its stuck point:");
{
  const th = Float64Array.from(ck.theta);
  const [o, g] = grad(th);
  const t = ck.adam_step + 1;
  const d = new Float64Array(L.total);
  for (let i = 0; i < L.total; i++) {
    const m = 0.9 * ck.adam_m[i] + 0.1 * g[i];
    const v = 0.999 * ck.adam_v[i] + 0.001 * g[i] * g[i];
    d[i] = -lr[i] * (m / (1 - 0.9 ** t)) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
  }
  console.log(`   objective ${o}`);
  for (let i = 0; i < 4; i++) {
    const j = [0, L.jdc, L.alpha, L.sf][i];
    console.log(`   ${names[i].padEnd(12)} gradient ${g[j].toExponential(3)}, stored Adam m ${ck.adam_m[j].toExponential(3)}, Adam step ${d[j].toExponential(3)}, g * step ${(g[j] * d[j]).toExponential(3)}`);
  }
  let wd = 0;
  for (let i = L.win[0]; i < L.win[1]; i++) wd += g[i] * d[i];
  console.log(`   W_in (${L.win[1] - L.win[0]})     sum of g * step ${wd.toExponential(3)}`);
  const dot = g.reduce((a, v, i) => a + v * d[i], 0);
  console.log(`   g . step = ${dot.toExponential(3)} > 0: the step with the kept moments points uphill, at every rate scale:`);
  for (const f of [1, 1e-2, 1e-4, 3.0517578125e-5]) {
    const [o2] = obj(th.map((v, i) => v + f * d[i]));
    console.log(`     rate x ${f}: objective change ${(o2 - o).toExponential(3)}`);
  }
}

const th0 = new Float64Array(L.total);
th0.fill(s.hAppl0Oe, 0, s.n);
th0[L.jdc] = s.jDc0A;
th0[L.alpha] = s.alpha0;
th0[L.sf] = s.inField0Oe;
th0.set(rngFill(c, seed, 12n, "uniform", -1, 1, s.virtual * s.n), L.win[0]); // STREAM.win of run.ts
const [o0, g0] = grad(th0);
console.log(`\n2. At the untuned point (objective ${o0.toFixed(6)}), along the rate-weighted negative gradient (step in rate units, i.e. sqrt(sum (dtheta_i / lr_i)^2)):`);
{
  const d = g0.map((v, i) => -lr[i] * lr[i] * v);
  const nd = Math.sqrt(d.reduce((a, v, i) => a + (lr[i] ? (v / lr[i]) ** 2 : 0), 0));
  for (const tt of [0, 0.3, 1, 3, 10, 30]) {
    const [o2, ev] = obj(th0.map((v, i) => v + (tt / nd) * d[i]));
    console.log(`   ${String(tt).padStart(4)} rate units: objective ${o2.toFixed(6)}, val NRMSE ${f4(ev.valNrmse[0])} (lambda ${ev.lambda.toPrecision(1)}), test ${f4(ev.testNrmse[0])}`);
  }
  console.log("   and along each physical axis over its training range (others at the untuned values):");
  const axes = [
    [0, "H_appl [Oe]", [RANGES.happl[0], 1600, 1700, 1750, 1800, 1900, RANGES.happl[1]]],
    [L.jdc, "j_DC [A]", [RANGES.jdc[0], 0.004, 0.0045, 0.005, 0.0055, 0.006, RANGES.jdc[1]]],
    [L.alpha, "alpha", [RANGES.alpha[0], 0.003, 0.0055, 0.008, RANGES.alpha[1]]],
    [L.sf, "s_f [Oe]", [100, 250, 500, 1000, 1500, 2000]],
  ];
  for (const [i, name, vals] of axes) {
    const parts = vals.map((v) => {
      const t2 = th0.slice();
      t2[i] = v;
      const [o2, ev] = obj(t2);
      return `${v}: ${f4(ev.valNrmse[0])} (obj ${f4(o2)})`;
    });
    console.log(`   ${name.padEnd(12)} val NRMSE ${parts.join(", ")}`);
  }
}

console.log("\n3. Linear readouts of the inputs themselves, same split and lambda grid (the floor a memoryless reservoir can reach):");
for (const lags of [1, 2, 3, 5, 10]) {
  const T = task.u.length;
  const q = new Problem(c, T, lags, 1, task.y);
  const x = q.x.view();
  for (let t = 0; t < T; t++) for (let k = 0; k < lags; k++) x[t * lags + k] = t - k >= 0 ? task.u[t - k] : 0;
  const ev = evaluate(q, split, s.lambdas, task);
  console.log(`   u(t) .. u(t-${lags - 1}): val NRMSE ${f4(ev.valNrmse[0])}, test ${f4(ev.testNrmse[0])}`);
  q.free();
}

console.log("\n4. Random points in the training box (H_appl, j_DC, alpha in the paper's ranges, s_f in 100 .. 2000 Oe, W_in as drawn; xorshift seed 7):");
{
  let r = 7;
  const rnd = () => {
    r ^= r << 13;
    r ^= r >>> 17;
    r ^= r << 5;
    return (r >>> 0) / 4294967296;
  };
  const vals = [];
  let best;
  for (let i = 0; i < 40; i++) {
    const t2 = th0.slice();
    t2[0] = RANGES.happl[0] + rnd() * (RANGES.happl[1] - RANGES.happl[0]);
    t2[L.jdc] = RANGES.jdc[0] + rnd() * (RANGES.jdc[1] - RANGES.jdc[0]);
    t2[L.alpha] = RANGES.alpha[0] + rnd() * (RANGES.alpha[1] - RANGES.alpha[0]);
    t2[L.sf] = 100 + rnd() * 1900;
    const [, ev] = obj(t2);
    vals.push(ev.valNrmse[0]);
    if (!best || ev.valNrmse[0] < best.val) best = { val: ev.valNrmse[0], test: ev.testNrmse[0], h: t2[0], j: t2[L.jdc], a: t2[L.alpha], sf: t2[L.sf] };
  }
  vals.sort((a, b) => a - b);
  console.log(`   40 points: validation NRMSE min ${f4(vals[0])}, median ${f4(vals[20])}, max ${f4(vals[39])}; best at H_appl ${best.h.toFixed(0)} Oe, j_DC ${(best.j * 1e3).toFixed(2)} mA, alpha ${best.a.toFixed(4)}, s_f ${best.sf.toFixed(0)} Oe (test ${f4(best.test)})`);
}
eng.free();
p.free();
