/** A spectrum worker thread: its own wasm instance; runs sweep points, growth rates and steady states. */
import { parentPort, workerData } from "node:worker_threads";
import { Core } from "../core/wasm.js";
import { runJob, SpectrumJob } from "./pool.js";

const c = new Core((workerData as { module: WebAssembly.Module }).module);

parentPort!.on("message", (req: { id: number; job: SpectrumJob }) => {
  try {
    parentPort!.postMessage({ id: req.id, result: runJob(c, req.job) });
  } catch (e) {
    parentPort!.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e), exitCode: (e as { exitCode?: number }).exitCode });
  }
});
