/**
 * Training and evaluation of the coupled-STO network (mirrors
 * core-rs/src/network.rs): each epoch runs in the worker pool (every batch
 * split over the workers, the gradients summed and applied with Adam by the
 * workers, each on its part of the parameters; worker.ts), physical
 * parameters kept in their ranges, one checkpoint + metrics.csv +
 * result.json per epoch from the state the workers leave in shared memory.
 */
import path from "node:path";
import { ensureDir, writeFileAtomic } from "../io/output.js";
import { Dataset } from "../io/idx.js";
import { Group, Vec } from "../core/optimizer.js";
import { core } from "../core/wasm.js";
import { CHECKPOINT_FILE, Checkpoint, EpochRow, saveCheckpoint } from "./checkpoint.js";
import { layout, Layout, NetConfig, RANGES, wantBits } from "./config.js";
import { epochOrder } from "./init.js";
import { Pool } from "./worker-pool.js";
import { laneShares, shares } from "./sync.js";
import { UsageError } from "../errors.js";
import type { EpochTimes, WorkerReply } from "./worker.js";

export interface RunState {
  cfg: NetConfig;
  theta: Vec;
  adamM: Vec;
  adamV: Vec;
  wcp: Float64Array;
  adamStep: number;
  epochsDone: number;
  history: EpochRow[];
}

/** The state a checkpoint holds (its configuration as `cfg`): what a resumed run or an evaluation starts from. */
export function runStateOf(ck: Checkpoint): RunState {
  return {
    cfg: ck.header.config,
    theta: ck.theta,
    adamM: ck.adamM,
    adamV: ck.adamV,
    wcp: ck.wcp,
    adamStep: ck.header.adam_step,
    epochsDone: ck.header.epochs_done,
    history: ck.header.history,
  };
}

/** A SharedArrayBuffer-backed copy of `src` of the run's precision. */
function shared(src: ArrayLike<number>, f32: boolean): Vec {
  const n = src.length;
  const a = f32 ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float64Array(new SharedArrayBuffer(8 * n));
  a.set(src);
  return a;
}

/** One SharedArrayBuffer holding `parts` one after the other. */
function sharedBytes(...parts: Uint8Array[]): SharedArrayBuffer {
  const s = new SharedArrayBuffer(
    Math.max(
      parts.reduce((n, p) => n + p.length, 0),
      1,
    ),
  );
  const v = new Uint8Array(s);
  let off = 0;
  for (const p of parts) {
    v.set(p, off);
    off += p.length;
  }
  return s;
}

export class Session {
  readonly L: Layout;
  readonly pool: Pool;
  /** theta and Adam's moments as the workers left them after the last epoch (shared memory) */
  readonly theta: Vec;
  private readonly adamM: Vec;
  private readonly adamV: Vec;
  private readonly order: Int32Array;
  /** where the workers' time went in the last epoch [ms], per worker */
  lastTimes: EpochTimes[] = [];
  /** wall time of each batch of the last epoch [ms] (worker 0's clock) */
  lastStepMs: Float64Array = new Float64Array(0);
  readonly trainCount: number;
  readonly testCount: number;
  /** held-out validation images (the last cfg.val of the training file) */
  readonly valCount: number;

