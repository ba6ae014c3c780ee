/** RK4 steps per second, wasm (this process) and native (cargo), side by side. */
import { Simulation } from "../cli/core/simulation.js";
import { defaultParams } from "../cli/model.js";

export function wasmStepsPerSecond(trials: number, steps: number): number {
  const sim = new Simulation(defaultParams(), trials, "rk4", 0.5e-12, 0);
  sim.seed(1n, 0n, trials);
  sim.randomStates(trials);
  const run = (k: number) => sim.run(trials, k, 1, false);
  run(Math.floor(steps / 10));
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    run(steps);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, (trials * steps) / s);
  }
  sim.free();
  return best;
}
