/**
 * A sysid worker thread (cli/fit/pool.ts): its own wasm instance with the current
 * teacher resident in it. A message with `teacher` (shared memory) replaces
 * the teacher; every other message is an evaluation of a share of the trials.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Core } from "../core/wasm.js";
import { CoreEvaluator, TeacherArrays } from "./sysid.js";

const core = new Core((workerData as { module: WebAssembly.Module }).module);
let ev: CoreEvaluator | undefined;
let loadError: string | undefined;

interface Request {
  id: number;
  teacher?: TeacherArrays;
  dtS?: number;
  washoutS?: number;
  values: number[];
  fit: number[];
  mode: "loss" | "dual" | "adjoint";
  sel: number[];
}

parentPort!.on("message", (req: Request) => {
  if (req.teacher) {
    void ev?.close();
    ev = undefined;
    loadError = undefined;
    try {
      ev = new CoreEvaluator(req.teacher, req.dtS!, req.washoutS!, core);
    } catch (e) {
      loadError = e instanceof Error ? e.message : String(e);
    }
    return;
  }
  try {
    if (!ev) throw new Error(loadError ?? "sysid worker: no teacher loaded");
    const parts = ev.evaluateSync(Float64Array.from(req.values), req.fit, req.mode, req.sel);
    parentPort!.postMessage({ id: req.id, parts });
  } catch (e) {
    parentPort!.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) });
  }
});
