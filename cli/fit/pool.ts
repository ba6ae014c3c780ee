/**
 * Threads for sysid. Each evaluation is split across the threads by trials;
 * loss parts are sums, so the parts simply add up.
 *
 * - The main thread takes a share itself (unless told to only coordinate, as
 *   when several files are fitted side by side), so two threads need one
 *   worker, not two plus an idle main thread.
 * - The teacher is copied once into shared memory and handed to every worker
 *   without another copy; each worker keeps it resident in its wasm instance.
 * - Workers are kept for the whole process: across epochs, starts and files
 *   (a worker that served one file is given the next file's teacher).
 * - Shares are balanced by integration steps (washout + each trial's span),
 *   not by trial count, so both threads finish together.
 * - A selection too small to pay for a message round trip runs on the main
 *   thread alone.
 * - A mini-batch rarely splits evenly: trials share SIMD lanes in pairs, and
 *   a lone trial costs a pair, so of 10 trials (5 pairs) one thread has 3
 *   pairs and the other 2. The lighter share takes side work offered with
 *   the evaluation (`SideWork`: the previous epoch's loss on all the data,
 *   cli/fit/sysid.ts `fitOnce`) for about the time it would wait.
 */
import { Worker } from "node:worker_threads";
import { wasmModule } from "../core/wasm.js";
import { addParts, CoreEvaluator, EpochRecord, Evaluated, Evaluator, FitOptions, Parts, SideWork, StartRun, TeacherArrays } from "./sysid.js";
import { Interrupted } from "../errors.js";
import { onStop, pausePoint, stopRequested, throwIfStopped } from "../signals.js";
import { ChannelClient, fitsChannel, SideShare } from "./channel.js";

/** Below this many RK4 steps a share is not worth a round trip to a worker (about 0.1 ms of work at ~20 M steps/s). */
export const MIN_STEPS_PER_WORKER = 2_000;

/**
 * What a pair of trials costs in dual mode with `k` fitted parameters, in
 * loss-only trials of the same length (loss mode runs four lanes at once).
 * Measured on the wasm core: 6.0, 10.6 and 15.0 for k = 1, 2, 3.
 */
export const lossTrialsPerDualPair = (k: number): number => 1.5 + 4.5 * k;

/** Side work goes to a share in groups of this many trials (loss mode's four lanes). */
const SIDE_GROUP = 4;

interface Pending {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  resolve: (p: any) => void;
  reject: (e: Error) => void;
  /** a whole start run by the worker: its epochs as they end; a signal lets it finish its step rather than abandoning it */
  onEpoch?: (e: EpochRecord) => void;
}

/** A worker thread kept for the process; `teacher` names what is resident in it. */
interface PooledWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  teacher?: number;
  /** the worker's word that it serves the channel posted to it (or that it cannot: it failed) */
  served?: { resolve: () => void; reject: (e: Error) => void };
}

const idle: PooledWorker[] = [];
let nextId = 0;
let nextTeacher = 0;

function spawn(): PooledWorker {
  const worker = new Worker(new URL("./pool-worker.js", import.meta.url), { workerData: { module: wasmModule() } });
  const pw: PooledWorker = { worker, pending: new Map() };
  worker.on("message", (msg: { id: number; parts?: Parts; run?: StartRun; epoch?: EpochRecord; error?: string; serving?: boolean }) => {
    if (msg.serving) {
      pw.served?.resolve();
      pw.served = undefined;
      return;
    }
    const p = pw.pending.get(msg.id);
    if (!p) return;
    if (msg.epoch) {
      p.onEpoch?.(msg.epoch);
      return;
    }
    pw.pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.run ?? msg.parts!);
  });
  const gone = (e: Error) => {
    for (const p of pw.pending.values()) p.reject(e);
    pw.pending.clear();
    pw.served?.reject(e);
    pw.served = undefined;
  };
  worker.on("exit", (code) => gone(new Error(`sysid worker exited (code ${code})`)));
  worker.on("error", (e) => {
    gone(e);
    const i = idle.indexOf(pw);
    if (i >= 0) idle.splice(i, 1);
  });
  return pw;
}

/** A worker from the idle list or a new one; idle workers do not keep the process alive. */
function acquire(): PooledWorker {
  const pw = idle.pop() ?? spawn();
  pw.worker.ref();
  return pw;
}

function release(pw: PooledWorker): void {
  pw.worker.unref();
  idle.push(pw);
}

/**
 * Start `n` idle workers now, so that they boot (Node, modules, wasm
 * instance) on another core while the main thread reads the teacher.
 */
