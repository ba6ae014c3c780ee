/**
 * Files and streams: the one place every output goes through.
 *
 * Before any work, each output is checked by `checkOutput` (a file) or
 * `checkOutputDir` (a folder of files); the checks run again when the file
 * is written. What is at the path decides how it is written:
 *   - nothing, or a regular file: a temporary file in the same folder,
 *     fsync, rename (an interrupted run never leaves a truncated result);
 *   - a symlink: the same, at the file the link points to (the link stays);
 *   - a character device or a FIFO (/dev/null, /dev/stdout, a named pipe):
 *     written through, and a write error is reported (exit 1);
 *   - a folder where a file is expected, a file where a folder is expected,
 *     a missing folder, a socket or block device, or one of the command's
 *     inputs (same device and inode, whatever the path): refused, exit 2.
 * Inputs are declared with `declareInput`; the check is symmetric, so it
 * does not matter which of an input and an output is known first.
 * stdout carries data only.
 */
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { IoFailure, UsageError } from "../errors.js";

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
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

// ---- inputs and planned outputs

interface Identity {
  dev: number;
  ino: number;
}

const inputs: { file: string; what: string; id: Identity }[] = [];
const planned: { file: string; given: string; flag: string; id: Identity }[] = [];

function identityOf(file: string): Identity | undefined {
  try {
    const s = fs.statSync(file);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

const same = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

function sameAsInputError(flag: string, target: string, input: { file: string; what: string }): UsageError {
  const via = path.resolve(target) === path.resolve(input.file) ? "" : ` (the same file as '${input.file}')`;
  return new UsageError(`${flag}: '${target}' is the ${input.what} this command reads${via}; writing it would destroy the input: choose another output`);
}

/**
 * Record a file the command reads (teacher, checkpoint, data file, result);
 * an output that is the same file is refused (exit 2). `-` (stdin) and
 * files that cannot be stat'ed are ignored here: their readers report them.
 */
export function declareInput(file: string, what: string): void {
  if (file === "-") return;
  const id = identityOf(file);
  if (!id || !fs.statSync(file).isFile()) return;
  const clash = planned.find((o) => same(o.id, id));
  if (clash) throw sameAsInputError(clash.flag, clash.given, { file, what });
  inputs.push({ file, what, id });
}

/** How an output file is written. */
export interface OutputTarget {
  /** the path as the user gave it */
  given: string;
  /** where the bytes go: the symlink's target for a symlink */
  file: string;
  flag: string;
  mode: "atomic" | "through";
}

/** Follow a chain of symlinks, also to a target that does not exist yet. */
function followLinks(target: string, flag: string): string {
  let p = path.resolve(target);
  for (let hops = 0; hops < 40; hops++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return p;
    }
    if (!st.isSymbolicLink()) return p;
    p = path.resolve(path.dirname(p), fs.readlinkSync(p));
  }
  throw new UsageError(`${flag}: '${target}' is a loop of symbolic links`);
}

/** The folder must exist, be a folder and be writable. */
function checkParent(dir: string, flag: string, target: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError(`${flag}: folder '${dir}' does not exist (for '${target}')`);
  }
  if (!st.isDirectory()) throw new UsageError(`${flag}: '${dir}' is not a folder (for '${target}')`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`${flag}: folder '${dir}' is not writable (for '${target}')`);
  }
}

/**
 * Check an output file before the work starts (exit 2 with one line if it
 * cannot be written); returns how it will be written.
 */
