/**
 * `npm run bench`: figures and ratios measured in one run (never asserted in
 * tests: these machines are shared and noisy).
 */
import os from "node:os";
import { wasmStepsPerSecond } from "./simulate.js";
import { nativeBench } from "./native.js";
import { sysidBench, sysidConvergenceBench, sysidFitEpochBench } from "./sysid.js";
import { mnistBench, mnistBenchTable } from "./mnist.js";
import { labdataBench } from "./labdata.js";
import { spectrumBench } from "./spectrum.js";
import { reservoirBench, reservoirBenchTable } from "./reservoir.js";
import { processBench } from "./process.js";

function fmt(x: number | undefined, unit = ""): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M${unit}` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k${unit}` : `${x.toFixed(3)} ${unit}`;
}

function table(title: string, head: string[], rows: (string | number)[][]): void {
  console.log(`\n## ${title}\n`);
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

async function main(): Promise<void> {
  console.log(`# stoopt bench (${new Date().toISOString()}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, Node ${process.version})`);
  table(
    "whole process: the built CLI, a fresh process per run, median of 5 (3 for the 100 MB teacher); CPU = user + sys",
    ["what", "command", "wall [ms]", "CPU [ms]", "notes"],
    processBench(5),
  );
  const w1 = wasmStepsPerSecond(1, 2_000_000);
  const w100 = wasmStepsPerSecond(100, 40_000);
  const native = nativeBench("bench");
  const n1 = native?.rk4_steps_per_s_1_trial;
  const n100 = native?.rk4_steps_per_s_100_trials;
  table(
    "simulate: RK4 steps per second (no noise, dt 0.5 ps)",
    ["trials", "wasm (simd128)", "native", "wasm / native"],
    [
      [1, fmt(w1, "steps/s"), fmt(n1, "steps/s"), n1 ? (w1 / n1).toFixed(2) : "n/a"],
      [100, fmt(w100, "steps/s"), fmt(n100, "steps/s"), n100 ? (w100 / n100).toFixed(2) : "n/a"],
    ],
  );
  table(
    "sysid: one epoch (100 trials x 1 ns at 0.5 ps = 2000 RK4 steps each, mini-batches of 10, gradient included); target <= 100 ms for one parameter",
    ["threads", "gradient", "fitted parameters", "ms per epoch", "speed-up vs PyTorch 1.13 CPU (5.4 s/epoch)"],
    await sysidBench(),
  );
  table(
    "sysid: one epoch as the fit runs it (100 trials, 10 mini-batches of 10 with their Adam steps, then the loss on all the data at the point reached; fits of 20 epochs, sysid's default), dual gradients; one start: 2 threads = the main thread and one worker sharing each evaluation, an epoch's full-data loss done partly in the next epoch's waits; 4 starts: one start per thread, side by side; target: 2 threads >= 1.7x",
    ["threads", "fitted", "ms per epoch", "speed-up vs 1 thread"],
    await sysidFitEpochBench(),
  );
  table(
    "sysid: time to convergence, noise-free teacher (100 trials), H_appl, j_DC and alpha fitted together from the middle of their ranges, 2 threads",
    ["method", "time [s]", "worst error / range", "worst error / std error", "status (how it ended)"],
    await sysidConvergenceBench(),
  );
  table(
    "spectrum: a 21-point current sweep (2.5-7.5 mA), 100 ns washout + 20 ns window per point (240 k RK4 steps each, dt 0.5 ps), PSD and Lorentzian included",
    ["threads", "points", "seconds", "M RK4 steps/s"],
    await spectrumBench(),
  );
  table(
    "sysid on a measured trace (README 'Fitting measured data'): one 50 ns scope trace at 300 K, 25 ps, V_mV with offset, negative scale and 0.05 mV noise, one parameter fitted with offset and amplitude, default uncertainty (bootstrap, 50 resamples), whole process (node start to exit), 2 threads; target <= 10 s",
    ["fitted parameter", "value (truth H_appl 1750 Oe, j_DC 5 mA, alpha 0.0055)", "seconds"],
    labdataBench(),
  );
  console.log(mnistBenchTable(await mnistBench()));
  console.log(reservoirBenchTable(await reservoirBench()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