export function prewarmWorkers(n: number): void {
  while (idle.length < n) {
    const pw = spawn();
    pw.worker.unref();
    idle.push(pw);
  }
}

/** End every idle worker (tests and benches that want a clean exit at once). */
export async function closeIdleWorkers(): Promise<void> {
  await Promise.all(idle.splice(0).map((pw) => pw.worker.terminate()));
}

function call(pw: PooledWorker, req: object): Promise<Parts> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pw.pending.set(id, { resolve, reject });
    pw.worker.postMessage({ id, ...req });
  });
}

/** Signal codes in a stop flag shared with the workers (0: run on). */
export const STOP_SIGNALS = ["", "SIGINT", "SIGTERM"] as const;

/** Run one whole start in the worker (its own Adam, shuffling and evaluations); `stop` is the shared stop flag. */
function callFit(pw: PooledWorker, nTrials: number, opts: FitOptions, startIndex: number, startValues: number[], stop: Int32Array): Promise<StartRun> {
  const id = nextId++;
  // what crosses to the worker: the options without their callbacks
  const { shouldStop: _s, onEpoch, stopReason: _r, ...plain } = opts;
  void _s;
  void _r;
  return new Promise((resolve, reject) => {
    pw.pending.set(id, { resolve, reject, onEpoch });
    pw.worker.postMessage({ id, start: { nTrials, opts: plain, startIndex, startValues, stop: stop.buffer } });
  });
}

/** The teacher's arrays in shared memory (workers read it without a copy); arrays already there are kept. */
export function sharedTeacher(t: TeacherArrays): TeacherArrays {
  const share = <T extends Float64Array | Uint32Array>(a: T, make: (sab: SharedArrayBuffer, n: number) => T): T => {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const copy = make(new SharedArrayBuffer(a.byteLength), a.length);
    copy.set(a as ArrayLike<number>);
    return copy;
  };
  const f64 = (sab: SharedArrayBuffer, n: number) => new Float64Array(sab, 0, n);
  return {
    offsets: share(t.offsets, (sab, n) => new Uint32Array(sab, 0, n)),
    t_s: share(t.t_s, f64),
    mx: share(t.mx, f64),
    m0: share(t.m0, f64),
    labels: t.labels,
  };
}

export class PoolEvaluator implements Evaluator {
  private readonly workers: PooledWorker[];
  private readonly local?: CoreEvaluator;
  private readonly teacherKey = nextTeacher++;
  /** RK4 steps of each trial (washout included), for balancing */
  private readonly cost: Float64Array;
  private closed = false;
  /** shared-memory channels to the workers (main thread computing), and the workers serving theirs now */
  private readonly channels = new Map<PooledWorker, ChannelClient>();
  private readonly serving = new Set<PooledWorker>();
  /** read by the workers' whole starts after each step: the signal's code in STOP_SIGNALS */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  /**
   * A signal abandons the evaluations in flight (the workers are terminated
   * by close); a whole start running in a worker is told through the stop
   * flag and returns its point after the current step.
   */
  private readonly unsubscribe = onStop((sig) => {
    Atomics.store(this.stopFlag, 0, Math.max(1, STOP_SIGNALS.indexOf(sig as (typeof STOP_SIGNALS)[number])));
    for (const pw of this.workers) {
      for (const [id, p] of pw.pending) {
        if (p.onEpoch) continue;
        p.reject(new Interrupted(sig));
        pw.pending.delete(id);
      }
    }
  });

