/**
 * A worker of bench/mnist.ts `peakGflopsTogether`: runs the core's SIMD
 * peak kernel for a fixed wall-clock window that starts when every worker
 * is ready (a counter in shared memory), and posts its GFLOP/s.
 */
import { parentPort, workerData } from "node:worker_threads";
import { core } from "../cli/core/wasm.js";
import { peakKernel } from "../cli/core/network.js";

export interface PeakWorkerData {
  /** Int32 word 0: workers ready */
  ready: SharedArrayBuffer;
  workers: number;
  seconds: number;
}

if (parentPort) {
  const d = workerData as PeakWorkerData;
  const c = core();
  for (let i = 0; i < 5; i++) peakKernel(c, "f32", 1000);
  const ready = new Int32Array(d.ready);
  Atomics.add(ready, 0, 1);
  while (Atomics.load(ready, 0) < d.workers);
  const t0 = performance.now();
  let flops = 0;
  while (performance.now() - t0 < 1000 * d.seconds) flops += peakKernel(c, "f32", 200_000)[0];
  parentPort.postMessage(flops / ((performance.now() - t0) / 1000) / 1e9);
}