  constructor(
    readonly state: RunState,
    readonly data: Dataset,
    threads: number,
  ) {
    const cfg = state.cfg;
    this.L = layout(cfg.n, cfg.nIn, cfg.nOut);
    const f32 = cfg.precision === "f32";
    this.theta = shared(state.theta, f32);
    this.adamM = shared(state.adamM, f32);
    this.adamV = shared(state.adamV, f32);
    this.valCount = cfg.val ?? 0;
    if (this.valCount >= data.train.count) throw new UsageError(`--val ${this.valCount}: ${data.dir} has only ${data.train.count} training images`);
    this.trainCount = Math.min(cfg.trainLimit, data.train.count - this.valCount);
    const valStart = data.train.count - this.valCount;
    this.testCount = Math.min(cfg.testLimit, data.test.count);
    const orderSab = new SharedArrayBuffer(4 * Math.max(this.trainCount, 1));
    this.order = new Int32Array(orderSab);
    const wcpSab = new SharedArrayBuffer(8 * state.wcp.length);
    new Float64Array(wcpSab).set(state.wcp);
    // a worker's share of a batch: even (evaluation, and training with W_in frozen) or in whole lane groups (worker.ts Plan)
    const lanes = f32 ? 4 : 2;
    const evalBatch = Math.max(1, Math.ceil(cfg.batch / threads));
    const maxBatch = Math.max(evalBatch, ...laneShares(cfg.batch, threads, lanes).map(([, k]) => k));
    // x(0) and dL/dx(0) of a worker's share: 3N rows of lane vectors
    const laneRow = Math.ceil(maxBatch / lanes) * lanes;
    const rowsBytes = threads > 1 ? 3 * cfg.n * laneRow * (f32 ? 4 : 8) : 0;
    const perWorker = (): SharedArrayBuffer[] => Array.from({ length: threads }, () => new SharedArrayBuffer(rowsBytes));
    this.pool = new Pool(
      {
        n: cfg.n,
        nIn: cfg.nIn,
        nOut: cfg.nOut,
        steps: cfg.steps,
        maxBatch,
        evalBatch,
        precision: cfg.precision,
        x0Norm: cfg.x0Norm ?? "unit",
        params: cfg.params,
        dtS: cfg.dtS,
        cmOe: cfg.cmOe,
        layout: this.L,
        // the training images in use, then the validation images
        trainImages: sharedBytes(data.train.images.subarray(0, this.trainCount * cfg.nIn), data.train.images.subarray(valStart * cfg.nIn)),
        trainLabels: sharedBytes(data.train.labels.subarray(0, this.trainCount), data.train.labels.subarray(valStart)),
        valOffset: this.trainCount,
        testImages: sharedBytes(data.test.images.subarray(0, this.testCount * cfg.nIn)),
        testLabels: sharedBytes(data.test.labels.subarray(0, this.testCount)),
        order: orderSab,
        theta: this.theta.buffer as SharedArrayBuffer,
        adamM: this.adamM.buffer as SharedArrayBuffer,
        adamV: this.adamV.buffer as SharedArrayBuffer,
        adamStep: state.adamStep,
        wcp: wcpSab,
        x0s: perWorker(),
        lamvs: perWorker(),
      },
      threads,
      this.L.total * (f32 ? 4 : 8),
    );
  }

  /** Loss and accuracy over the first `testCount` test images, or over the validation images. */
  async evaluate(set: "test" | "val" = "test"): Promise<{ loss: number; accuracy: number; correct: number; count: number }> {
    const count = set === "val" ? this.valCount : this.testCount;
    const parts = shares(count, this.pool.size);
    const none: WorkerReply = { loss: 0, correct: 0, count: 0 };
    const rs = await Promise.all(parts.map(([s, k], i) => (k > 0 ? this.pool.request(i, { kind: "eval", set, start: s, end: s + k }) : Promise.resolve(none))));
    const loss = rs.reduce((a, r) => a + r.loss, 0);
    const correct = rs.reduce((a, r) => a + r.correct, 0);
    return { loss: loss / count, accuracy: correct / count, correct, count };
  }