  /**
   * `threads` threads in all; with `mainComputes` (default) the main thread is
   * one of them, otherwise every share goes to a worker.
   */
  constructor(teacher: TeacherArrays, dtS: number, washoutS: number, threads: number, mainComputes = true) {
    const shared = sharedTeacher(teacher);
    const nWorkers = Math.max(mainComputes ? 0 : 1, threads - (mainComputes ? 1 : 0));
    if (mainComputes) this.local = new CoreEvaluator(shared, dtS, washoutS);
    this.workers = Array.from({ length: nWorkers }, acquire);
    for (const pw of this.workers) {
      pw.teacher = this.teacherKey;
      pw.worker.postMessage({ id: -1, teacher: shared, dtS, washoutS });
    }
    const n = shared.offsets.length - 1;
    this.cost = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const first = shared.offsets[i];
      const last = shared.offsets[i + 1] - 1;
      this.cost[i] = (washoutS + shared.t_s[last] - shared.t_s[first]) / dtS;
    }
  }

  /** The main thread and at least one worker share mini-batches through the channels: idle time to fill. */
  get takesSideWork(): boolean {
    return this.local !== undefined && this.workers.length > 0;
  }

  /** RK4 steps of trials that run side by side in SIMD lanes: the longest one's. */
  private unitCost(u: number[]): number {
    return Math.max(...u.map((i) => this.cost[i]));
  }

  /**
   * `sel` cut into `parts` contiguous pieces of about equal cost, in units of
   * `unit` neighbouring trials (2 where the core pairs trials in SIMD lanes at
   * the cost of the longer one: a lone trial costs a pair, so a piece never
   * ends in the middle of a pair).
   */
  private split(sel: number[], parts: number, unit = 1): number[][] {
    const units: number[][] = [];
    for (let j = 0; j < sel.length; j += unit) units.push(sel.slice(j, j + unit));
    let total = 0;
    for (const u of units) total += this.unitCost(u);
    const out: number[][] = [];
    let piece: number[] = [];
    let acc = 0;
    for (const u of units) {
      // close a piece when adding this unit would pass its target by more than leaving it out
      const target = (total * (out.length + 1)) / parts;
      const c = this.unitCost(u);
      if (piece.length && out.length < parts - 1 && acc + c - target > target - acc) {
        out.push(piece);
        piece = [];
      }
      piece.push(...u);
      acc += c;
    }
    out.push(piece);
    return out.filter((p) => p.length > 0);
  }

  /**
   * The side work each piece of a dual evaluation takes: consecutive groups of
   * `side` (in order, piece by piece) while the piece's dual pairs and its
   * side trials together cost no more than the costliest piece's pairs.
   * Costs in integration steps, a pair at `lossTrialsPerDualPair(k)` loss
   * trials. Depends only on the selection, so a fit is reproducible.
   */
  private sideShares(pieces: number[][], k: number, side: number[]): number[][] {
    const perPair = lossTrialsPerDualPair(k);
    const dual = pieces.map((p) => {
      let c = 0;
      for (let j = 0; j < p.length; j += 2) c += this.unitCost(p.slice(j, j + 2)) * perPair;
      return c;
    });
    const top = Math.max(...dual);
    const out: number[][] = [];
    let next = 0;
    pieces.forEach((_, k2) => {
      let room = top - dual[k2];
      const mine: number[] = [];
      while (next < side.length) {
        const group = side.slice(next, next + SIDE_GROUP);
        const c = group.reduce((a, i) => a + this.cost[i], 0);
        if (c > room) break;
        room -= c;
        mine.push(...group);
        next += group.length;
      }
      out.push(mine);
    });
    return out;
  }

  /**
   * The shared-memory channel to `pw`, the worker told to serve it. The main
   * thread blocks on a channel only once its worker has said it serves it
   * (`served`): a worker that failed to start is an error, never a hang.
   */
  private async channelFor(pw: PooledWorker): Promise<ChannelClient> {
    let ch = this.channels.get(pw);
    if (!ch) {
      ch = new ChannelClient(this.cost.length, this.workers.length + 1);
      this.channels.set(pw, ch);
    }
    if (!this.serving.has(pw)) {
      const served = new Promise<void>((resolve, reject) => (pw.served = { resolve, reject }));
      pw.worker.postMessage({ id: -2, channel: ch.shared });
      await served;
      this.serving.add(pw);
    }
    return ch;
  }

  /** Workers serving a channel return to their messages (before anything is posted to them). */
  private releaseChannels(): void {
    for (const pw of this.serving) this.channels.get(pw)!.release();
    this.serving.clear();
  }

  /**
   * Split across the main thread and the workers through the shared-memory
   * channels: requests written, the main thread's share computed, the
   * workers' sums collected. Synchronous: no event-loop turn per round trip.
   */
  private evaluateByChannel(
    channels: ChannelClient[],
    values: Float64Array,
    fit: number[],
    mode: "loss" | "dual" | "adjoint",
    pieces: number[][],
    side?: { values: Float64Array; pieces: number[][] },
  ): Evaluated {
    const sideOf = (k: number): SideShare | undefined => (side && side.pieces[k].length ? { values: side.values, sel: side.pieces[k] } : undefined);
    channels.forEach((ch, k) => ch.post(values, fit, mode, pieces[k + 1], sideOf(k + 1)));
    let mine: Parts | undefined;
    let mineSide: Parts | undefined;
    let localError: unknown;
    try {
      mine = this.local!.evaluateSync(values, fit, mode, pieces[0]);
      const s = sideOf(0);
      if (s) mineSide = this.local!.evaluateSync(side!.values, [], "loss", s.sel);
    } catch (e) {
      localError = e;
    }
    // every reply is collected, so that each channel is idle again whatever failed
    const theirs: (Parts & { side?: Parts })[] = [];
    let remoteError: unknown;
    for (const ch of channels) {
      try {
        theirs.push(ch.wait());
      } catch (e) {
        remoteError ??= e;
      }
    }
    if (localError !== undefined) throw localError;
    if (remoteError !== undefined) throw remoteError;
    // (two or more parts: the sum is a new object, without a worker's side field)
    const total: Evaluated = [mine!, ...theirs].reduce(addParts);
    if (side) {
      // summed in piece order: the same for the same selection
      const sides = [mineSide, ...theirs.map((t) => t.side)].filter((p): p is Parts => p !== undefined);
      const taken = side.pieces.reduce((a, p) => a + p.length, 0);
      if (taken > 0) total.side = { parts: sides.reduce(addParts), taken };
    }
    return total;
  }

  async evaluate(values: Float64Array, fit: number[], mode: "loss" | "dual" | "adjoint", sel: number[], side?: SideWork): Promise<Evaluated> {
    // the channel path never yields by itself: let signals in between evaluations
    await pausePoint();
    throwIfStopped();
    let steps = 0;
    for (const i of sel) steps += this.cost[i];
    const threads = this.workers.length + (this.local ? 1 : 0);
    // one thread where a second cannot win: too little work for a round trip
    const use = this.local ? Math.max(1, Math.min(threads, sel.length, Math.floor(steps / MIN_STEPS_PER_WORKER))) : Math.min(threads, sel.length);
    if (use <= 1 && this.local) return this.local.evaluateSync(values, fit, mode, sel);
    const pieces = this.split(sel, use, mode === "loss" ? 1 : 2);
    if (pieces.length <= 1 && this.local) return this.local.evaluateSync(values, fit, mode, sel);
    // the main thread computes a share: the workers' shares go through shared memory
    if (this.local && fitsChannel(values, fit)) {
      const channels = await Promise.all(pieces.slice(1).map((_, k) => this.channelFor(this.workers[k])));
      const shares = side && mode === "dual" && fitsChannel(side.values, []) ? this.sideShares(pieces, fit.length, side.sel) : undefined;
      return this.evaluateByChannel(channels, values, fit, mode, pieces, shares && { values: side!.values, pieces: shares });
    }
    this.releaseChannels();
    const v = Array.from(values);
    // workers first, then the main thread's own share while they run
    const remote = pieces.slice(this.local ? 1 : 0).map((part, k) => call(this.workers[k], { values: v, fit, mode, sel: part }));
    let mine: Parts | undefined;
    let localError: unknown;
    try {
      if (this.local) mine = this.local.evaluateSync(values, fit, mode, pieces[0]);
    } catch (e) {
      localError = e;
    }
    // never leave a worker's reply unawaited (its rejection would go unhandled)
    const parts = await Promise.allSettled(remote);
    if (localError !== undefined) throw localError;
    const failed = parts.find((p) => p.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    const all = (parts as PromiseFulfilledResult<Parts>[]).map((p) => p.value);
    if (mine) all.unshift(mine);
    return all.reduce(addParts);
  }

  /**
   * One evaluator per thread, each evaluating whole selections on its own
   * thread: independent fits (sysid's starts) run side by side with no
   * synchronisation per mini-batch. A worker's lane runs a whole start in
   * the worker (`fitStart`: its Adam, shuffling and evaluations there), so it
   * never waits for the main thread; the main thread's lane runs its start
   * here and yields to the event loop after each evaluation so that the
   * workers' epochs and results are taken in.
   */
  lanes(): Evaluator[] {
    // the workers take messages again (whole starts)
    this.releaseChannels();
    const none = async (): Promise<void> => undefined;
    const out: Evaluator[] = [];
    const local = this.local;
    if (local) {
      out.push({
        evaluate: async (values, fit, mode, sel) => {
          const parts = await local.evaluate(values, fit, mode, sel);
          await new Promise((r) => setImmediate(r));
          return parts;
        },
        close: none,
      });
    }
    for (const pw of this.workers) {
      out.push({
        evaluate: async (values, fit, mode, sel) => {
          throwIfStopped();
          return call(pw, { values: Array.from(values), fit, mode, sel });
        },
        fitStart: (nTrials, opts, startIndex, startValues) => callFit(pw, nTrials, opts, startIndex, startValues, this.stopFlag),
        close: none,
      });
    }
    return out;
  }

  /** Free the main thread's buffers and hand the workers back for the next file (or end them after a signal). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.releaseChannels();
    await this.local?.close();
    // after a signal the workers end with the evaluator; otherwise they wait for the next file
    if (stopRequested() !== undefined) await Promise.all(this.workers.map((pw) => pw.worker.terminate()));
    else for (const pw of this.workers) release(pw);
  }
}
