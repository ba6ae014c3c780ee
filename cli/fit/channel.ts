/**
 * A request/reply channel in shared memory between the main thread and one
 * sysid worker, for evaluations split across threads mini-batch by
 * mini-batch: the main thread writes a request and wakes the worker with
 * `Atomics.notify`, computes its own share, then waits for the worker's sums
 * (each side spins a while before it sleeps in `Atomics.wait`, cli/wait.ts).
 * No message passes through either event loop, so a round trip costs
 * microseconds instead of the fraction of a millisecond a `postMessage` pair
 * costs; that is what lets two threads win on a batch of ten trials.
 *
 * A request may carry side work: loss-only trials at other values (the
 * previous epoch's point), done after the request's own share and summed
 * apart (`SideShare`), for a worker whose share is lighter than another's.
 *
 * While the worker serves the channel it blocks in `Atomics.wait` and reads no
 * messages: the main thread releases it (`release`) before it posts anything
 * else to that worker (a whole start, a new teacher, an evaluation by message).
 */
import type { SysidMode } from "../core/sysid.js";
import { SYSID_MODE } from "../core/codes.js";
import type { Parts } from "./sysid.js";
import { spinFor, waitWhile } from "../wait.js";

/** control words */
const STATE = 0;
const MODE = 1;
const N_FIT = 2;
const N_SEL = 3;
const N_VALUES = 4;
const ERR_LEN = 5;
const N_SIDE = 6;
const N_SIDE_VALUES = 7;
const CTRL_WORDS = 8;

/** states */
const IDLE = 0;
const REQUEST = 1;
const DONE = 2;
const FAILED = 3;
const RELEASE = 4;

const ERR_BYTES = 1024;
const MAX_VALUES = 64;
const MAX_FIT = 16;

const MODES = Object.keys(SYSID_MODE) as SysidMode[];

/**
 * How long each side spins before it sleeps (cli/wait.ts) [ms]. The worker
 * waits between requests: in a fit, the main thread's Adam step and the next
 * mini-batch's set-up (tenths of a millisecond), so it stays on its core for
 * a whole epoch and sleeps soon after the fit. The main thread waits for the
 * worker's share, which ends about when its own does.
 */
const REQUEST_SPIN_MS = 5;
const REPLY_SPIN_MS = 20;

/** The spins of one channel (0 where the threads are more than the cores). */
interface Spin {
  requestMs: number;
  replyMs: number;
}

/** Side work of one request: loss-only trials `sel` at `values` (cli/fit/pool.ts). */
export interface SideShare {
  values: ArrayLike<number>;
  sel: number[];
}

/** A channel as the worker receives it. */
export interface SharedChannel {
  sab: SharedArrayBuffer;
  maxSel: number;
  spin: Spin;
}

/** Byte offsets of the regions of a channel for `maxSel` trials per request. */
function layout(maxSel: number) {
  const values = CTRL_WORDS * 4;
  const result = values + 8 * MAX_VALUES;
  const resultLen = 3 + 2 * MAX_FIT + MAX_FIT * MAX_FIT;
  const fit = result + 8 * resultLen;
  const sel = fit + 4 * MAX_FIT;
  const sideValues = sel + 4 * maxSel;
  const sideResult = sideValues + 8 * MAX_VALUES;
  const sideSel = sideResult + 8 * 3;
  const err = sideSel + 4 * maxSel;
  return { values, result, resultLen, fit, sel, sideValues, sideResult, sideSel, err, bytes: err + ERR_BYTES };
}

/** Views of one channel's shared memory (the same on both sides). */
class Views {
  readonly ctrl: Int32Array;
  readonly values: Float64Array;
  readonly result: Float64Array;
  readonly fit: Int32Array;
  readonly sel: Int32Array;
  readonly sideValues: Float64Array;
  readonly sideResult: Float64Array;
  readonly sideSel: Int32Array;
  readonly err: Uint8Array;
  constructor(
    readonly sab: SharedArrayBuffer,
    readonly maxSel: number,
  ) {
    const l = layout(maxSel);
    this.ctrl = new Int32Array(sab, 0, CTRL_WORDS);
    this.values = new Float64Array(sab, l.values, MAX_VALUES);
    this.result = new Float64Array(sab, l.result, l.resultLen);
    this.fit = new Int32Array(sab, l.fit, MAX_FIT);
    this.sel = new Int32Array(sab, l.sel, maxSel);
    this.sideValues = new Float64Array(sab, l.sideValues, MAX_VALUES);
    this.sideResult = new Float64Array(sab, l.sideResult, 3);
    this.sideSel = new Int32Array(sab, l.sideSel, maxSel);
    this.err = new Uint8Array(sab, l.err, ERR_BYTES);
  }
}

/** Whether a request fits a channel (else it goes by message). */
export function fitsChannel(values: ArrayLike<number>, fit: number[]): boolean {
  return values.length <= MAX_VALUES && fit.length <= MAX_FIT;
}

/** The main thread's end of a channel. */
export class ChannelClient {
  private readonly v: Views;
  private busy = false;

  private readonly spin: Spin;

