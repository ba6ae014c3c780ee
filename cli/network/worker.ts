/**
 * A training worker: its own wasm instance and network workspace. It reads
 * images and the current parameters from shared memory, runs
 * stoopt_net_step on its share of a batch, and writes its gradient into its
 * own shared slot. Protocol: see WorkerRequest / WorkerReply.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Core, wasmModule } from "../core/wasm.js";
import { Network, NetShape } from "../core/network.js";
import type { Layout } from "./config.js";

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
  theta: SharedArrayBuffer;
  wcp: SharedArrayBuffer;
  grad: SharedArrayBuffer;
}

export type WorkerRequest =
  | { kind: "train"; start: number; count: number; version: number; want: number; gradScale: number }
  | { kind: "eval"; set: "test" | "val"; start: number; end: number; version: number }
  | { kind: "close" };

export interface WorkerReply {
  loss: number;
  correct: number;
  count: number;
  /** milliseconds spent in the core / in the whole request */
  coreMs?: number;
  totalMs?: number;
  error?: string;
}

type Elem = Float32Array | Float64Array;

class Worker {
  private readonly c = new Core(wasmModule());
  private readonly b: Network;
  private readonly theta: Elem;
  private readonly grad: Elem;
  private readonly order: Int32Array;
  private readonly trainImages: Uint8Array;
  private readonly trainLabels: Uint8Array;
  private readonly testImages: Uint8Array;
  private readonly testLabels: Uint8Array;
  private version = -1;

  constructor(private readonly d: WorkerInit) {
    this.b = new Network(this.c, d, d.layout, d.params.length);
    const f32 = d.precision === "f32";
    this.theta = f32 ? new Float32Array(d.theta) : new Float64Array(d.theta);
    this.grad = f32 ? new Float32Array(d.grad) : new Float64Array(d.grad);
    this.order = new Int32Array(d.order);
    this.trainImages = new Uint8Array(d.trainImages);
    this.trainLabels = new Uint8Array(d.trainLabels);
    this.testImages = new Uint8Array(d.testImages);
    this.testLabels = new Uint8Array(d.testLabels);
    this.b.setCoupling(new Float64Array(d.wcp));
  }

  private sync(version: number): void {
    if (version === this.version) return;
    this.b.load(this.theta, this.d.params);
    this.version = version;
  }

  private run(count: number, want: number, gradScale: number): { loss: number; correct: number } {
    return this.b.step(this.d.dtS, this.d.cmOe, count, gradScale, want);
  }

  train(start: number, count: number, version: number, want: number, gradScale: number): WorkerReply {
    const t0 = performance.now();
    this.sync(version);
    const nIn = this.d.nIn;
    const im = this.b.images();
    const lb = this.b.labels();
    for (let b = 0; b < count; b++) {
      const k = this.order[start + b];
      im.set(this.trainImages.subarray(k * nIn, (k + 1) * nIn), b * nIn);
      lb[b] = this.trainLabels[k];
    }
    const t1 = performance.now();
    const r = this.run(count, want, gradScale);
    const coreMs = performance.now() - t1;
    this.b.gradientsInto(this.grad, want);
    return { ...r, count, coreMs, totalMs: performance.now() - t0 };
  }

  evaluate(set: "test" | "val", start: number, end: number, version: number): WorkerReply {
    this.sync(version);
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

if (parentPort) {
  const port = parentPort;
  let w: Worker | undefined;
  let initError: string | undefined;
  try {
    w = new Worker(workerData as WorkerInit);
  } catch (e) {
    initError = e instanceof Error ? e.message : String(e);
  }
  port.on("message", (m: WorkerRequest) => {
    if (m.kind === "close") {
      port.close();
      return;
    }
    try {
      if (!w) throw new Error(initError ?? "worker not initialized");
      port.postMessage(m.kind === "train" ? w.train(m.start, m.count, m.version, m.want, m.gradScale) : w.evaluate(m.set, m.start, m.end, m.version));
    } catch (e) {
      port.postMessage({ loss: 0, correct: 0, count: 0, error: e instanceof Error ? e.message : String(e) } satisfies WorkerReply);
    }
  });
}
