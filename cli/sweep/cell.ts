/**
 * A cell folder and one run in it. The folder holds the command's own outputs and
 * three small files of the sweep, each written atomically:
 *   cell.json  what to run (command, argv, working folder, fingerprint); written once
 *   run.json   present while a process runs the cell (host, pid, Slurm job)
 *   exit.json  how the last attempt ended (exit code or signal)
 * plus log.txt (stderr of every attempt, appended) and stdout.txt. Status is read
 * from these and from the command's outputs only, so it is the same whether the
 * cell ran here or on a cluster node.
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../io/output.js";
import { adapterFor } from "./adapters.js";
import type { Cell, Value } from "./spec.js";

export const CELL_FILE = "cell.json";
export const RUN_FILE = "run.json";
export const EXIT_FILE = "exit.json";
export const LOG_FILE = "log.txt";
/** the Slurm array task a cell was last submitted as */
export const SUBMITTED_FILE = "slurm.json";

/** The entry file of this stoopt (dist/cli/main.js): cells run the same build. */
export const STOOPT_ENTRY = fileURLToPath(new URL("../main.js", import.meta.url));

export interface CellFile {
  format: "stoopt-sweep-cell";
  version: 1;
  command: string;
  argv: string[];
  values: Record<string, Value>;
  fingerprint: string;
  threads: number;
  /** commands run in this folder (the spec file's), so the spec's relative paths hold */
  cwd: string;
}

export interface RunFile {
  host: string;
  pid: number;
  /** the process that started the command (the sweep, or a Slurm task) */
  parent_pid: number;
  started: string;
  argv: string[];
  slurm_job?: string;
}

export interface ExitFile {
  host: string;
  code: number | null;
  signal: string | null;
  /** ended by SIGTERM/SIGINT (preemption, time limit, Ctrl-C): the run continues when started again */
  stopped: boolean;
  started: string;
  ended: string;
  slurm_job?: string;
  requeued?: boolean;
}

export function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

export function readCell(dir: string): CellFile {
  const c = readJsonFile<CellFile>(path.join(dir, CELL_FILE));
  if (!c || c.format !== "stoopt-sweep-cell") throw new UsageError(`${dir}: not a sweep cell (no valid ${CELL_FILE})`);
  return c;
}

/** Why `dir` cannot take `cell`, or undefined if it can (absent, empty, or the same run). */
export function conflict(dir: string, command: string, cell: Cell): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  if (!fs.statSync(dir).isDirectory()) return `${dir}: exists and is not a folder`;
  const existing = readJsonFile<CellFile>(path.join(dir, CELL_FILE));
  if (!existing) {
    const files = fs.readdirSync(dir);
    return files.length === 0
      ? undefined
      : `${dir}: holds files that are not this sweep's (${files.slice(0, 3).join(", ")}${files.length > 3 ? ", ..." : ""}); choose another out folder or move them away`;
  }
  if (existing.fingerprint === cell.fingerprint) return undefined;
  const was = `stoopt ${existing.command} ${existing.argv.filter((a, i, v) => a !== "--threads" && v[i - 1] !== "--threads").join(" ")}`;
  const now = `stoopt ${command} ${cell.argv.filter((a, i, v) => a !== "--threads" && v[i - 1] !== "--threads").join(" ")}`;
  return `${dir}: holds another sweep's run (${was}), not this one (${now}); choose another out folder or remove it`;
}