export function checkOutput(target: string, flag: string): OutputTarget {
  if (target === "") throw new UsageError(`${flag}: empty file name`);
  // what the path finally names, as the kernel resolves it (also /dev/stdout -> /proc/self/fd/1 -> a pipe)
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") throw new UsageError(`${flag}: '${target}' is a loop of symbolic links`);
    st = undefined;
  }
  // the file to replace: a regular file's real path; a device or pipe is opened by the given path;
  // a path that does not exist yet (or a dangling link) is created where its links lead
  let file: string;
  if (st?.isFile()) file = fs.realpathSync(target);
  else if (st) file = path.resolve(target);
  else file = followLinks(target, flag);
  if (st?.isDirectory() || /[/\\]$/.test(target)) throw new UsageError(`${flag}: '${target}' is a folder; expected a file name`);
  let mode: OutputTarget["mode"] = "atomic";
  if (st) {
    const input = inputs.find((i) => i.id.dev === st!.dev && i.id.ino === st!.ino);
    if (input) throw sameAsInputError(flag, target, input);
    if (st.isCharacterDevice() || st.isFIFO()) mode = "through";
    else if (!st.isFile()) throw new UsageError(`${flag}: '${target}' is not a regular file, a character device or a pipe; refusing to replace it`);
  }
  if (mode === "atomic") checkParent(path.dirname(file), flag, target);
  else {
    try {
      fs.accessSync(file, fs.constants.W_OK);
    } catch {
      throw new UsageError(`${flag}: '${target}' is not writable`);
    }
  }
  if (st && !planned.some((p) => p.file === file)) planned.push({ file, given: target, flag, id: { dev: st.dev, ino: st.ino } });
  return { given: target, file, flag, mode };
}

/**
 * Check an output folder and the files the command will write into it.
 * A missing folder is fine if it can be created (its nearest existing
 * ancestor is a writable folder); it is created when the first file is written.
 */
export function checkOutputDir(dir: string, flag: string, files: string[] = []): void {
  if (dir === "") throw new UsageError(`${flag}: empty folder name`);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (st && !st.isDirectory()) throw new UsageError(`${flag}: '${dir}' is a file; expected a folder`);
  if (st) {
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw new UsageError(`${flag}: folder '${dir}' is not writable`);
    }
    for (const f of files) checkOutput(path.join(dir, f), flag);
    return;
  }
  let up = path.dirname(path.resolve(dir));
  for (;;) {
    let s: fs.Stats | undefined;
    try {
      s = fs.statSync(up);
    } catch {
      s = undefined;
    }
    if (s) {
      if (!s.isDirectory()) throw new UsageError(`${flag}: cannot create folder '${dir}': '${up}' is a file`);
      try {
        fs.accessSync(up, fs.constants.W_OK);
      } catch {
        throw new UsageError(`${flag}: cannot create folder '${dir}': '${up}' is not writable`);
      }
      return;
    }
    const next = path.dirname(up);
    if (next === up) return;
    up = next;
  }
}

/**
 * `--out DIR` over a folder that holds a run (any of `files`): refused with
 * exit 2, naming what it holds and pointing to `--resume DIR` and `--force`
 * (a run is never started afresh over another silently). `describe` may name
 * the run from the folder (e.g. "a run at epoch 2 of 5"); undefined: the files.
 */
export function refuseExistingRun(dir: string, flag: string, files: string[], describe: (dir: string) => string | undefined = () => undefined): void {
  const held = files.filter((f) => fs.existsSync(path.join(dir, f)));
  if (held.length === 0) return;
  let what = held.join(", ");
  try {
    what = describe(dir) ?? what;
  } catch {
    /* the file list says enough */
  }
  throw new UsageError(`${flag} ${dir}: the folder holds ${what}; continue it with --resume ${dir}, or start afresh over it with --force`);
}

/** Create an output folder (checked before by `checkOutputDir`). */
export function ensureDir(dir: string, flag: string): void {
  checkOutputDir(dir, flag);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioFailure(flag, dir, e);
  }
}

export function ioFailure(flag: string, file: string, e: unknown): IoFailure {
  return new IoFailure(`${flag}: cannot write '${file}': ${errnoText(e)}`);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EPIPE: "broken pipe (the reader has gone)",
  EFBIG: "file too large",
  ENOENT: "no such file or folder",
  EISDIR: "is a folder",
  ENOTDIR: "a part of the path is not a folder",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
};

