/** A worker thread of WindowPool: its own wasm instance, the windows resident in it. */
import { parentPort, workerData } from "node:worker_threads";
import { Core } from "../core/wasm.js";
import { CoreWindows, WindowArrays, WindowRequest } from "./windows.js";

const { module, windows, dtS, washoutS } = workerData as { module: WebAssembly.Module; windows: WindowArrays; dtS: number; washoutS: number };
const ev = new CoreWindows(windows, dtS, washoutS, new Core(module));

parentPort!.on("message", (msg: { id: number; req: WindowRequest }) => {
  try {
    const blocks = ev.evaluateSync(msg.req);
    parentPort!.postMessage({ id: msg.id, blocks }, [blocks.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
