/**
 * Windows of measured traces resident in the wasm core, evaluated there
 * (core-rs/src/sysid.rs `Ext`, ABI `stoopt_sysid_windows`): the signal model
 * offset + amplitude m_x, each window's initial state given or fitted in a
 * tangent-plane chart, per-window blocks of sums (layout `blockLayout`).
 * `WindowPool` splits the windows of every call across worker threads, each
 * with its own wasm instance (cli/windows-worker.ts).
 */
import { Worker } from "node:worker_threads";
import { Core, core, Buf, wasmModule } from "./core.js";
import { N_PARAMS } from "./model.js";

/** Windows flattened for the core: window i owns samples offsets[i]..offsets[i+1]. */
export interface WindowArrays {
  offsets: Uint32Array;
  t_s: Float64Array;
  /** the measured signal (or m_x) */
  y: Float64Array;
}

export type WindowMode = "loss" | "dual" | "adjoint";
const MODE_CODE: Record<WindowMode, number> = { loss: 0, dual: 1, adjoint: 2 };

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

/** Offsets into one window's block of sums (core-rs/src/sysid.rs `Block`). */
export interface BlockLayout {
  len: number;
  /** G = fitted parameters + offset + amplitude */
  g: number;
  w: number;
  /** d sum|r| / d g */
  ga: number;
  /** J_g^T r */
  gr: number;
  /** J_g^T J_g (G x G) */
  gg: number;
  wa: number;
  wr: number;
  /** J_w^T J_w (W x W) */
  ww: number;
  /** J_w^T J_g (W x G) */
  wg: number;
}

export function blockLayout(nFit: number, chart: boolean): BlockLayout {
  const g = nFit + 2;
  const w = chart ? 2 : 0;
  const ga = 3;
  const gr = ga + g;
  const gg = gr + g;
  const wa = gg + g * g;
  const wr = wa + w;
  const ww = wr + w;
  const wg = ww + w * w;
  return { len: wg + w * g, g, w, ga, gr, gg, wa, wr, ww, wg };
}

export interface WindowEvaluator {
  readonly nWindows: number;
  /** the blocks of `req.sel`, in that order (blockLayout(req.fit.length, req.chart !== null).len each) */
  evaluate(req: WindowRequest): Promise<Float64Array>;
  close(): Promise<void>;
}

/** The windows resident in one core's memory. */
export class CoreWindows implements WindowEvaluator {
  readonly nWindows: number;
  private readonly bufs: {
    offsets: Buf<Int32Array>;
    t: Buf<Float64Array>;
    y: Buf<Float64Array>;
    m0: Buf<Float64Array>;
    chart: Buf<Float64Array>;
    params: Buf<Float64Array>;
    fit: Buf<Int32Array>;
    sel: Buf<Int32Array>;
    blocks: Buf<Float64Array>;
  };
  private readonly maxLen: number;

  constructor(
    readonly w: WindowArrays,
    readonly dtS: number,
    readonly washoutS: number,
    private readonly c: Core = core(),
  ) {
    this.nWindows = w.offsets.length - 1;
    this.maxLen = blockLayout(N_PARAMS, true).len;
    this.bufs = {
      offsets: c.i32(w.offsets.length),
      t: c.f64(w.t_s.length),
      y: c.f64(w.y.length),
      m0: c.f64(3 * this.nWindows),
      chart: c.f64(2 * this.nWindows),
      params: c.f64(N_PARAMS),
      fit: c.i32(N_PARAMS),
      sel: c.i32(this.nWindows),
      blocks: c.f64(this.maxLen * this.nWindows),
    };
    this.bufs.offsets.view().set(new Int32Array(w.offsets.buffer, w.offsets.byteOffset, w.offsets.length));
    this.bufs.t.view().set(w.t_s);
    this.bufs.y.view().set(w.y);
  }

  /** Blocks of `req.sel`; with `student`, also the student's state (3 per sample, loss mode). */
  evaluateSync(req: WindowRequest, student?: Float64Array): Float64Array {
    const b = this.bufs;
    b.params.view().set(req.params);
    b.fit.view().set(req.fit);
    b.sel.view().set(req.sel);
    b.m0.view().set(req.m0);
    if (req.chart) b.chart.view().set(req.chart);
    const st = student ? this.c.f64(3 * this.w.t_s.length) : undefined;
    try {
      this.c.check(
        this.c.exports.stoopt_sysid_windows(
          b.params.ptr,
          b.fit.ptr,
          req.fit.length,
          MODE_CODE[req.mode],
          this.dtS,
          this.washoutS,
          this.nWindows,
          b.offsets.ptr,
          b.t.ptr,
          b.y.ptr,
          b.m0.ptr,
          req.chart ? b.chart.ptr : 0,
          req.offset,
          req.amplitude,
          b.sel.ptr,
          req.sel.length,
          b.blocks.ptr,
          st ? st.ptr : 0,
        ),
        "sysid windows",
      );
      if (st && student) student.set(st.view());
    } finally {
      st?.free();
    }
    const len = blockLayout(req.fit.length, req.chart !== null).len;
    const all = b.blocks.view();
    const out = new Float64Array(len * req.sel.length);
    req.sel.forEach((i, k) => out.set(all.subarray(i * len, (i + 1) * len), k * len));
    return out;
  }

  async evaluate(req: WindowRequest): Promise<Float64Array> {
    return this.evaluateSync(req);
  }

  async close(): Promise<void> {
    for (const b of Object.values(this.bufs)) b.free();
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
