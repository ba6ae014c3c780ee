// Echo state property of the STO reservoir: the same input series (NARMA10's u, seed 1)
// from two random initial states (seeds 13 and 99); the largest feature difference
// (all 3N components) against the hold index. Run from the repo root after `npm run build`:
//   node results/reservoir/echo-state.mjs > results/reservoir/echo-state.txt
import { core } from "../../dist/cli/core.js";
import { defaultParams } from "../../dist/cli/model.js";
import { Problem, StoEngine, thetaLayout } from "../../dist/cli/reservoir/engine.js";
import { couplingMatrix, rngFill } from "../../dist/cli/network/init.js";
const c = core();
const setups = [
  { label: "N = 50, CM 10 Oe, field input s_f 1000 Oe, hold 500 ps (table default)", n: 50, k: 1, sub: 10, cm: 10, sf: 1000, sc: 0 },
  { label: "N = 1, 50 virtual nodes, field input s_f 1000 Oe, hold 2.5 ns", n: 1, k: 50, sub: 1, cm: 0, sf: 1000, sc: 0 },
  { label: "N = 50 uncoupled (CM 0), field input s_f 1000 Oe, hold 500 ps", n: 50, k: 1, sub: 10, cm: 0, sf: 1000, sc: 0 },
  { label: "N = 50, CM 10 Oe, current input s_c 2 mA, hold 500 ps", n: 50, k: 1, sub: 10, cm: 10, sf: 0, sc: 2e-3 },
  { label: "N = 50, CM 10 Oe, current input s_c 2 mA, hold 100 ps", n: 50, k: 1, sub: 2, cm: 10, sf: 0, sc: 2e-3 },
];
const at = [0, 10, 20, 50, 100, 200, 400, 800, 1199];
console.log(`setup,${at.map((t) => `hold_${t}`).join(",")}`);
for (const s of setups) {
  const holds = 1200;
  const shape = { n: s.n, k: s.k, sub: s.sub, holds, every: 20, feat: "all" };
  const L = thetaLayout(s.n, s.k);
  const th = new Float64Array(L.total);
  th.fill(1750, 0, s.n);
  th[L.jdc] = 5e-3;
  th[L.alpha] = 0.0055;
  th[L.sf] = s.sf;
  th[L.sc] = s.sc;
  th.set(rngFill(c, 1n, 12n, "uniform", -1, 1, s.k * s.n), L.win[0]);
  const u = rngFill(c, 1n, 11n, "uniform", 0, 0.5, holds);
  const wcp = s.n > 1 ? couplingMatrix(c, 1n, s.n) : new Float64Array([0]);
  const f = s.k * 3 * s.n;
  const X = [];
  for (const seed of [13n, 99n]) {
    const p = new Problem(c, holds, f, 1, new Float64Array(holds));
    const e = new StoEngine(c, shape, wcp, defaultParams(), 50e-12, s.cm, u, rngFill(c, seed, 13n, "normal", 0, 1, 3 * s.n));
    e.forward(th, p);
    X.push(p.x.view().slice());
    e.free();
    p.free();
  }
  const d = (t) => {
    let m = 0;
    for (let j = 0; j < f; j++) m = Math.max(m, Math.abs(X[0][t * f + j] - X[1][t * f + j]));
    return m;
  };
  console.log(`"${s.label}",${at.map((t) => d(t).toExponential(1)).join(",")}`);
}
