/**
 * A training worker: its own wasm instance with the network and a copy of
 * the optimizer (theta, Adam's moments, one gradient slot per worker). The
 * network reads its weights from the optimizer's theta and writes its
 * gradient into its own slot, so a step copies nothing inside the worker.
 *
 * An epoch runs in the workers without the main thread: for every batch each
 * worker computes the gradient of its share of the images, the workers
 * exchange gradients through shared memory (each one needs, for the part of
 * the parameters it updates, every other worker's gradient), each applies
 * Adam to its own part with the sum of all the slots in worker order (the
 * same sums, in the same order, as one optimizer would form: the result is
 * identical for any number of workers), and they exchange the updated parts
 * of theta. Two barriers per batch. Protocol: see WorkerRequest / WorkerReply.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Core, wasmModule } from "../core/wasm.js";
import { Network, NetShape } from "../core/network.js";
import { Group, Optimizer } from "../core/optimizer.js";
import type { Layout } from "./config.js";
import { Barrier, BarrierAborted, partition, shares } from "./sync.js";

/** The network's shape (N, sizes, steps, largest share of a batch, precision, x(0) mode) and the shared data. */
export interface WorkerInit extends NetShape {
  params: number[];
  dtS: number;
  cmOe: number;
  layout: Layout;
  trainImages: SharedArrayBuffer;
  trainLabels: SharedArrayBuffer;
  testImages: SharedArrayBuffer;
  testLabels: SharedArrayBuffer;
  /** index of the first validation image in trainImages (they follow the training images) */
  valOffset: number;
  order: SharedArrayBuffer;
  /** theta and Adam's moments in the run's precision: read at start; each worker writes its part back after every epoch (and theta after every batch) */
  theta: SharedArrayBuffer;
  adamM: SharedArrayBuffer;
  adamV: SharedArrayBuffer;
  /** Adam steps taken before this session */
  adamStep: number;
  wcp: SharedArrayBuffer;
  /** this worker's index and the number of workers */
  index: number;
  threads: number;
  /** one gradient exchange area per worker (theta's layout) */
  grads: SharedArrayBuffer[];
  /** the barrier's words (worker-pool.ts Barrier) */
  ctl: SharedArrayBuffer;
}

export type WorkerRequest =
  /** one epoch: batches of `batch` over the first `count` images of `order`; Adam with `groups` */
  | { kind: "epoch"; count: number; batch: number; want: number; groups: Group[] }
  | { kind: "eval"; set: "test" | "val"; start: number; end: number }
  | { kind: "close" };

/** Milliseconds of an epoch spent in the core's step, waiting at the barriers, copying between threads, and in Adam. */
export interface EpochTimes {
  core: number;
  wait: number;
  copy: number;
  adam: number;
  total: number;
}

export interface WorkerReply {
  loss: number;
  correct: number;
  count: number;
  /** epoch: this worker's loss summed over its images, per batch (0 where it had none) */
  losses?: Float64Array;
  times?: EpochTimes;
  /** a progress message of worker 0 (images done in the epoch), not a reply */
  progress?: number;
  error?: string;
  /** the error is only that another worker failed */
  aborted?: boolean;
}

type Elem = Float32Array | Float64Array;
type Ranges = [number, number][];

class Worker {
  private readonly c = new Core(wasmModule());
  private readonly opt: Optimizer;
  private readonly b: Network;
  private readonly barrier: Barrier;
  private readonly elem: (b: SharedArrayBuffer) => Elem;
  private readonly theta: Elem;
  private readonly grads: Elem[];
  private readonly order: Int32Array;
  private readonly trainImages: Uint8Array;
  private readonly trainLabels: Uint8Array;
  private readonly testImages: Uint8Array;
  private readonly testLabels: Uint8Array;

  constructor(private readonly d: WorkerInit) {
    const f32 = d.precision === "f32";
    this.elem = (b) => (f32 ? new Float32Array(b) : new Float64Array(b));
    this.opt = new Optimizer(d.precision, d.layout.total, d.threads, this.c);
    this.opt.load({ theta: this.elem(d.theta), m: this.elem(d.adamM), v: this.elem(d.adamV), t: d.adamStep });
    this.b = new Network(this.c, d, d.layout, d.params.length, { optimizer: this.opt, slot: d.index });
    this.barrier = new Barrier(d.ctl, d.threads);
    this.theta = this.elem(d.theta);
    this.grads = d.grads.map(this.elem);
    this.order = new Int32Array(d.order);
    this.trainImages = new Uint8Array(d.trainImages);
    this.trainLabels = new Uint8Array(d.trainLabels);
    this.testImages = new Uint8Array(d.testImages);
    this.testLabels = new Uint8Array(d.testLabels);
    this.b.setCoupling(new Float64Array(d.wcp));
  }

  private run(count: number, want: number, gradScale: number): { loss: number; correct: number } {
    this.b.loadScalars(this.d.params);
    const r = this.b.step(this.d.dtS, this.d.cmOe, count, gradScale, want);
    if (want) this.b.finishGradients(want);
    return r;
  }

