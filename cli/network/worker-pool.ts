/** A pool of training workers (node:worker_threads), one wasm instance each. */
import { Worker } from "node:worker_threads";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Interrupted, RuntimeFailure } from "../errors.js";
import { onStop, throwIfStopped } from "../signals.js";
import type { WorkerInit, WorkerReply, WorkerRequest } from "./worker.js";
import { Barrier, BARRIER_BYTES } from "./sync.js";

/** The compiled worker script (dist/cli/network/worker.js), also when running from the TS sources. */
function workerScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, "worker.js"), path.resolve(here, "../../dist/cli/network/worker.js")];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new RuntimeFailure(`worker script not found (looked in ${candidates.join(", ")}); run 'npm run build'`);
  return found;
}

export class Pool {
  private readonly workers: Worker[] = [];
  private readonly waiting: ((r: WorkerReply) => void)[][] = [];
  private failed: Error | undefined;
  /** one gradient exchange area per worker (theta's layout) */
  readonly grads: SharedArrayBuffer[];
  /** the workers' barrier (see `Barrier`) */
  readonly ctl = new SharedArrayBuffer(BARRIER_BYTES);
  /** called with worker 0's progress messages (images done in the current epoch) */
  onProgress: (done: number) => void = () => undefined;
  private unsubscribe: () => void = () => undefined;

  constructor(init: Omit<WorkerInit, "index" | "threads" | "grads" | "ctl">, threads: number, gradBytes: number) {
    const script = workerScript();
    this.grads = Array.from({ length: threads }, () => new SharedArrayBuffer(gradBytes));
    for (let i = 0; i < threads; i++) {
      const w = new Worker(script, { workerData: { ...init, index: i, threads, grads: this.grads, ctl: this.ctl } satisfies WorkerInit });
      const queue: ((r: WorkerReply) => void)[] = [];
      w.on("message", (r: WorkerReply) => {
        if (r.progress !== undefined) this.onProgress(r.progress);
        else queue.shift()?.(r);
      });
      w.on("error", (e) => {
        this.failed = e;
        // the others may be waiting for this one at the barrier
        new Barrier(this.ctl, threads).abort();
        for (const q of queue.splice(0)) q({ loss: 0, correct: 0, count: 0, error: e.message });
      });
      this.workers.push(w);
      this.waiting.push(queue);
    }
    // a signal abandons the requests in flight (close terminates the workers)
    this.unsubscribe = onStop((sig) => {
      for (const q of this.waiting) for (const f of q.splice(0)) f({ loss: 0, correct: 0, count: 0, error: "interrupted", signal: sig } as WorkerReply);
    });
  }

  get size(): number {
    return this.workers.length;
  }

  request(i: number, req: WorkerRequest): Promise<WorkerReply> {
    if (this.failed) return Promise.reject(new RuntimeFailure(`worker failed: ${this.failed.message}`));
    throwIfStopped();
    return new Promise((resolve, reject) => {
      this.waiting[i].push((r) => {
        const sig = (r as { signal?: NodeJS.Signals }).signal;
        if (sig) reject(new Interrupted(sig));
        else if (r.error) reject(new WorkerError(r.error, r.aborted === true));
        else resolve(r);
      });
      this.workers[i].postMessage(req);
    });
  }

  /** The same request to every worker; the replies in worker order, or the first real failure (not a worker that stopped because another failed). */
  async all(req: (i: number) => WorkerRequest): Promise<WorkerReply[]> {
    new Barrier(this.ctl, this.size).reset();
    const rs = await Promise.allSettled(this.workers.map((_, i) => this.request(i, req(i))));
    const failures = rs.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (failures.length) throw failures.find((e) => !(e instanceof WorkerError && e.aborted)) ?? failures[0];
    return rs.map((r) => (r as PromiseFulfilledResult<WorkerReply>).value);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A worker's error reply; `aborted` when it only stopped because another worker failed. */
export class WorkerError extends RuntimeFailure {
  constructor(
    message: string,
    readonly aborted: boolean,
  ) {
    super(message);
  }
}
