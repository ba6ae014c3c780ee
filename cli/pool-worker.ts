/** A sysid worker thread: its own wasm instance, the teacher resident in it. */
import { parentPort, workerData } from "node:worker_threads";
import { Core } from "./core.js";
import { CoreEvaluator } from "./sysid.js";

const { module, teacher, dtS, washoutS } = workerData as { module: WebAssembly.Module; teacher: ConstructorParameters<typeof CoreEvaluator>[0]; dtS: number; washoutS: number };
const ev = new CoreEvaluator(teacher, dtS, washoutS, new Core(module));

parentPort!.on("message", (req: { id: number; values: number[]; fit: number[]; mode: "loss" | "dual" | "adjoint"; sel: number[] }) => {
  try {
    const parts = ev.evaluateSync(Float64Array.from(req.values), req.fit, req.mode, req.sel);
    parentPort!.postMessage({ id: req.id, parts });
  } catch (e) {
    parentPort!.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) });
  }
});