  epoch(count: number, batch: number, want: number, groups: Group[]): WorkerReply {
    const t0 = performance.now();
    const times: EpochTimes = { core: 0, wait: 0, copy: 0, adam: 0, total: 0 };
    let t = t0;
    const lap = (what: keyof EpochTimes): void => {
      const now = performance.now();
      times[what] += now - t;
      t = now;
    };
    const { index: me, threads, nIn } = this.d;
    const parts = partition(
      groups.map((g) => [g.start, g.end]),
      threads,
    );
    const mine = parts[me];
    const others = parts.flatMap((p, j) => (j === me ? [] : p));
    // Adam updates this worker's part of every group
    this.opt.setGroups(
      groups.flatMap((g) =>
        mine.flatMap(([lo, hi]) => (Math.max(lo, g.start) < Math.min(hi, g.end) ? [{ ...g, start: Math.max(lo, g.start), end: Math.min(hi, g.end) }] : [])),
      ),
    );
    const losses = new Float64Array(Math.ceil(count / batch));
    let correct = 0;
    let done = 0;
    for (let start = 0, b = 0; start < count; start += batch, b++) {
      const n = Math.min(batch, count - start);
      const sh = shares(n, threads);
      const used = sh.filter(([, k]) => k > 0).length;
      const [s, k] = sh[me];
      if (k > 0) {
        const im = this.b.images();
        const lb = this.b.labels();
        for (let i = 0; i < k; i++) {
          const o = this.order[start + s + i];
          im.set(this.trainImages.subarray(o * nIn, (o + 1) * nIn), i * nIn);
          lb[i] = this.trainLabels[o];
        }
        const r = this.run(k, want, 1 / n);
        losses[b] = r.loss;
        correct += r.correct;
        done += k;
      }
      lap("core");
      // fresh views of the optimizer's buffers (a view dies if wasm memory grows)
      const theta = this.opt.theta();
      const slots = Array.from({ length: threads }, (_, j) => this.opt.slot(j));
      if (threads > 1) {
        // my gradient of the others' parts out; theirs of my part in
        if (k > 0) copyRanges(slots[me], this.grads[me], others);
        lap("copy");
        this.barrier.wait();
        lap("wait");
        for (let j = 0; j < used; j++) if (j !== me) copyRanges(this.grads[j], slots[j], mine);
        lap("copy");
      }
      this.opt.step(used);
      lap("adam");
      if (threads > 1) {
        // my part of theta out; the others' parts in
        copyRanges(theta, this.theta, mine);
        lap("copy");
        this.barrier.wait();
        lap("wait");
        copyRanges(this.theta, theta, others);
        lap("copy");
      }
      if (me === 0) parentPort?.postMessage({ loss: 0, correct: 0, count: 0, progress: start + n } satisfies WorkerReply);
    }
    // this worker's part of the state, for checkpoints and the main thread
    copyRanges(this.opt.theta(), this.theta, mine);
    copyRanges(this.opt.m(), this.elem(this.d.adamM), mine);
    copyRanges(this.opt.v(), this.elem(this.d.adamV), mine);
    times.total = performance.now() - t0;
    return { loss: 0, correct, count: done, losses, times };
  }

  evaluate(set: "test" | "val", start: number, end: number): WorkerReply {
    const nIn = this.d.nIn;
    const off = set === "val" ? this.d.valOffset : 0;
    const images = set === "val" ? this.trainImages : this.testImages;
    const labels = set === "val" ? this.trainLabels : this.testLabels;
    let loss = 0;
    let correct = 0;
    for (let s = start; s < end; s += this.d.maxBatch) {
      const k = Math.min(this.d.maxBatch, end - s);
      this.b.images().set(images.subarray((off + s) * nIn, (off + s + k) * nIn));
      this.b.labels().set(labels.subarray(off + s, off + s + k));
      const r = this.run(k, 0, 0);
      loss += r.loss;
      correct += r.correct;
    }
    return { loss, correct, count: end - start };
  }
}

/** dst[lo, hi) = src[lo, hi) for each range. */
function copyRanges(src: Elem, dst: Elem, ranges: Ranges): void {
  for (const [lo, hi] of ranges) dst.set(src.subarray(lo, hi), lo);
}

if (parentPort) {
  const port = parentPort;
  let w: Worker | undefined;
  let initError: string | undefined;
  try {
    w = new Worker(workerData as WorkerInit);
  } catch (e) {
    initError = e instanceof Error ? e.message : String(e);
  }
  const barrier = new Barrier((workerData as WorkerInit).ctl, (workerData as WorkerInit).threads);
  port.on("message", (m: WorkerRequest) => {
    if (m.kind === "close") {
      port.close();
      return;
    }
    try {
      if (!w) throw new Error(initError ?? "worker not initialized");
      port.postMessage(m.kind === "epoch" ? w.epoch(m.count, m.batch, m.want, m.groups) : w.evaluate(m.set, m.start, m.end));
    } catch (e) {
      const aborted = e instanceof BarrierAborted;
      // the others may be waiting for this one
      if (!aborted) barrier.abort();
      port.postMessage({ loss: 0, correct: 0, count: 0, error: e instanceof Error ? e.message : String(e), aborted } satisfies WorkerReply);
    }
  });
}
