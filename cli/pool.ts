/**
 * Worker threads for sysid: each worker holds its own wasm instance with the
 * teacher resident in it, and every evaluation is split across them by trials.
 * Loss parts are sums, so the parts simply add up.
 */
import { Worker } from "node:worker_threads";
import { wasmModule } from "./core.js";
import { addParts, Evaluator, Parts, TeacherArrays } from "./sysid.js";
import { Interrupted } from "./errors.js";
import { onStop, throwIfStopped } from "./signals.js";

interface Pending {
  resolve: (p: Parts) => void;
  reject: (e: Error) => void;
}

export class PoolEvaluator implements Evaluator {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** a signal abandons the evaluations in flight (the workers are terminated by close) */
  private readonly unsubscribe = onStop((sig) => {
    for (const p of this.pending.values()) p.reject(new Interrupted(sig));
    this.pending.clear();
  });

  constructor(teacher: TeacherArrays, dtS: number, washoutS: number, threads: number) {
    const module = wasmModule();
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(new URL("./pool-worker.js", import.meta.url), { workerData: { module, teacher, dtS, washoutS } });
      w.on("message", (msg: { id: number; parts?: Parts; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error !== undefined) p.reject(new Error(msg.error));
        else p.resolve(msg.parts!);
      });
      w.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      return w;
    });
  }

  private call(w: Worker, req: object): Promise<Parts> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, ...req });
    });
  }

  async evaluate(values: Float64Array, fit: number[], mode: "loss" | "dual" | "adjoint", sel: number[]): Promise<Parts> {
    throwIfStopped();
    const n = this.workers.length;
    const chunk = Math.ceil(sel.length / n);
    const jobs: Promise<Parts>[] = [];
    for (let i = 0; i < n; i++) {
      const part = sel.slice(i * chunk, (i + 1) * chunk);
      if (part.length) jobs.push(this.call(this.workers[i], { values: Array.from(values), fit, mode, sel: part }));
    }
    const parts = await Promise.all(jobs);
    return parts.reduce(addParts);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
