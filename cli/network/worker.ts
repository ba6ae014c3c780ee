/**
 * A training worker: its own wasm instance with the network and a copy of
 * the optimizer (theta, Adam's moments, one gradient slot per worker). The
 * network reads its weights from the optimizer's theta and writes its
 * gradient into its own slot, so a step copies nothing inside the worker.
 *
 * An epoch runs in the workers without the main thread. For every batch
 * each worker computes the gradient of its share of the images, each
 * applies Adam to its own part of the parameters with the gradients of all
 * the shares (summed in worker order, as one optimizer would: the result is
 * identical for any number of workers), and the workers exchange through
 * shared memory only what the others need, at two barriers per batch:
 * - when W_in is trained (most of the parameters), each worker owns rows of
 *   W_in: it forms those rows of x(0) = W_in u for every share of the batch
 *   and, from the others' dL/dx(0), those rows of every share's W_in
 *   gradient (network.rs `Split`, `ImageLanes`); what crosses is x(0) and
 *   dL/dx(0) (3N numbers per image) and the other parameters' gradients and
 *   updated values, never W_in or its gradient;
 * - otherwise the gradients of the others' parts and the updated parts of
 *   theta cross.
 * Protocol: see WorkerRequest / WorkerReply.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Core, wasmModule } from "../core/wasm.js";
import { ImageLanes, LaneRows, netFlopsPerImage, Network, NetShape, wants } from "../core/network.js";
import { Group, Optimizer } from "../core/optimizer.js";
import type { Layout } from "./config.js";
import { Barrier, BarrierAborted, laneShares, partition, shares } from "./sync.js";

/** The network's shape (N, sizes, steps, largest share of a batch, precision, x(0) mode) and the shared data. */
export interface WorkerInit extends NetShape {
  /** images per evaluation step (the even share of a batch) */
  evalBatch: number;
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
  /** per worker: x(0) of its share of a batch (3N rows of lane vectors, network.rs `Split`), each row part written by the worker that owns those rows of W_in */
  x0s: SharedArrayBuffer[];
  /** per worker: dL/dx(0) of its share, read by the owners of the rows */
  lamvs: SharedArrayBuffer[];
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
  /** epoch: wall time of each batch [ms] */
  stepMs?: Float64Array;
  /** a progress message of worker 0 (images done in the epoch), not a reply */
  progress?: number;
  error?: string;
  /** the error is only that another worker failed */
  aborted?: boolean;
}

type Elem = Float32Array | Float64Array;
type Ranges = [number, number][];

/**
 * Who does what in an epoch: each worker's share of a batch and its part
 * of the parameters (ranges of theta); with the W_in split (`split`) each
 * worker's rows of W_in (`rows`) and its part of the other parameters
 * (`small...`).
 */
interface Plan {
  split: boolean;
  /** a batch of n images split into the workers' shares */
  shares: (n: number) => [number, number][];
  rows: [number, number][];
  /** with the W_in split: for a batch's shares, whether this worker forms its rows of its own share's W_in gradient before the second barrier (`early`) */
  early: (shares: [number, number][]) => boolean;
  mine: Ranges;
  others: Ranges;
  smallMine: Ranges;
  smallOthers: Ranges;
}