export function writeCellFile(dir: string, command: string, cell: Cell, cwd: string): void {
  if (fs.existsSync(path.join(dir, CELL_FILE))) return;
  fs.mkdirSync(dir, { recursive: true });
  const f: CellFile = {
    format: "stoopt-sweep-cell",
    version: 1,
    command,
    argv: cell.argv,
    values: cell.values,
    fingerprint: cell.fingerprint,
    threads: cell.threads,
    cwd,
  };
  writeFileAtomic(path.join(dir, CELL_FILE), JSON.stringify(f, null, 2) + "\n", "sweep");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process running the cell, if any: on this host checked by pid, elsewhere taken from run.json. */
export function liveRun(dir: string): RunFile | undefined {
  const r = readJsonFile<RunFile>(path.join(dir, RUN_FILE));
  if (!r) return undefined;
  if (r.host === os.hostname() && !alive(r.pid)) return undefined;
  return r;
}

export type CellState = "done" | "running" | "failed" | "stopped" | "pending";

export interface CellStatus {
  name: string;
  values: Record<string, Value>;
  state: CellState;
  detail: string;
  exit_code: number | null;
  signal: string | null;
  host: string | null;
  log: string;
}

export function cellStatus(dir: string): CellStatus {
  const c = readCell(dir);
  const a = adapterFor(c.command)!;
  const p = a.progress(dir);
  const run = liveRun(dir);
  const ex = readJsonFile<ExitFile>(path.join(dir, EXIT_FILE));
  const sub = readJsonFile<{ job: string; submitted: string }>(path.join(dir, SUBMITTED_FILE));
  let state: CellState;
  if (p.done) state = "done";
  else if (run) state = "running";
  else if (ex && !ex.stopped && ex.code !== 0) state = "failed";
  else if (ex || p.partial) state = "stopped";
  else state = "pending";
  return {
    name: path.basename(dir),
    values: c.values,
    state,
    detail: [
      p.detail,
      state === "running" ? `on ${run!.host}${run!.slurm_job ? `, Slurm job ${run!.slurm_job}` : ""}` : "",
      state === "failed" ? `exit ${ex!.code ?? ex!.signal}, see ${LOG_FILE}` : "",
      state === "stopped" && ex?.requeued ? "requeued" : "",
      state === "pending" && sub ? `submitted as Slurm job ${sub.job}` : "",
    ]
      .filter(Boolean)
      .join("; "),
    exit_code: ex?.code ?? null,
    signal: ex?.signal ?? null,
    host: run?.host ?? ex?.host ?? null,
    log: path.join(dir, LOG_FILE),
  };
}

/** The command line of the next attempt: undefined when the cell is finished. */
export function nextArgv(dir: string, c: CellFile): { argv: string[]; resumed: boolean } | undefined {
  const a = adapterFor(c.command)!;
  const p = a.progress(dir);
  if (p.done) return undefined;
  if (p.partial && a.resumeArgs) return { argv: [c.command, ...a.resumeArgs(dir, c.threads)], resumed: true };
  return { argv: [c.command, ...c.argv, ...a.outArgs(dir)], resumed: false };
}

export interface CellAttempt {
  child: ChildProcess;
  resumed: boolean;
  /** forward a signal once; the run then ends as `stopped` */
  stop(sig: NodeJS.Signals): void;
  finished: Promise<ExitFile>;
}

function slurmJob(): string | undefined {
  const e = process.env;
  if (e.SLURM_ARRAY_JOB_ID && e.SLURM_ARRAY_TASK_ID) return `${e.SLURM_ARRAY_JOB_ID}_${e.SLURM_ARRAY_TASK_ID}`;
  return e.SLURM_JOB_ID;
}

/** Start the next attempt of the cell in `dir` (the caller checked that there is one). */
export function startCell(dir: string, c: CellFile, next: { argv: string[]; resumed: boolean }): CellAttempt {
  const started = new Date().toISOString();
  const job = slurmJob();
  const log = fs.openSync(path.join(dir, LOG_FILE), "a");
  const out = fs.openSync(path.join(dir, "stdout.txt"), "a");
  fs.writeSync(log, `== ${started} ${os.hostname()}${job ? ` Slurm job ${job}` : ""}: stoopt ${next.argv.join(" ")}\n`);
  const child = spawn(process.execPath, [STOOPT_ENTRY, ...next.argv], { cwd: c.cwd, stdio: ["ignore", out, log], env: { ...process.env, NO_COLOR: "1" } });
  fs.closeSync(log);
  fs.closeSync(out);
  const run: RunFile = { host: os.hostname(), pid: child.pid ?? -1, parent_pid: process.pid, started, argv: next.argv, ...(job ? { slurm_job: job } : {}) };
  writeFileAtomic(path.join(dir, RUN_FILE), JSON.stringify(run, null, 2) + "\n", "sweep");
  let stopping = false;
  const finished = new Promise<ExitFile>((resolve) => {
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      const stopped = stopping || signal === "SIGTERM" || signal === "SIGINT" || code === 143 || code === 130;
      const ex: ExitFile = { host: os.hostname(), code, signal, stopped, started, ended: new Date().toISOString(), ...(job ? { slurm_job: job } : {}) };
      writeFileAtomic(path.join(dir, EXIT_FILE), JSON.stringify(ex, null, 2) + "\n", "sweep");
      try {
        fs.unlinkSync(path.join(dir, RUN_FILE));
      } catch {
        /* already gone */
      }
      resolve(ex);
    };
    child.once("error", (e) => {
      fs.appendFileSync(path.join(dir, LOG_FILE), `stoopt sweep: could not start the run: ${e.message}\n`);
      end(127, null);
    });
    child.once("exit", end);
  });
  return {
    child,
    resumed: next.resumed,
    stop(sig) {
      if (stopping) return;
      stopping = true;
      child.kill(sig);
    },
    finished,
  };
}
