/**
 * The work of `stoopt sweep` (settings: cli/options/sweep.ts, the spec read and
 * checked by cli/sweep/spec.ts): its cells run here (cli/sweep/run.ts) or
 * submitted as a Slurm array job (cli/sweep/slurm.ts); `sweep status` and
 * `sweep collect` read the cells' own files.
 */
import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { note } from "../log.js";
import type { SweepSettings } from "../options/sweep.js";
import { writeFileAtomic } from "../io/output.js";
import { cellDirs, prepare, runLocal } from "../sweep/run.js";
import { cellStatus, CellStatus, nextArgv, readCell, STOOPT_ENTRY } from "../sweep/cell.js";
import { haveSbatch, recordSubmission, sbatchScript, shq, stillQueued, submit, writeScript } from "../sweep/slurm.js";
import { adapterFor } from "../sweep/adapters.js";

/** What a sweep run did: the command lines of a local dry run, the local runs' exit code, or the Slurm script (and job, unless a dry run). */
export type SweepRun =
  { kind: "dry-run"; commands: string[] } | { kind: "local"; exitCode: number } | { kind: "slurm"; tasks: number; script?: string; job?: string };

/** Run a sweep (cli/options/sweep.ts: the spec read and checked, the flags' overrides); sets process.exitCode as the runs end. */
export async function runSweepSpec(s: SweepSettings): Promise<SweepRun> {
  const { executor, plan, slurm, jobs, dryRun } = s;
  if (executor === "slurm" && !dryRun && !haveSbatch())
    throw new UsageError("--executor slurm: sbatch is not on PATH (no Slurm here?); --dry-run only writes the script");
  if (executor === "local" && dryRun) {
    const dirs = prepare(plan, false);
    const commands: string[] = [];
    for (const [i, c] of plan.cells.entries()) {
      const a = adapterFor(plan.command)!;
      const d = dirs[i];
      if (fs.existsSync(d) && a.progress(d).done) continue;
      const argv = fs.existsSync(path.join(d, "cell.json")) ? nextArgv(d, readCell(d))!.argv : [plan.command, ...c.argv, ...a.outArgs(d)];
      const line = `cd ${shq(plan.cwd)} && ${shq(process.execPath)} ${shq(STOOPT_ENTRY)} ${argv.map(shq).join(" ")}`;
      commands.push(line);
      process.stdout.write(`${line}\n`);
    }
    return { kind: "dry-run", commands };
  }
  const dirs = prepare(plan);
  note(`sweep ${plan.out}: ${plan.cells.length} cells of stoopt ${plan.command} (${plan.axes.map(([a, v]) => `${a} x ${v.length}`).join(", ") || "one run"})`);
  if (executor === "local") {
    const exitCode = await runLocal(dirs, jobs);
    process.exitCode = exitCode;
    return { kind: "local", exitCode };
  }
  const todo = dirs.filter((d) => {
    const st = cellStatus(d);
    if (st.state === "done" || st.state === "running") return false;
    const queued = dryRun ? undefined : stillQueued(d);
    if (queued) note(`${st.name}: still in Slurm's queue as job ${queued}; not submitted again`);
    return !queued;
  });
  if (todo.length === 0) {
    note("every cell is finished, running or queued; nothing to submit");
    return { kind: "slurm", tasks: 0 };
  }
  fs.mkdirSync(path.join(plan.out, "slurm"), { recursive: true });
  const file = writeScript(plan.out, sbatchScript(plan, todo, slurm));
  if (dryRun) {
    note(`wrote ${file} (${todo.length} tasks); submit it with: sbatch ${file}`);
    return { kind: "slurm", tasks: todo.length, script: file };
  }
  const job = submit(file);
  recordSubmission(todo, job);
  note(`submitted ${file}: Slurm job ${job}, ${todo.length} tasks; follow with: stoopt sweep status ${plan.out}`);
  process.stdout.write(`${job}\n`);
  return { kind: "slurm", tasks: todo.length, script: file, job };
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