/** "no space left on device (ENOSPC)" for an errno error, else its message. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && ERRNO_TEXT[code]) return `${ERRNO_TEXT[code]} (${code})`;
  if (code) return code;
  return e instanceof Error ? e.message : String(e);
}

// ---- writing

/**
 * Write a whole file: atomically (temp file, fsync, rename) for a regular
 * file or a new one, through for a device or pipe. Checked as `checkOutput`.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, flag = "output"): void {
  const t = checkOutput(target, flag);
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  if (t.mode === "through") {
    try {
      fs.writeFileSync(t.file, bytes);
    } catch (e) {
      throw ioFailure(flag, target, e);
    }
    return;
  }
  installCleanup();
  const tmp = tempNameFor(t.file);
  pending.add(tmp);
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, t.file);
    pending.delete(tmp);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created */
    }
    pending.delete(tmp);
    throw ioFailure(flag, target, e);
  }
}

/** A text sink: stdout, or a file that appears only when `commit()` is called. */
export interface Sink {
  write(chunk: string): Promise<void>;
  commit(): Promise<void>;
  /** drop what was written (a file sink leaves the target as it was) */
  abort(): void;
  /** where the data goes, for messages */
  readonly name: string;
}

function writeTo(stream: Writable, chunk: string, fail: (e: unknown) => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const onError = (e: unknown) => {
      if (settled) return;
      settled = true;
      reject(fail(e));
    };
    stream.once("error", onError);
    const ok = stream.write(chunk, (err) => {
      if (err) onError(err);
    });
    const done = () => {
      if (settled) return;
      settled = true;
      stream.off("error", onError);
      resolve();
    };
    if (ok) done();
    else stream.once("drain", done);
  });
}

export function stdoutSink(): Sink {
  return {
    name: "stdout",
    write: (c) => writeTo(process.stdout, c, (e) => new IoFailure(`cannot write to stdout: ${errnoText(e)}`)),
    commit: async () => undefined,
    abort: () => undefined,
  };
}

export function fileSink(target: string, flag: string): Sink {
  const t = checkOutput(target, flag);
  const fail = (e: unknown) => ioFailure(flag, target, e);
  if (t.mode === "through") {
    const stream = fs.createWriteStream(t.file);
    stream.on("error", () => undefined); // reported through the write that failed
    return {
      name: target,
      write: (c) => writeTo(stream, c, fail),
      commit: () => new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(fail(e)) : resolve()))),
      abort: () => stream.destroy(),
    };
  }
  installCleanup();
  const tmp = tempNameFor(t.file);
  pending.add(tmp);
  const stream = fs.createWriteStream(tmp);
  stream.on("error", () => undefined);
  const drop = () => {
    stream.destroy();
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created */
    }
    pending.delete(tmp);
  };
  return {
    name: target,
    write: (c) => writeTo(stream, c, fail),
    commit: () =>
      new Promise<void>((resolve, reject) => {
        stream.end(() => {
          try {
            checkOutput(target, flag);
            const fd = fs.openSync(tmp, "r");
            fs.fsyncSync(fd);
            fs.closeSync(fd);
            fs.renameSync(tmp, t.file);
            pending.delete(tmp);
            resolve();
          } catch (e) {
            drop();
            reject(e instanceof UsageError ? e : fail(e));
          }
        });
      }),
    abort: drop,
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

/**
 * stdout and stderr: a write error (ENOSPC, EIO, ...) ends the run with exit 1
 * and one line naming the stream; EPIPE on stdout (the reader has gone, as
 * with `| head`) ends it quietly with exit 0.
 */
export function guardStdStreams(): void {
  const fatal = (stream: "stdout" | "stderr") => (e: NodeJS.ErrnoException) => {
    if (stream === "stdout" && e.code === "EPIPE") process.exit(0);
    if (stream === "stdout") {
      try {
        fs.writeSync(2, `stoopt: error: cannot write to stdout: ${errnoText(e)}; the output is incomplete\n`);
      } catch {
        /* stderr is gone too */
      }
    }
    process.exit(1);
  };
  process.stdout.on("error", fatal("stdout"));
  process.stderr.on("error", fatal("stderr"));
}