  /** `threads`: the threads that wait for each other through this and its sibling channels (main thread included). */
  constructor(maxSel: number, threads: number) {
    this.v = new Views(new SharedArrayBuffer(layout(maxSel).bytes), maxSel);
    this.spin = { requestMs: spinFor(threads, REQUEST_SPIN_MS), replyMs: spinFor(threads, REPLY_SPIN_MS) };
  }

  /** What the worker needs to serve this channel (posted to it once). */
  get shared(): SharedChannel {
    return { sab: this.v.sab, maxSel: this.v.maxSel, spin: this.spin };
  }

  /** Write a request (with its side work, if any) and wake the worker; `wait` collects the reply. */
  post(values: ArrayLike<number>, fit: number[], mode: SysidMode, sel: number[], side?: SideShare): void {
    if (this.busy) throw new Error("sysid channel: a request is already in flight");
    const { ctrl } = this.v;
    this.v.values.set(values);
    this.v.fit.set(fit);
    this.v.sel.set(sel);
    ctrl[MODE] = MODES.indexOf(mode);
    ctrl[N_FIT] = fit.length;
    ctrl[N_SEL] = sel.length;
    ctrl[N_VALUES] = values.length;
    ctrl[N_SIDE] = side ? side.sel.length : 0;
    if (side && side.sel.length) {
      this.v.sideValues.set(side.values);
      this.v.sideSel.set(side.sel);
      ctrl[N_SIDE_VALUES] = side.values.length;
    }
    this.busy = true;
    Atomics.store(ctrl, STATE, REQUEST);
    Atomics.notify(ctrl, STATE);
  }

  /** Block until the worker has answered the request in flight; its sums (and its side work's), or its error thrown. */
  wait(): Parts & { side?: Parts } {
    const { ctrl } = this.v;
    const state = waitWhile(ctrl, STATE, REQUEST, this.spin.replyMs);
    this.busy = false;
    Atomics.store(ctrl, STATE, IDLE);
    if (state === FAILED) throw new Error(new TextDecoder().decode(this.v.err.slice(0, ctrl[ERR_LEN])));
    const k = ctrl[N_FIT];
    const r = this.v.result;
    const s = this.v.sideResult;
    return {
      sumAbs: r[0],
      count: r[1],
      sumSq: r[2],
      grad: Array.from(r.subarray(3, 3 + k)),
      jtr: Array.from(r.subarray(3 + k, 3 + 2 * k)),
      jtj: Array.from({ length: k }, (_, a) => Array.from(r.subarray(3 + 2 * k + a * k, 3 + 2 * k + (a + 1) * k))),
      ...(ctrl[N_SIDE] > 0 ? { side: { sumAbs: s[0], count: s[1], sumSq: s[2], grad: [], jtr: [], jtj: [] } } : {}),
    };
  }

  /** Let the worker return to its messages (after any reply in flight has been collected). */
  release(): void {
    if (this.busy) this.wait();
    Atomics.store(this.v.ctrl, STATE, RELEASE);
    Atomics.notify(this.v.ctrl, STATE);
  }
}

/**
 * The worker's end: serve requests until released. `evaluate` is the
 * worker's evaluator (the request's share, then its side work in loss mode);
 * between requests the loop spins, then blocks in `Atomics.wait`.
 */
export function serveChannel(shared: SharedChannel, evaluate: (values: Float64Array, fit: number[], mode: SysidMode, sel: number[]) => Parts): void {
  const v = new Views(shared.sab, shared.maxSel);
  const { ctrl } = v;
  for (;;) {
    let state = Atomics.load(ctrl, STATE);
    while (state === IDLE || state === DONE || state === FAILED) state = waitWhile(ctrl, STATE, state, shared.spin.requestMs);
    if (state === RELEASE) {
      Atomics.store(ctrl, STATE, IDLE);
      return;
    }
    try {
      const k = ctrl[N_FIT];
      const parts = evaluate(
        Float64Array.from(v.values.subarray(0, ctrl[N_VALUES])),
        Array.from(v.fit.subarray(0, k)),
        MODES[ctrl[MODE]],
        Array.from(v.sel.subarray(0, ctrl[N_SEL])),
      );
      const r = v.result;
      r[0] = parts.sumAbs;
      r[1] = parts.count;
      r[2] = parts.sumSq;
      for (let a = 0; a < k; a++) {
        r[3 + a] = parts.grad[a];
        r[3 + k + a] = parts.jtr[a];
        for (let b = 0; b < k; b++) r[3 + 2 * k + a * k + b] = parts.jtj[a][b];
      }
      if (ctrl[N_SIDE] > 0) {
        const side = evaluate(Float64Array.from(v.sideValues.subarray(0, ctrl[N_SIDE_VALUES])), [], "loss", Array.from(v.sideSel.subarray(0, ctrl[N_SIDE])));
        v.sideResult[0] = side.sumAbs;
        v.sideResult[1] = side.count;
        v.sideResult[2] = side.sumSq;
      }
      Atomics.store(ctrl, STATE, DONE);
    } catch (e) {
      const bytes = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).slice(0, ERR_BYTES);
      v.err.set(bytes);
      ctrl[ERR_LEN] = bytes.length;
      Atomics.store(ctrl, STATE, FAILED);
    }
    Atomics.notify(ctrl, STATE);
  }
}
