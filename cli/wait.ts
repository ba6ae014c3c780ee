/**
 * How a thread waits for another through shared memory (sysid's channel,
 * cli/fit/channel.ts; the training workers' barrier, cli/network/sync.ts).
 *
 * It spins first, re-reading the word, and sleeps in `Atomics.wait` only
 * after `spinMs`. Sleeping at once costs far more than the futex wake-up:
 * measured on this project's 2-vCPU machines, the guest scheduler often puts
 * the woken thread on the waker's vCPU, where it preempts the waker, so the
 * two shares of a split evaluation run one after the other (a sysid
 * mini-batch of 10 trials took 1.5-2 ms instead of 0.8 in about half of the
 * round trips, and the worker sometimes started 1-3 ms late). A thread that
 * is still spinning is never woken: it keeps its own core. The spin is
 * bounded, so a thread whose partner went elsewhere sleeps after `spinMs`,
 * and it is skipped (`spinFor`) when the threads waiting for each other are
 * more than the cores: a spinning thread would then hold the core its
 * partner needs.
 */
import { defaultThreads } from "./options/threads.js";

/** `ms` if `threads` threads that wait for each other fit on this machine's cores, else 0 (sleep at once). */
export function spinFor(threads: number, ms: number): number {
  return threads <= defaultThreads() ? ms : 0;
}

/** Wait while `a[i] === value`; returns the value that ended the wait. */
export function waitWhile(a: Int32Array, i: number, value: number, spinMs: number): number {
  let v = Atomics.load(a, i);
  if (v !== value) return v;
  const until = performance.now() + spinMs;
  // read the clock only every so often: a load is a few ns, the clock tens
  for (let n = 1; ; n++) {
    v = Atomics.load(a, i);
    if (v !== value) return v;
    if ((n & 63) === 0 && performance.now() > until) break;
  }
  while (v === value) {
    Atomics.wait(a, i, value);
    v = Atomics.load(a, i);
  }
  return v;
}
