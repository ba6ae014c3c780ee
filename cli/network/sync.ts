/**
 * What the training workers share besides data: the split of a batch into
 * shares of images, the split of the trainable parameters into parts (one
 * per worker, each updated by its worker), and the barrier they meet at.
 */
import { spinFor, waitWhile } from "../wait.js";

/** Split `count` items into `parts` contiguous shares as even as possible. */
export function shares(count: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let s = 0;
  for (let i = 0; i < parts; i++) {
    const k = Math.floor(count / parts) + (i < count % parts ? 1 : 0);
    out.push([s, k]);
    s += k;
  }
  return out;
}

/**
 * Split `count` items into `parts` contiguous shares of whole lane groups
 * of `lanes` items (the last share with items takes the remainder), as even
 * as possible in groups: no share but the last pads its last group.
 */
export function laneShares(count: number, parts: number, lanes: number): [number, number][] {
  return shares(Math.ceil(count / lanes), parts).map(([s, k]) => {
    const a = Math.min(count, s * lanes);
    return [a, Math.min(count, (s + k) * lanes) - a];
  });
}

/**
 * Split the parameters in `ranges` (ordered, disjoint [lo, hi)) into `parts`
 * consecutive pieces of nearly equal size (cut at multiples of 16 from the
 * first parameter, for whole SIMD vectors), each a list of ranges.
 */
export function partition(ranges: [number, number][], parts: number): [number, number][][] {
  const total = ranges.reduce((n, [lo, hi]) => n + Math.max(0, hi - lo), 0);
  const cut = (i: number): number => (i === 0 ? 0 : i === parts ? total : Math.min(total, 16 * Math.round((i * total) / parts / 16)));
  const out: [number, number][][] = [];
  for (let p = 0; p < parts; p++) {
    const [a, b] = [cut(p), cut(p + 1)];
    const piece: [number, number][] = [];
    let before = 0;
    for (const [lo, hi] of ranges) {
      const n = Math.max(0, hi - lo);
      const s = Math.max(a, before);
      const e = Math.min(b, before + n);
      if (e > s) piece.push([lo + s - before, lo + e - before]);
      before += n;
    }
    out.push(piece);
  }
  return out;
}

const BARRIER_WORDS = 3;
/** Size of the SharedArrayBuffer a `Barrier` lives in. */
export const BARRIER_BYTES = 4 * BARRIER_WORDS;
const GEN = 0;
const ARRIVED = 1;
const ABORT = 2;

/** Thrown by `Barrier.wait` in the workers that did not fail when one did. */
export class BarrierAborted extends Error {
  constructor() {
    super("stopped: another worker failed");
  }
}

/**
 * A reusable barrier of `parties` threads on three Int32 words (generation,
 * arrivals, abort flag). The last to arrive opens it; the others spin a
 * while (cli/wait.ts: a woken thread may be put on the waker's core), then
 * sleep in Atomics.wait. `abort` opens it for
 * good: every waiter, now and later, throws `BarrierAborted`.
 */
export class Barrier {
  private readonly w: Int32Array;
  private readonly spinMs: number;
  constructor(
    ctl: SharedArrayBuffer,
    private readonly parties: number,
  ) {
    this.w = new Int32Array(ctl);
    this.spinMs = spinFor(parties, SPIN_MS);
  }

  wait(): void {
    const w = this.w;
    const gen = Atomics.load(w, GEN);
    if (Atomics.load(w, ABORT)) throw new BarrierAborted();
    if (Atomics.add(w, ARRIVED, 1) === this.parties - 1) {
      Atomics.store(w, ARRIVED, 0);
      Atomics.add(w, GEN, 1);
      Atomics.notify(w, GEN);
      return;
    }
    waitWhile(w, GEN, gen, this.spinMs);
    if (Atomics.load(w, ABORT)) throw new BarrierAborted();
  }

  abort(): void {
    Atomics.store(this.w, ABORT, 1);
    Atomics.add(this.w, GEN, 1);
    Atomics.notify(this.w, GEN);
  }

  /** Before a new round of requests (no thread is waiting). */
  reset(): void {
    Atomics.store(this.w, ARRIVED, 0);
    Atomics.store(this.w, ABORT, 0);
  }
}

/**
 * How long a thread spins at the barrier before it sleeps [ms] (cli/wait.ts):
 * longer than the usual gap between the workers' arrivals (a few ms), so that
 * in an epoch no worker is ever woken onto its partner's core.
 */
const SPIN_MS = 10;
