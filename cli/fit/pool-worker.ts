/**
 * A sysid worker thread (cli/fit/pool.ts): its own wasm instance with the current
 * teacher resident in it. A message with `teacher` (shared memory) replaces
 * the teacher; every other message is an evaluation of a share of the trials.
 */
import { parentPort, workerData } from "node:worker_threads";
import { adoptCore, Core } from "../core/wasm.js";
import { CoreEvaluator, EpochRecord, FitEvent, fitOnce, FitOptions, TeacherArrays } from "./sysid.js";
import { STOP_SIGNALS } from "./pool.js";
import { SharedChannel, serveChannel } from "./channel.js";

const core = new Core((workerData as { module: WebAssembly.Module }).module);
// the optimizer and the shuffling of a whole start use this thread's instance
adoptCore(core);
let ev: CoreEvaluator | undefined;
let loadError: string | undefined;

/** A whole start (cli/fit/pool.ts callFit): the options without callbacks, and the shared stop flag. */
interface FitRequest {
  nTrials: number;
  opts: FitOptions;
  startIndex: number;
  startValues: number[];
  stop: SharedArrayBuffer;
}

async function runStart(id: number, f: FitRequest): Promise<void> {
  const stop = new Int32Array(f.stop);
  const events: FitEvent[] = [];
  const history: EpochRecord[] = [];
  try {
    if (!ev) throw new Error(loadError ?? "sysid worker: no teacher loaded");
    const result = await fitOnce(
      ev,
      f.nTrials,
      {
        ...f.opts,
        shouldStop: () => Atomics.load(stop, 0) !== 0,
        stopReason: () => STOP_SIGNALS[Atomics.load(stop, 0)] || undefined,
        onEpoch: (epoch) => parentPort!.postMessage({ id, epoch }),
      },
      f.startIndex,
      f.startValues,
      events,
      history,
    );
    parentPort!.postMessage({ id, run: { result, events, history } });
  } catch (e) {
    parentPort!.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
}

interface Request {
  id: number;
  start?: FitRequest;
  channel?: SharedChannel;
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
  if (req.channel) {
    // serve mini-batch shares through shared memory until released (cli/fit/channel.ts); the main thread blocks on it only after this word
    parentPort!.postMessage({ id: -2, serving: true });
    serveChannel(req.channel, (values, fit, mode, sel) => {
      if (!ev) throw new Error(loadError ?? "sysid worker: no teacher loaded");
      return ev.evaluateSync(values, fit, mode, sel);
    });
    return;
  }
  if (req.start) {
    void runStart(req.id, req.start);
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
