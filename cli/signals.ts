/**
 * SIGINT and SIGTERM, one mechanism for every command.
 *
 * A command whose work can stop cleanly calls `stopsCleanly()` at the start
 * of its work; it then polls `pausePoint()` between chunks of work (which
 * also yields to the event loop, so a signal is seen even while the main
 * thread runs the core synchronously) and listens with `onStop` to abandon
 * work running in worker threads. At the first signal it stops, writes what
 * it has whole, and exits 130 (SIGINT) or 143 (SIGTERM). A command that has
 * not declared this (reading input, plotting, evaluating) exits at once with
 * that code; output files are atomic, so nothing is left half-written. A
 * second signal, or a clean stop that takes longer than `GRACE_MS`, exits at
 * once as well. A command with handlers of its own (`sweep`) declares that
 * with `handlesSignalsItself()`.
 */
import { EXIT_INTERRUPTED, EXIT_TERMINATED, Interrupted } from "./errors.js";

const GRACE_MS = 3000;
/** yield to the event loop at least this often [ms] */
const YIELD_MS = 40;

let received: NodeJS.Signals | undefined;
let clean = 0;
let own = 0;
const listeners = new Set<(s: NodeJS.Signals) => void>();
/** a monotonic clock [ms]: `performance.now()` would load perf_hooks at start-up (about 1 ms) for every command */
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
let lastYield = nowMs();

export const exitCodeFor = (s: NodeJS.Signals): number => (s === "SIGTERM" ? EXIT_TERMINATED : EXIT_INTERRUPTED);

function onSignal(s: NodeJS.Signals): void {
  if (own > 0) return; // the command's own handlers decide
  if (received !== undefined || clean === 0) process.exit(exitCodeFor(received ?? s));
  received = s;
  try {
    process.stderr.write(`stoopt: ${s}: stopping and writing what is finished (send it again to stop at once)\n`);
  } catch {
    /* stderr gone */
  }
  setTimeout(() => process.exit(exitCodeFor(s)), GRACE_MS).unref();
  for (const l of [...listeners]) l(s);
}

/** Install the handlers (once, from the entry file). */
export function installSignalHandlers(): void {
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
}

/** The command stops by itself on a signal (polls `pausePoint`); returns the undo. */
export function stopsCleanly(): () => void {
  clean += 1;
  let undone = false;
  return () => {
    if (!undone) clean -= 1;
    undone = true;
  };
}

/**
 * The command installs its own SIGINT/SIGTERM handlers (e.g. `sweep`, which
 * forwards them to its cells and may be signalled again by Slurm): this
 * module stays out of the way until the returned undo is called.
 */
export function handlesSignalsItself(): () => void {
  own += 1;
  let undone = false;
  return () => {
    if (!undone) own -= 1;
    undone = true;
  };
}

/** The signal received, if any. */
export function stopRequested(): NodeJS.Signals | undefined {
  return received;
}

/** Call `f` when a signal arrives (to abandon work in worker threads); returns the unsubscribe. */
export function onStop(f: (s: NodeJS.Signals) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function throwIfStopped(): void {
  if (received !== undefined) throw new Interrupted(received);
}

/**
 * Between chunks of work: yield to the event loop if the main thread has not
 * for a while (so signals are delivered), then throw `Interrupted` if one was.
 */
export async function pausePoint(): Promise<void> {
  if (nowMs() - lastYield > YIELD_MS) {
    await new Promise((r) => setImmediate(r));
    lastYield = nowMs();
  }
  throwIfStopped();
}

/** For tests: forget a received signal. */
export function resetSignalsForTest(): void {
  received = undefined;
}
