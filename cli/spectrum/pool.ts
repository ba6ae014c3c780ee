/**
 * Runs the jobs of `stoopt spectrum --sweep` and `stoopt sysid --spectrum`
 * (sweep points, growth rates, steady states) on worker threads, each with
 * its own wasm instance, handing each idle worker the next job; with one
 * thread they run in this thread. A signal (cli/signals.ts) rejects every
 * job not finished with `Interrupted` at once; `close` ends the workers.
 */
import { Worker } from "node:worker_threads";
import { Core, core, wasmModule } from "../core/wasm.js";
import { Interrupted, RuntimeFailure, StooptError } from "../errors.js";
import { onStop, stopRequested } from "../signals.js";
import { growthRate, PointResult, PointSettings, runPoint } from "./sweep.js";
import { SteadySettings, SteadyState, steadyState } from "../oscillator.js";

export type SpectrumJob =
  | { kind: "point"; params: number[]; settings: PointSettings; index: number; values: Record<string, number> }
  | { kind: "growth"; params: number[]; dtS: number; durationS: number }
  | { kind: "steady"; params: number[]; fit: number[]; m0: [number, number, number]; settings: SteadySettings };

export type JobResult<J extends SpectrumJob> = J extends { kind: "point" } ? PointResult : J extends { kind: "growth" } ? number : SteadyState;

export function runJob(c: Core, job: SpectrumJob): PointResult | number | SteadyState {
  const p = Float64Array.from(job.params);
  switch (job.kind) {
    case "point":
      return runPoint(c, p, job.settings, job.index, job.values);
    case "growth":
      return growthRate(c, p, job.dtS, job.durationS);
    case "steady":
      return steadyState(p, job.fit, job.m0, job.settings, c);
  }
}

interface Waiting {
  job: SpectrumJob;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

export class SpectrumPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Waiting[] = [];
  private readonly busy = new Map<Worker, Waiting>();
  private serial: Promise<void> = Promise.resolve();
  private readonly unsubscribe = onStop((sig) => {
    for (const w of [...this.queue, ...this.busy.values()]) w.reject(new Interrupted(sig));
    this.queue.length = 0;
    this.busy.clear();
  });

  constructor(readonly threads: number) {
    if (threads <= 1) return;
    const module = wasmModule();
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL("./worker.js", import.meta.url), { workerData: { module } });
      w.on("message", (msg: { result?: unknown; error?: string; exitCode?: number }) => {
        const job = this.busy.get(w);
        this.busy.delete(w);
        this.idle.push(w);
        if (job) {
          if (msg.error !== undefined) job.reject(msg.exitCode !== undefined ? new StooptError(msg.error, msg.exitCode) : new RuntimeFailure(msg.error));
          else job.resolve(msg.result);
        }
        this.pump();
      });
      w.on("error", (e) => {
        const job = this.busy.get(w);
        this.busy.delete(w);
        job?.reject(e);
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.shift()!;
      const job = this.queue.shift()!;
      this.busy.set(w, job);
      w.postMessage({ id: 0, job: job.job });
    }
  }

  run<J extends SpectrumJob>(job: J): Promise<JobResult<J>> {
    if (this.threads <= 1) {
      // one job per turn of the event loop, in order, so that progress is drawn and a signal is seen between jobs
      const next = this.serial
        .then(() => new Promise<void>((r) => setImmediate(r)))
        .then(() => {
          const sig = stopRequested();
          if (sig !== undefined) throw new Interrupted(sig);
          return runJob(core(), job) as JobResult<J>;
        });
      this.serial = next.then(
        () => undefined,
        () => undefined,
      );
      return next;
    }
    const sig = stopRequested();
    if (sig !== undefined) return Promise.reject(new Interrupted(sig));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve: resolve as (r: unknown) => void, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
