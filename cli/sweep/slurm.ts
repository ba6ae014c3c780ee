/**
 * The Slurm executor: one `sbatch` array script per submission, one array task per
 * unfinished cell. Each task runs `stoopt sweep task CELL`, which runs the cell's
 * command (resuming it where the command can) and, on the SIGTERM that
 * `--signal=B:TERM@N` sends N seconds before the time limit (or that preemption
 * sends), stops it and requeues itself; `--requeue` lets Slurm requeue it too.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { RuntimeFailure, UsageError } from "../errors.js";
import { writeFileAtomic } from "../io/output.js";
import { readJsonFile, STOOPT_ENTRY, SUBMITTED_FILE } from "./cell.js";
import type { SlurmSettings, SweepPlan } from "./spec.js";

export const SCRIPT_FILE = "sweep.sbatch";
export const DEFAULT_SIGNAL_S = 60;
export const DEFAULT_MAX_REQUEUES = 10;

/** Quote for a POSIX shell. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function checkTime(t: string, flag: string): string {
  // Slurm's forms: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
  if (!/^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}(:\d{1,2}){0,2})$/.test(t))
    throw new UsageError(`${flag}: '${t}' is not a Slurm time (minutes, HH:MM:SS or D-HH:MM:SS)`);
  return t;
}

/** The array script for the cells in `dirs` (absolute paths). */
export function sbatchScript(plan: SweepPlan, dirs: string[], s: SlurmSettings): string {
  const threads = Math.max(...plan.cells.map((c) => c.threads));
  const cpus = s.cpus_per_task ?? threads;
  const name = `stoopt-${path.basename(plan.out)}`.replace(/[^A-Za-z0-9._-]/g, "_");
  const array = `0-${dirs.length - 1}${s.max_running ? `%${s.max_running}` : ""}`;
  const lines = [
    "#!/bin/bash",
    `# stoopt sweep ${path.resolve(plan.specFile)}: ${dirs.length} cells of stoopt ${plan.command}, one array task each.`,
    "# Each task runs its cell's command (resuming a partial run); on SIGTERM before the time",
    "# limit or at preemption it keeps its last whole checkpoint and requeues itself.",
    `#SBATCH --job-name=${name}`,
    `#SBATCH --array=${array}`,
    "#SBATCH --ntasks=1",
    `#SBATCH --cpus-per-task=${cpus}`,
    ...(s.time ? [`#SBATCH --time=${s.time}`] : []),
    ...(s.mem ? [`#SBATCH --mem=${s.mem}`] : []),
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    ...(s.account ? [`#SBATCH --account=${s.account}`] : []),
    ...(s.qos ? [`#SBATCH --qos=${s.qos}`] : []),
    `#SBATCH --signal=B:TERM@${s.signal_s ?? DEFAULT_SIGNAL_S}`,
    "#SBATCH --requeue",
    "#SBATCH --open-mode=append",
    `#SBATCH --output=${path.join(plan.out, "slurm", "%A_%a.out")}`,
    `#SBATCH --chdir=${plan.out}`,
    ...(s.extra ?? []).map((x) => `#SBATCH ${x}`),
    "",
    ...(s.setup ?? []),
    "cells=(",
    ...dirs.map((d) => `  ${shq(d)}`),
    ")",
    `exec ${shq(s.node ?? process.execPath)} ${shq(s.stoopt ?? STOOPT_ENTRY)} sweep task "\${cells[$SLURM_ARRAY_TASK_ID]}" --requeues ${s.max_requeues ?? DEFAULT_MAX_REQUEUES}`,
    "",
  ];
  return lines.join("\n");
}

/** A cell submitted earlier whose task is still in Slurm's queue: not submitted again. */
export function stillQueued(dir: string): string | undefined {
  const sub = readJsonFile<{ job: string }>(path.join(dir, SUBMITTED_FILE));
  return sub && inQueue(sub.job) ? sub.job : undefined;
}

export function writeScript(out: string, script: string): string {
  const file = path.join(out, SCRIPT_FILE);
  writeFileAtomic(file, script, "sweep");
  return file;
}

/** Is `sbatch` there? Checked before anything is written. */
export function haveSbatch(): boolean {
  const r = spawnSync("sbatch", ["--version"], { encoding: "utf8" });
  return r.status === 0;
}

/** Is this Slurm job (or array task) still queued or running? */
export function inQueue(job: string): boolean {
  const r = spawnSync("squeue", ["-h", "-j", job, "-o", "%i"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "";
}

/** Record in each cell the array task it was submitted as. */
export function recordSubmission(dirs: string[], job: string): void {
  const submitted = new Date().toISOString();
  dirs.forEach((d, i) => writeFileAtomic(path.join(d, SUBMITTED_FILE), JSON.stringify({ job: `${job}_${i}`, submitted }, null, 2) + "\n", "sweep"));
}

/** Submit; returns the job id. */
export function submit(file: string): string {
  const r = spawnSync("sbatch", ["--parsable", file], { encoding: "utf8" });
  if (r.status !== 0) throw new RuntimeFailure(`sbatch ${file} failed: ${(r.stderr || r.error?.message || "").trim().split("\n")[0]}`);
  return r.stdout.trim().split(";")[0];
}
