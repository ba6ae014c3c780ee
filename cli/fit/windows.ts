/**
 * Windows of measured traces resident in the wasm core, evaluated there
 * (core-rs/src/sysid.rs `Ext`, ABI `stoopt_sysid_windows`): the signal model
 * offset + amplitude m_x, each window's initial state given or fitted in a
 * tangent-plane chart, per-window blocks of sums (layout `blockLayout`).
 * `WindowPool` splits the windows of every call across worker threads, each
 * with its own wasm instance (cli/fit/windows-worker.ts).
 */
import { Worker } from "node:worker_threads";
import { Core, core, wasmModule } from "../core/wasm.js";
import { SIZE } from "../core/codes.js";
import { blockLayout, SysidMode, SysidProblem } from "../core/sysid.js";

/** Windows flattened for the core: window i owns samples offsets[i]..offsets[i+1]. */
export interface WindowArrays {
  offsets: Uint32Array;
  t_s: Float64Array;
  /** the measured signal (or m_x) */
  y: Float64Array;
}

export type WindowMode = SysidMode;

export interface WindowRequest {
  params: Float64Array;
  /** indices (PARAMS order) of the fitted parameters */
  fit: number[];
  mode: WindowMode;
  /** initial state (3 per window): the chart's reference direction when `chart` is set */
  m0: Float64Array;
  /** chart coordinates (u, v) per window, or null: start at m0 itself */
  chart: Float64Array | null;
  offset: number;
  amplitude: number;
  /** windows to evaluate */
  sel: number[];
}

export { blockLayout } from "../core/sysid.js";
export type { BlockLayout } from "../core/sysid.js";

export interface WindowEvaluator {
  readonly nWindows: number;
  /** the blocks of `req.sel`, in that order (blockLayout(req.fit.length, req.chart !== null).len each) */
  evaluate(req: WindowRequest): Promise<Float64Array>;
  close(): Promise<void>;
}

/** The windows resident in one core's memory. */
export class CoreWindows implements WindowEvaluator {
  readonly nWindows: number;
  private readonly problem: SysidProblem;

  constructor(
    readonly w: WindowArrays,
    readonly dtS: number,
    readonly washoutS: number,
    c: Core = core(),
  ) {
    this.nWindows = w.offsets.length - 1;
    this.problem = new SysidProblem(w, dtS, washoutS, blockLayout(SIZE.n_params, true).len, c);
  }

  /** Blocks of `req.sel`; with `student`, also the student's state (3 per sample, loss mode). */
  evaluateSync(req: WindowRequest, student?: Float64Array): Float64Array {
    return this.problem.windows(req, blockLayout(req.fit.length, req.chart !== null).len, student);
  }

  async evaluate(req: WindowRequest): Promise<Float64Array> {
    return this.evaluateSync(req);
  }

  async close(): Promise<void> {
    this.problem.free();
  }
}

interface Pending {
  resolve: (b: Float64Array) => void;
  reject: (e: Error) => void;
}

/** Worker threads, each with the windows resident in its own core; a call's windows are split in contiguous runs. */
export class WindowPool implements WindowEvaluator {
  readonly nWindows: number;
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(w: WindowArrays, dtS: number, washoutS: number, threads: number) {
    this.nWindows = w.offsets.length - 1;
    const module = wasmModule();
    this.workers = Array.from({ length: threads }, () => {
      const wk = new Worker(new URL("./windows-worker.js", import.meta.url), { workerData: { module, windows: w, dtS, washoutS } });
      wk.on("message", (msg: { id: number; blocks?: Float64Array; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error !== undefined) p.reject(new Error(msg.error));
        else p.resolve(msg.blocks!);
      });
      wk.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      return wk;
    });
  }

  async evaluate(req: WindowRequest): Promise<Float64Array> {
    const n = this.workers.length;
    const chunk = Math.ceil(req.sel.length / n);
    const jobs: Promise<Float64Array>[] = [];
    for (let i = 0; i < n; i++) {
      const part = req.sel.slice(i * chunk, (i + 1) * chunk);
      if (!part.length) continue;
      const id = this.nextId++;
      jobs.push(
        new Promise((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          this.workers[i].postMessage({ id, req: { ...req, sel: part } });
        }),
      );
    }
    const parts = await Promise.all(jobs);
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let k = 0;
    for (const p of parts) {
      out.set(p, k);
      k += p.length;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export function makeWindowEvaluator(w: WindowArrays, dtS: number, washoutS: number, threads: number): WindowEvaluator {
  const n = w.offsets.length - 1;
  return threads > 1 && n > 1 ? new WindowPool(w, dtS, washoutS, Math.min(threads, n)) : new CoreWindows(w, dtS, washoutS);
}