  /** One epoch of training; `onBatch(imagesDone)` after every batch. */
  async trainEpoch(epoch: number, onBatch: (done: number) => void): Promise<{ loss: number; accuracy: number; seconds: number }> {
    const st = this.state;
    const cfg = st.cfg;
    this.order.set(epochOrder(core(), cfg.seed, epoch, this.trainCount));
    const want = wantBits(cfg.groups);
    const scale = Math.pow(cfg.lr.decay, epoch);
    const L = this.L;
    const g = cfg.groups;
    const groups: Group[] = [];
    if (g.includes("win")) groups.push({ start: L.win[0], end: L.win[1], lr: cfg.lr.win * scale });
    if (g.includes("wout")) groups.push({ start: L.wout[0], end: L.wout[1], lr: cfg.lr.wout * scale });
    if (g.includes("phys")) {
      // physical parameters stay in their ranges
      groups.push({ start: L.happl[0], end: L.happl[1], lr: cfg.lr.happl * scale, lo: RANGES.happl[0], hi: RANGES.happl[1] });
      groups.push({ start: L.jdc, end: L.jdc + 1, lr: cfg.lr.jdc * scale, lo: RANGES.jdc[0], hi: RANGES.jdc[1] });
      groups.push({ start: L.alpha, end: L.alpha + 1, lr: cfg.lr.alpha * scale, lo: RANGES.alpha[0], hi: RANGES.alpha[1] });
    }
    const t0 = performance.now();
    this.pool.onProgress = onBatch;
    let rs: WorkerReply[];
    try {
      rs = await this.pool.all(() => ({ kind: "epoch", count: this.trainCount, batch: cfg.batch, want, groups }));
    } finally {
      this.pool.onProgress = () => undefined;
    }
    const seconds = (performance.now() - t0) / 1000;
    // batch by batch, worker by worker: the order the losses were always summed in
    const batches = Math.ceil(this.trainCount / cfg.batch);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) for (const r of rs) lossSum += r.losses![b];
    const correct = rs.reduce((a, r) => a + r.correct, 0);
    st.adamStep += batches;
    this.lastTimes = rs.map((r) => r.times!);
    this.lastStepMs = rs[0].stepMs!;
    return { loss: lossSum / this.trainCount, accuracy: correct / this.trainCount, seconds };
  }

  physicsSummary(): { mean: number; variance: number; jdc: number; alpha: number } {
    const [a, b] = this.L.happl;
    let s = 0;
    for (let i = a; i < b; i++) s += this.theta[i];
    const mean = s / (b - a);
    let v = 0;
    for (let i = a; i < b; i++) v += (this.theta[i] - mean) ** 2;
    return { mean, variance: v / (b - a), jdc: this.theta[this.L.jdc], alpha: this.theta[this.L.alpha] };
  }

  checkpoint(): Checkpoint {
    const st = this.state;
    const snap = { theta: this.theta.slice(), m: this.adamM.slice(), v: this.adamV.slice() };
    st.theta = snap.theta;
    st.adamM = snap.m;
    st.adamV = snap.v;
    return {
      header: {
        config: st.cfg,
        data: { dir: this.data.dir, fingerprint: this.data.fingerprint, train_images: this.trainCount, test_images: this.testCount, val_images: this.valCount },
        epochs_done: st.epochsDone,
        adam_step: st.adamStep,
        history: st.history,
      },
      theta: snap.theta,
      adamM: st.adamM,
      adamV: st.adamV,
      wcp: st.wcp,
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

export const METRICS_COLUMNS: (keyof EpochRow)[] = [
  "epoch",
  "train_loss",
  "train_accuracy",
  "test_loss",
  "test_accuracy",
  "val_loss",
  "val_accuracy",
  "h_appl_mean_oe",
  "h_appl_var_oe2",
  "j_dc_a",
  "alpha",
  "images_per_s",
  "train_s",
  "eval_s",
  "wall_s",
];

export function metricsCsv(rows: EpochRow[]): string {
  return (
    [METRICS_COLUMNS.join(","), ...rows.map((r) => METRICS_COLUMNS.map((k) => (r[k] === undefined || r[k] === null ? "" : String(r[k]))).join(","))].join(
      "\n",
    ) + "\n"
  );
}

export const METRICS_FILE = "metrics.csv";
export const RESULT_FILE = "result.json";

/** Write checkpoint, metrics.csv and result.json into `dir`, each atomically. */
export function writeOutputs(dir: string, s: Session, result: unknown): void {
  ensureDir(dir, "--out");
  saveCheckpoint(path.join(dir, CHECKPOINT_FILE), s.checkpoint());
  writeFileAtomic(path.join(dir, METRICS_FILE), metricsCsv(s.state.history), "--out");
  writeFileAtomic(path.join(dir, RESULT_FILE), JSON.stringify(result, null, 2) + "\n", "--out");
}
