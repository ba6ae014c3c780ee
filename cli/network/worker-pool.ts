/** A pool of training workers (node:worker_threads), one wasm instance each. */
import { Worker } from "node:worker_threads";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Interrupted, RuntimeFailure } from "../errors.js";
import { onStop, throwIfStopped } from "../signals.js";
import type { WorkerInit, WorkerReply, WorkerRequest } from "./worker.js";

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
  readonly grads: SharedArrayBuffer[];
  private unsubscribe: () => void = () => undefined;

  constructor(init: Omit<WorkerInit, "grad">, threads: number, gradBytes: number) {
    const script = workerScript();
    this.grads = [];
    for (let i = 0; i < threads; i++) {
      const grad = new SharedArrayBuffer(gradBytes);
      this.grads.push(grad);
      const w = new Worker(script, { workerData: { ...init, grad } satisfies WorkerInit });
      const queue: ((r: WorkerReply) => void)[] = [];
      w.on("message", (r: WorkerReply) => queue.shift()?.(r));
      w.on("error", (e) => {
        this.failed = e;
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
        else if (r.error) reject(new RuntimeFailure(r.error));
        else resolve(r);
      });
      this.workers[i].postMessage(req);
    });
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

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
