/**
 * Files and streams. Every output file is written to a temporary file in the
 * same folder and renamed into place, so an interrupted run never leaves a
 * truncated result. stdout carries data only.
 */
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { UsageError } from "./errors.js";

const pending = new Set<string>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", () => {
    for (const t of pending) {
      try {
        fs.unlinkSync(t);
      } catch {
        /* already gone */
      }
    }
  });
}

function tempNameFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

function checkDir(target: string, flag: string): void {
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw new UsageError(`${flag}: folder '${dir}' does not exist`);
}

/** Write a whole file atomically (temp file, fsync, rename). */
export function writeFileAtomic(target: string, data: string | Uint8Array, flag = "output"): void {
  checkDir(target, flag);
  installCleanup();
  const tmp = tempNameFor(target);
  pending.add(tmp);
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
  pending.delete(tmp);
}

/** A text sink: stdout, or a file that appears only when `commit()` is called. */
export interface Sink {
  write(chunk: string): Promise<void>;
  commit(): Promise<void>;
}

function writeTo(stream: Writable, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(chunk, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else stream.once("drain", resolve);
  });
}

export function stdoutSink(): Sink {
  return {
    write: (c) => writeTo(process.stdout, c),
    commit: async () => undefined,
  };
}

export function fileSink(target: string, flag: string): Sink {
  checkDir(target, flag);
  installCleanup();
  const tmp = tempNameFor(target);
  pending.add(tmp);
  const stream = fs.createWriteStream(tmp);
  return {
    write: (c) => writeTo(stream, c),
    commit: () =>
      new Promise<void>((resolve, reject) => {
        stream.end(() => {
          try {
            const fd = fs.openSync(tmp, "r");
            fs.fsyncSync(fd);
            fs.closeSync(fd);
            fs.renameSync(tmp, target);
            pending.delete(tmp);
            resolve();
          } catch (e) {
            reject(e);
          }
        });
      }),
  };
}

/** `-` or absent means stdout. */
export function sinkFor(target: string | undefined, flag: string): Sink {
  return target === undefined || target === "-" ? stdoutSink() : fileSink(target, flag);
}

/**
 * Remove the temporary files a killed run left in `dir` (`.NAME.PID.RAND.tmp`,
 * written by this module); the files they were going to replace are intact.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = /^\..+\.(\d+)\.[a-z0-9]+\.tmp$/.exec(f);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // that process is still alive: not stale
    } catch {
      /* no such process */
    }
    fs.unlinkSync(path.join(dir, f));
    removed.push(f);
  }
  return removed;
}
