/**
 * Running cells: preparing a sweep's folders (after every check), the local
 * executor (a bounded pool of processes), and one Slurm array task.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, UsageError } from "../errors.js";
import { note } from "../log.js";
import { writeFileAtomic } from "../io/output.js";
import { handlesSignalsItself } from "../signals.js";
import { CellAttempt, cellStatus, conflict, ExitFile, liveRun, nextArgv, readCell, startCell, writeCellFile } from "./cell.js";
import type { SweepPlan } from "./spec.js";

export const SWEEP_FILE = "sweep.json";
export const EXIT_TERMINATED = 143;

export interface SweepFile {
  format: "stoopt-sweep";
  version: 1;
  command: string;
  spec: string;
  axes: [string, unknown[]][];
  flags: Record<string, unknown>;
  cells: string[];
}

/** Check that every cell folder is free or holds this very run; then write the sweep's files. */
export function prepare(plan: SweepPlan, write = true): string[] {
  if (fs.existsSync(plan.out) && !fs.statSync(plan.out).isDirectory()) throw new UsageError(`${plan.out}: the sweep's out folder is a file`);
  const prev = readSweep(plan.out);
  if (prev && prev.command !== plan.command)
    throw new UsageError(`${plan.out}: holds a sweep of stoopt ${prev.command}, not ${plan.command}; choose another out folder`);
  const dirs = plan.cells.map((c) => path.join(plan.out, c.name));
  plan.cells.forEach((c, i) => {
    const why = conflict(dirs[i], plan.command, c);
    if (why) throw new UsageError(why);
  });
  if (!write) return dirs;
  fs.mkdirSync(plan.out, { recursive: true });
  const names = [...new Set([...(prev?.cells ?? []), ...plan.cells.map((c) => c.name)])];
  const sf: SweepFile = {
    format: "stoopt-sweep",
    version: 1,
    command: plan.command,
    spec: path.resolve(plan.specFile),
    axes: plan.axes,
    flags: plan.flags,
    cells: names,
  };
  writeFileAtomic(path.join(plan.out, SWEEP_FILE), JSON.stringify(sf, null, 2) + "\n", "sweep");
  plan.cells.forEach((c, i) => writeCellFile(dirs[i], plan.command, c, plan.cwd));
  return dirs;
}

export function readSweep(dir: string): SweepFile | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, SWEEP_FILE), "utf8")) as SweepFile;
    return s.format === "stoopt-sweep" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The cell folders of a sweep folder, in the order of sweep.json, then any others found. */
