/**
 * The work of `stoopt sweep` (flags: cli/commands/sweep.ts): the spec read and
 * checked (cli/sweep/spec.ts), then its cells run here (cli/sweep/run.ts) or
 * submitted as a Slurm array job (cli/sweep/slurm.ts); `sweep status` and
 * `sweep collect` read the cells' own files.
 */
import type { Command } from "commander";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UsageError } from "../errors.js";
import { note } from "../log.js";
import { choiceFlag, FlagValues, intFlag } from "../options/parse.js";
import { writeFileAtomic } from "../output.js";
import { readSpec, SlurmSettings } from "../sweep/spec.js";
import { cellDirs, prepare, runLocal } from "../sweep/run.js";
import { cellStatus, CellStatus, nextArgv, readCell, STOOPT_ENTRY } from "../sweep/cell.js";
import { checkTime, haveSbatch, recordSubmission, sbatchScript, shq, stillQueued, submit, writeScript } from "../sweep/slurm.js";
import { adapterFor } from "../sweep/adapters.js";

/**
 * Run a sweep spec with the flags as commander parsed them (`given`: whether a
 * flag was on the command line; `lookup`: the other commands' definitions,
 * against which the spec is checked). Sets process.exitCode as the runs end.
 */
export async function runSweepSpec(
  spec: string,
  opts: FlagValues,
  given: (flag: string) => boolean,
  lookup: (name: string) => Command | undefined,
): Promise<void> {
  const executor = choiceFlag(opts.executor as string, "--executor", ["local", "slurm"] as const);
  const plan = readSpec(spec, lookup, opts.out as string | undefined);
  const src = given;
  const slurm: SlurmSettings = { ...plan.slurm };
  for (const k of ["time", "mem", "partition", "account", "qos"] as const) if (opts[k] !== undefined) slurm[k] = opts[k] as string;
  if (opts.cpusPerTask !== undefined) slurm.cpus_per_task = intFlag(opts.cpusPerTask as string, "--cpus-per-task", 1);
  if (opts.maxRunning !== undefined) slurm.max_running = intFlag(opts.maxRunning as string, "--max-running", 1);
  if (src("signalBefore") || slurm.signal_s === undefined) slurm.signal_s = intFlag(opts.signalBefore as string, "--signal-before", 1);
  if (opts.time !== undefined) checkTime(slurm.time!, "--time");
  const maxThreads = Math.max(...plan.cells.map((c) => c.threads));
  const jobs = opts.jobs !== undefined ? intFlag(opts.jobs as string, "--jobs", 1, 1024) : Math.max(1, Math.floor(os.availableParallelism() / maxThreads));
  if (executor === "slurm" && !opts.dryRun && !haveSbatch())
    throw new UsageError("--executor slurm: sbatch is not on PATH (no Slurm here?); --dry-run only writes the script");
  if (executor === "local" && opts.dryRun) {
    const dirs = prepare(plan, false);
    for (const [i, c] of plan.cells.entries()) {
      const a = adapterFor(plan.command)!;
      const d = dirs[i];
      if (fs.existsSync(d) && a.progress(d).done) continue;
      const argv = fs.existsSync(path.join(d, "cell.json")) ? nextArgv(d, readCell(d))!.argv : [plan.command, ...c.argv, ...a.outArgs(d)];
      process.stdout.write(`cd ${shq(plan.cwd)} && ${shq(process.execPath)} ${shq(STOOPT_ENTRY)} ${argv.map(shq).join(" ")}\n`);
    }
    return;
  }
  const dirs = prepare(plan);
  note(`sweep ${plan.out}: ${plan.cells.length} cells of stoopt ${plan.command} (${plan.axes.map(([a, v]) => `${a} x ${v.length}`).join(", ") || "one run"})`);
  if (executor === "local") {
    process.exitCode = await runLocal(dirs, jobs);
    return;
  }
  const todo = dirs.filter((d) => {
    const st = cellStatus(d);
    if (st.state === "done" || st.state === "running") return false;
    const queued = opts.dryRun ? undefined : stillQueued(d);
    if (queued) note(`${st.name}: still in Slurm's queue as job ${queued}; not submitted again`);
    return !queued;
  });
  if (todo.length === 0) {
    note("every cell is finished, running or queued; nothing to submit");
    return;
  }
  fs.mkdirSync(path.join(plan.out, "slurm"), { recursive: true });
  const file = writeScript(plan.out, sbatchScript(plan, todo, slurm));
  if (opts.dryRun) {
    note(`wrote ${file} (${todo.length} tasks); submit it with: sbatch ${file}`);
    return;
  }
  const job = submit(file);
  recordSubmission(todo, job);
  note(`submitted ${file}: Slurm job ${job}, ${todo.length} tasks; follow with: stoopt sweep status ${plan.out}`);
  process.stdout.write(`${job}\n`);
}

/** `sweep status DIR`: each cell's state. */
export interface SweepStatus {
  dir: string;
  counts: Record<string, number>;
  cells: CellStatus[];
}

export function sweepStatus(dir: string): SweepStatus {
  const cells = cellDirs(dir).map(cellStatus);
  const counts = ["done", "running", "stopped", "failed", "pending"]
    .map((s) => [s, cells.filter((c) => c.state === s).length] as const)
    .filter(([, n]) => n > 0);
  return { dir: path.resolve(dir), counts: Object.fromEntries(counts), cells };
}

/** `sweep collect DIR`: DIR/table.csv, table.md and figure.svg written; the texts returned for stdout and stderr. */
export interface SweepCollected {
  csv: string;
  markdown: string;
  unfinished: string[];
}

export async function collectSweepDir(dir: string, over?: string, metricFlag?: string): Promise<SweepCollected> {
  // the table and figure code (Vega) loads only when it is needed
  const { collectedCsv, collectedFigure, collectedMarkdown, collectSweep } = await import("../sweep/collect.js");
  const { writeFigures, DEFAULT_EXPORT } = await import("../render/figures/export.js");
  const c = collectSweep(dir, over);
  const metric = metricFlag ?? adapterFor(c.command)!.figureMetric ?? c.metrics[0];
  const fig = collectedFigure(c, metric);
  const text = collectedCsv(c);
  const md = collectedMarkdown(c);
  writeFileAtomic(path.join(dir, "table.csv"), text, "collect");
  writeFileAtomic(path.join(dir, "table.md"), md, "collect");
  await writeFigures(dir, [fig], DEFAULT_EXPORT, "collect");
  return { csv: text, markdown: md, unfinished: c.unfinished };
}
