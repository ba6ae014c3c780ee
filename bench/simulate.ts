/** RK4 steps per second, wasm (this process) and native (cargo), side by side. */
import { core, RNG_WORDS } from "../cli/core.js";
import { defaultParams } from "../cli/model.js";

export function wasmStepsPerSecond(trials: number, steps: number): number {
  const c = core();
  const params = c.f64(10);
  params.view().set(defaultParams());
  const m = c.f64(3 * trials);
  const rng = c.u64(RNG_WORDS * trials);
  c.check(c.exports.stoopt_rng_init(1n, 0n, trials, rng.ptr), "rng");
  c.check(c.exports.stoopt_random_unit_vectors(rng.ptr, trials, m.ptr), "m0");
  const run = (k: number) => c.check(c.exports.stoopt_simulate(params.ptr, 0, 0.5e-12, 0, trials, m.ptr, rng.ptr, k, 1, 0), "simulate");
  run(Math.floor(steps / 10));
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    run(steps);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, (trials * steps) / s);
  }
  for (const b of [params, m, rng]) b.free();
  return best;
}