/** A batch: its first image in the epoch's order, each worker's [first, count] within it, and how many workers have images. */
interface Batch {
  start: number;
  shares: [number, number][];
  used: number;
  /** this worker formed its rows of its own share's W_in gradient before the second barrier */
  early: boolean;
}

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
  /** for the W_in-rows split: every share's images in lanes, this share's x(0) and dL/dx(0), and scratch rows */
  private readonly lanes: ImageLanes[];
  private readonly x0: LaneRows;
  private readonly lamv: LaneRows;
  private readonly rowsTmp: LaneRows;
  /** views of the shared x(0) and dL/dx(0) areas, one per worker */
  private readonly x0s: Elem[];
  private readonly lamvs: Elem[];

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
    const f = 3 * d.n;
    this.lanes = d.threads > 1 ? Array.from({ length: d.threads }, () => new ImageLanes(this.c, d.precision, d.nIn, d.maxBatch, f)) : [];
    [this.x0, this.lamv, this.rowsTmp] = [0, 1, 2].map(() => new LaneRows(this.c, d.precision, d.threads > 1 ? f : 0, d.maxBatch));
    this.x0s = d.x0s.map(this.elem);
    this.lamvs = d.lamvs.map(this.elem);
  }

  private run(count: number, want: number, gradScale: number, split?: { x0: LaneRows; lamv: LaneRows }): { loss: number; correct: number } {
    this.b.loadScalars(this.d.params);
    const r = this.b.step(this.d.dtS, this.d.cmOe, count, gradScale, want, split);
    if (want) this.b.finishGradients(want);
    return r;
  }

  /** Who updates what in an epoch of `groups` in batches of `batch` (see `Plan`). */
  private plan(groups: Group[], want: number, batch: number): Plan {
    const { index: me, threads, layout: L, nIn } = this.d;
    const win = groups.find((g) => g.start === L.win[0] && g.end === L.win[1]);
    const split = threads > 1 && win !== undefined && wants(want, "win");
    const lanes = this.x0.lanes;
    const f = (L.win[1] - L.win[0]) / nIn;
    // With the W_in split, a batch's shares are whole lane groups (no padded lanes but the last
    // worker's). A batch has two halves, each ended by a barrier: the images' work (the core step
    // of my share) and the rows' work (for my rows of W_in and every share: W_in-gradient rows,
    // Adam, the next batch's x(0) rows). Each half must balance on its own. In the images' half a
    // worker with a lane group less than the largest share would wait; it forms its rows of its
    // own share's W_in gradient there instead (`early`, if that fits in the wait), so its rows cost
    // it less in the rows' half, and it takes more rows.
    const early = (sh: [number, number][]): boolean[] => {
      const groupsOf = sh.map(([, k]) => Math.ceil(k / lanes));
      const most = Math.max(...groupsOf);
      return groupsOf.map((g) => split && g < most);
    };
    const nominal = laneShares(batch, threads, lanes);
    const pre = early(nominal).map((e, w) => (e ? nominal[w][1] : 0));
    // a row's cost in the rows' half: x(0) for the whole batch, the gradient for the shares not formed early
    let sizes = pre.map((k) => 1 / (2 * batch - k));
    const norm = sizes.reduce((a, v) => a + v, 0);
    sizes = sizes.map((v) => (f * v) / norm);
    // the early rows must fit in the wait: 2 nIn flops per image and row, against a lane group's other work
    const rest = split ? (netFlopsPerImage(this.c, this.d.n, nIn, this.d.nOut, this.d.steps, want, this.d.x0Norm) - 4 * f * nIn) * lanes : 0;
    const most = Math.max(...nominal.map(([, k]) => Math.ceil(k / lanes)));
    const fits = pre.every((k, w) => k === 0 || 2 * nIn * k * sizes[w] <= (most - Math.ceil(nominal[w][1] / lanes)) * rest);
    const rows = rowParts(fits ? sizes : [], split ? f : 0, threads);
    const small = partition(
      groups.filter((g) => !split || g !== win).map((g) => [g.start, g.end]),
      threads,
    );
    const parts = small.map((p, k): Ranges => (split ? [[L.win[0] + rows[k][0] * nIn, L.win[0] + rows[k][1] * nIn], ...p] : p));
    const others = <T>(per: T[][]): T[] => per.flatMap((p, j) => (j === me ? [] : p));
    return {
      split,
      shares: (n) => (split ? laneShares(n, threads, lanes) : shares(n, threads)),
      rows,
      early: (sh) => fits && early(sh)[me],
      mine: parts[me],
      others: others(parts),
      smallMine: small[me],
      smallOthers: others(small),
    };
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
    const p = this.plan(groups, want, batch);
    // Adam updates this worker's part of every group
    this.opt.setGroups(
      groups.flatMap((g) =>
        p.mine.flatMap(([lo, hi]) => (Math.max(lo, g.start) < Math.min(hi, g.end) ? [{ ...g, start: Math.max(lo, g.start), end: Math.min(hi, g.end) }] : [])),
      ),
    );
    const losses = new Float64Array(Math.ceil(count / batch));
    const stepMs = new Float64Array(losses.length);
    let correct = 0;
    let done = 0;
    for (let start = 0, b = 0; start < count; start += batch, b++) {
      const tb = t;
      const n = Math.min(batch, count - start);
      const sh = p.shares(n);
      const bt: Batch = { start, shares: sh, used: sh.filter(([, k]) => k > 0).length, early: p.split && p.early(sh) };
      const [s, k] = sh[me];
      if (p.split) {
        this.shareX0(bt, p);
        lap("core");
        this.barrier.wait();
        lap("wait");
        this.takeX0(bt, p);
        lap("copy");
      }
      if (k > 0) {
        const im = this.b.images();
        const lb = this.b.labels();
        for (let i = 0; i < k; i++) {
          const o = this.order[start + s + i];
          if (!p.split) im.set(this.trainImages.subarray(o * nIn, (o + 1) * nIn), i * nIn);
          lb[i] = this.trainLabels[o];
        }
        const r = this.run(k, want, 1 / n, p.split ? { x0: this.x0, lamv: this.lamv } : undefined);
        losses[b] = r.loss;
        correct += r.correct;
        done += k;
        if (bt.early) {
          const [r0, r1] = p.rows[me];
          this.lanes[me].outerRows(this.lamv, r0, r1, this.opt, me, this.d.layout);
        }
      }
      lap("core");
      if (threads > 1) {
        this.giveGradients(bt, p);
        lap("copy");
        this.barrier.wait();
        lap("wait");
        this.takeGradients(bt, p);
        lap(p.split ? "core" : "copy");
      }
      this.opt.step(bt.used);
      lap("adam");
      if (threads > 1 && !p.split) {
        // my part of theta out; the others' parts in
        copyRanges(this.opt.theta(), this.theta, p.mine);
        lap("copy");
        this.barrier.wait();
        lap("wait");
        copyRanges(this.theta, this.opt.theta(), p.others);
        lap("copy");
      }
      stepMs[b] = t - tb;
      if (me === 0) parentPort?.postMessage({ loss: 0, correct: 0, count: 0, progress: start + n } satisfies WorkerReply);
    }
    // this worker's part of the state, for checkpoints and the main thread; with the W_in split, every worker takes the whole of theta (for evaluation)
    copyRanges(this.opt.theta(), this.theta, p.mine);
    copyRanges(this.opt.m(), this.elem(this.d.adamM), p.mine);
    copyRanges(this.opt.v(), this.elem(this.d.adamV), p.mine);
    if (p.split) {
      this.barrier.wait();
      copyRanges(this.theta, this.opt.theta(), p.others);
    }
    times.total = performance.now() - t0;
    return { loss: 0, correct, count: done, losses, times, stepMs };
  }

  /**
   * W_in split, before the first barrier: every share's images into lanes, my
   * rows of every share's x(0) (mine kept, the others' into their shared
   * areas), and my part of the other parameters out.
   */
  private shareX0(bt: Batch, p: Plan): void {
    const { index: me, nIn, layout: L } = this.d;
    const [r0, r1] = p.rows[me];
    for (let j = 0; j < bt.used; j++) {
      const [sj, kj] = bt.shares[j];
      const im = this.lanes[j].imageBuffer();
      for (let i = 0; i < kj; i++) {
        const o = this.order[bt.start + sj + i];
        im.set(this.trainImages.subarray(o * nIn, (o + 1) * nIn), i * nIn);
      }
      this.lanes[j].load(kj);
      this.lanes[j].x0Rows(this.opt, L, r0, r1, j === me ? this.x0 : this.rowsTmp);
      if (j !== me) this.x0s[j].set(this.rowsTmp.view(r0, r1, kj), r0 * this.x0.rowLength(kj));
    }
    copyRanges(this.opt.theta(), this.theta, p.smallMine);
  }

  /** W_in split, after the first barrier: the others' rows of my x(0), and their parts of the other parameters. */
  private takeX0(bt: Batch, p: Plan): void {
    const me = this.d.index;
    const k = bt.shares[me][1];
    if (k > 0) {
      const len = this.x0.rowLength(k);
      p.rows.forEach(([r0, r1], j) => {
        if (j !== me) this.x0.view(r0, r1, k).set(this.x0s[me].subarray(r0 * len, r1 * len));
      });
    }
    copyRanges(this.theta, this.opt.theta(), p.smallOthers);
  }

  /** Before the second barrier: my gradient of the others' parts (with the W_in split: my dL/dx(0) rows of their rows of W_in, and my gradient of their parts of the other parameters). */
  private giveGradients(bt: Batch, p: Plan): void {
    const me = this.d.index;
    const k = bt.shares[me][1];
    if (k === 0) return;
    const slot = this.opt.slot(me);
    if (!p.split) {
      copyRanges(slot, this.grads[me], p.others);
      return;
    }
    const len = this.lamv.rowLength(k);
    p.rows.forEach(([r0, r1], j) => {
      if (j !== me) this.lamvs[me].set(this.lamv.view(r0, r1, k), r0 * len);
    });
    copyRanges(slot, this.grads[me], p.smallOthers);
  }

  /** After the second barrier: every share's gradient of my part into its slot (with the W_in split, my rows of W_in's from every share's dL/dx(0)). */
  private takeGradients(bt: Batch, p: Plan): void {
    const me = this.d.index;
    const [r0, r1] = p.rows[me];
    for (let j = 0; j < bt.used; j++) {
      if (j !== me) copyRanges(this.grads[j], this.opt.slot(j), p.split ? p.smallMine : p.mine);
      if (!p.split || (j === me && bt.early)) continue;
      let lamv = this.lamv;
      if (j !== me) {
        const len = this.rowsTmp.rowLength(bt.shares[j][1]);
        this.rowsTmp.view(r0, r1, bt.shares[j][1]).set(this.lamvs[j].subarray(r0 * len, r1 * len));
        lamv = this.rowsTmp;
      }
      this.lanes[j].outerRows(lamv, r0, r1, this.opt, j, this.d.layout);
    }
  }

  evaluate(set: "test" | "val", start: number, end: number): WorkerReply {
    const nIn = this.d.nIn;
    const off = set === "val" ? this.d.valOffset : 0;
    const images = set === "val" ? this.trainImages : this.testImages;
    const labels = set === "val" ? this.trainLabels : this.testLabels;
    let loss = 0;
    let correct = 0;
    for (let s = start; s < end; s += this.d.evalBatch) {
      const k = Math.min(this.d.evalBatch, end - s);
      this.b.images().set(images.subarray((off + s) * nIn, (off + s + k) * nIn));
      this.b.labels().set(labels.subarray(off + s, off + s + k));
      const r = this.run(k, 0, 0);
      loss += r.loss;
      correct += r.correct;
    }
    return { loss, correct, count: end - start };
  }
}

/**
 * [lo, hi) of `count` rows in `parts` consecutive parts of about `sizes[k]`
 * rows each (nearly equal if `sizes` is empty), cut at multiples of 4 (whole
 * blocks of the products) within [0, count].
 */
function rowParts(sizes: number[], count: number, parts: number): [number, number][] {
  const size = (k: number): number => (sizes.length ? sizes[k] : count / parts);
  const cuts = [0];
  for (let k = 1; k < parts; k++) cuts.push(Math.min(count, Math.max(cuts[k - 1], 4 * Math.round((cuts[k - 1] + size(k - 1)) / 4))));
  cuts.push(count);
  return Array.from({ length: parts }, (_, k) => [cuts[k], cuts[k + 1]]);
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