export function cellDirs(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: no such sweep folder`);
  const listed = readSweep(dir)?.cells ?? [];
  const found = fs.readdirSync(dir).filter((f) => fs.existsSync(path.join(dir, f, "cell.json")));
  if (found.length === 0) throw new UsageError(`${dir}: not a sweep folder (no cell folders with cell.json)`);
  const order = [...listed.filter((n) => found.includes(n)), ...found.filter((n) => !listed.includes(n)).sort()];
  return order.map((n) => path.join(dir, n));
}

/** Run the unfinished cells, `jobs` at a time; SIGINT/SIGTERM stop them (each keeps what it has). */
export async function runLocal(dirs: string[], jobs: number): Promise<number> {
  const todo: string[] = [];
  let skipped = 0;
  for (const d of dirs) {
    const s = cellStatus(d);
    if (s.state === "done") skipped++;
    else if (s.state === "running") note(`${s.name}: already running (${s.detail}); left alone`);
    else todo.push(d);
  }
  if (todo.length === 0) {
    note(`all ${dirs.length} cells are finished or running; nothing to run`);
    return EXIT_OK;
  }
  note(`${todo.length} of ${dirs.length} cells to run (${skipped} finished), ${Math.min(jobs, todo.length)} at a time`);
  const running = new Set<CellAttempt>();
  let signal: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) return;
    signal = sig;
    note(
      `${sig}: stopping ${running.size} running cell${running.size === 1 ? "" : "s"} (each keeps its last whole checkpoint); run the sweep again to continue`,
    );
    for (const a of running) a.stop(sig);
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  const own = handlesSignalsItself();
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const failed: string[] = [];
  let ran = 0;
  let next = 0;
  const worker = async () => {
    while (!signal && next < todo.length) {
      const dir = todo[next++];
      const c = readCell(dir);
      const argv = nextArgv(dir, c);
      if (!argv || liveRun(dir)) continue;
      const t0 = Date.now();
      const a = startCell(dir, c, argv);
      running.add(a);
      note(`${path.basename(dir)}: ${argv.resumed ? "resumed" : "started"}`);
      const ex: ExitFile = await a.finished;
      running.delete(a);
      ran++;
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (ex.code === 0) note(`${path.basename(dir)}: finished in ${secs} s`);
      else if (ex.stopped) note(`${path.basename(dir)}: stopped after ${secs} s`);
      else {
        failed.push(path.basename(dir));
        note(`${path.basename(dir)}: failed (exit ${ex.code ?? ex.signal}) after ${secs} s; see ${path.join(dir, "log.txt")}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, worker));
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    own();
  }
  if (signal) return signal === "SIGINT" ? EXIT_INTERRUPTED : EXIT_TERMINATED;
  note(`ran ${ran} cell${ran === 1 ? "" : "s"}: ${ran - failed.length} finished, ${failed.length} failed${failed.length ? ` (${failed.join(", ")})` : ""}`);
  return failed.length ? EXIT_RUNTIME : EXIT_OK;
}

/**
 * One Slurm array task: run (or resume) its cell. On SIGTERM (Slurm's warning before
 * a time limit or preemption, `--signal=B:TERM@N`) the run is stopped, keeps its last
 * whole checkpoint, and the task requeues itself so that the next attempt resumes.
 */
export async function runTask(dir: string, maxRequeues: number): Promise<number> {
  const c = readCell(dir);
  const next = nextArgv(dir, c);
  if (!next) {
    note(`${dir}: already finished`);
    return EXIT_OK;
  }
  const a = startCell(dir, c, next);
  const onTerm = () => a.stop("SIGTERM");
  const onInt = () => a.stop("SIGINT");
  // this task's handlers decide (cli/signals.ts stays out of the way, also for Slurm's second SIGTERM)
  handlesSignalsItself();
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  const ex = await a.finished;
  process.off("SIGINT", onInt);
  if (ex.code === 0) return EXIT_OK;
  if (!ex.stopped) return ex.code ?? EXIT_RUNTIME;
  // SIGTERM stays handled (a no-op now): Slurm signals again when it requeues the job
  const job = ex.slurm_job;
  const restarts = Number(process.env.SLURM_RESTART_COUNT ?? "0");
  if (job && restarts < maxRequeues) {
    const exitFile = path.join(dir, "exit.json");
    writeFileAtomic(exitFile, JSON.stringify({ ...ex, requeued: true }, null, 2) + "\n", "sweep");
    note(`${dir}: stopped by ${ex.signal ?? `exit ${ex.code}`}; requeueing Slurm job ${job} (restart ${restarts + 1} of at most ${maxRequeues})`);
    const r = spawnSync("scontrol", ["requeue", job], { encoding: "utf8" });
    if (r.status !== 0) {
      writeFileAtomic(exitFile, JSON.stringify(ex, null, 2) + "\n", "sweep");
      note(`${dir}: 'scontrol requeue ${job}' failed: ${(r.stderr || r.error?.message || "").trim()}; run the sweep again to continue`);
    }
  } else if (job) note(`${dir}: stopped; not requeued (${restarts} restarts, at most ${maxRequeues}); run the sweep again to continue`);
  process.off("SIGTERM", onTerm);
  return EXIT_TERMINATED;
}
