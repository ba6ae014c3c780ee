/**
 * cli/wait.ts: a thread waiting on a shared word spins, then sleeps; either
 * way it returns the value another thread stored, and never before.
 */
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { spinFor, waitWhile } from "../cli/wait.js";
import { defaultThreads } from "../cli/options/threads.js";

/** A thread that stores `value` into word 0 after `delayMs` (busy, so the timing does not depend on its event loop). */
function storeLater(sab: SharedArrayBuffer, value: number, delayMs: number): Worker {
  const code = `
    const { workerData } = require("node:worker_threads");
    const w = new Int32Array(workerData.sab);
    const t = performance.now();
    while (performance.now() - t < workerData.delayMs);
    Atomics.store(w, 0, workerData.value);
    Atomics.notify(w, 0);
  `;
  return new Worker(code, { eval: true, workerData: { sab, value, delayMs } });
}

describe("spinFor", () => {
  it("spins only while the threads waiting for each other fit on the cores", () => {
    expect(spinFor(1, 5)).toBe(5);
    expect(spinFor(defaultThreads(), 5)).toBe(5);
    expect(spinFor(defaultThreads() + 1, 5)).toBe(0);
  });
});

describe("waitWhile", () => {
  it("returns at once when the word already differs", () => {
    const w = new Int32Array(new SharedArrayBuffer(8));
    w[0] = 3;
    expect(waitWhile(w, 0, 1, 1000)).toBe(3);
  });

  for (const [what, spinMs, delayMs] of [
    ["within the spin", 2000, 30],
    ["after the spin, asleep in Atomics.wait", 1, 60],
  ] as const) {
    it(`sees another thread's store ${what}`, async () => {
      const sab = new SharedArrayBuffer(8);
      const w = new Int32Array(sab);
      const worker = storeLater(sab, 7, delayMs);
      // the store comes at least delayMs after this (the worker starts its clock later): no early return
      const t0 = performance.now();
      expect(waitWhile(w, 0, 0, spinMs)).toBe(7);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(delayMs);
      await worker.terminate();
    });
  }
});
