/** `stoopt sweep`: a grid of runs of one command, here (a bounded pool) or as a Slurm array job. */
import { Command } from "commander";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UsageError } from "../errors.js";
import { info, note } from "../log.js";
import { choiceFlag, intFlag } from "../options/parse.js";
import { writeFileAtomic } from "../output.js";
import { table, toJson } from "../render/text.js";
import { readSpec, SlurmSettings } from "../sweep/spec.js";
import { cellDirs, prepare, runLocal, runTask } from "../sweep/run.js";
import { cellStatus, nextArgv, readCell, STOOPT_ENTRY } from "../sweep/cell.js";
import { checkTime, DEFAULT_MAX_REQUEUES, haveSbatch, recordSubmission, sbatchScript, shq, stillQueued, submit, writeScript } from "../sweep/slurm.js";
import { adapterFor } from "../sweep/adapters.js";

const HELP_AFTER = `
SPEC (YAML or JSON; relative paths in it are relative to the spec file):
  command: mnist                       # mnist, sysid, landscape or simulate
  out: table2                          # the sweep's folder (or --out)
  flags: { epochs: 15, threads: 2 }    # flags of the command, given to every cell
  axes:                                # crossed; a cell's folder is named after its values
    tune: [full, "win,wout"]           #   e.g. tune=win,wout_seed=2/
    seed: [1, 2, 3]
  slurm: { time: "01:00:00", mem: 4G, partition: NAME, account: NAME,
           setup: ["module load nodejs/20"] }   # also: qos, cpus_per_task, max_running,
                                        # signal_s, max_requeues, node, stoopt, extra
A positional argument (sysid's, landscape's <teacher>) is given by its name, under flags or as
an axis. The spec is checked against the command's real options before anything runs.

Each cell folder holds the command's outputs, cell.json (what runs there), run.json (while it
runs), exit.json (how the last attempt ended) and log.txt. A finished cell is skipped; a
stopped mnist run continues with --resume; other commands start over. A folder that holds
another run is refused.

--executor local runs the unfinished cells, --jobs at a time (default: cores / --threads of a
run; a command's --threads is 1 unless the spec sets it). Ctrl-C or SIGTERM stops the runs
(each keeps its last whole checkpoint); the same command continues.
--executor slurm writes DIR/sweep.sbatch, an array job with one task per unfinished cell
(--cpus-per-task = the run's --threads, --signal=B:TERM@60, --requeue; output in DIR/slurm/),
and submits it with sbatch (--dry-run: only writes it). A task stopped by SIGTERM (time limit
or preemption) requeues itself and resumes.

Examples:
  stoopt sweep results/table2.yaml                       # here, cores/threads runs at a time
  stoopt sweep results/table2.yaml --executor slurm --partition short --time 01:00:00
  stoopt sweep status results/table2
  stoopt sweep collect results/table2                    # table.csv, table.md, figure.svg`;

export function sweepCommand(lookup: (name: string) => Command | undefined): Command {
  const cmd = new Command("sweep")
    .description("Run a grid of stoopt runs (a command x the values of some flags), locally or as a Slurm array job")
    .usage("SPEC [options] | status DIR | collect DIR")
    .argument("[spec]", "sweep spec, YAML or JSON (see below)")
    .option("--out <dir>", "the sweep's folder (default: the spec's 'out', else the spec's name next to it)")
    .option("--executor <name>", "local (processes on this machine) or slurm (an sbatch array job)", "local")
    .option("--jobs <n>", "local: runs at a time (default: cores / threads per run)")
    .option("--dry-run", "local: print the command lines that would run; slurm: write the sbatch script, do not submit")
    .option("--time <t>", "slurm: time limit per task (minutes, HH:MM:SS or D-HH:MM:SS)")
    .option("--mem <m>", "slurm: memory per task (e.g. 4G)")
    .option("--partition <p>", "slurm: partition")
    .option("--account <a>", "slurm: account")
    .option("--qos <q>", "slurm: quality of service")
    .option("--cpus-per-task <n>", "slurm: CPUs per task (default: the run's --threads)")
    .option("--max-running <n>", "slurm: at most this many tasks at once (array %N)")
    .option("--signal-before <s>", "slurm: seconds before the time limit at which a task gets SIGTERM", "60");
  cmd.addHelpText("after", HELP_AFTER);
  cmd.action(async (spec: string | undefined, opts: Record<string, string | boolean | undefined>) => {
    if (spec === undefined) throw new UsageError("sweep: give a SPEC file (or 'status DIR' / 'collect DIR'); see stoopt sweep --help");
    const executor = choiceFlag(opts.executor as string, "--executor", ["local", "slurm"] as const);
    const plan = readSpec(spec, lookup, opts.out as string | undefined);
    const src = (k: string) => cmd.getOptionValueSource(k) === "cli";
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
    note(
      `sweep ${plan.out}: ${plan.cells.length} cells of stoopt ${plan.command} (${plan.axes.map(([a, v]) => `${a} x ${v.length}`).join(", ") || "one run"})`,
    );
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
  });

  cmd.addCommand(
    new Command("status")
      .description("done / running / stopped / failed / pending per cell, from the cells' own files")
      .argument("<dir>", "the sweep's folder")
      .option("--json", "print the cells' states as JSON on stdout")
      .action((dir: string, o: { json?: boolean }) => {
        const st = cellDirs(dir).map(cellStatus);
        const counts = ["done", "running", "stopped", "failed", "pending"]
          .map((s) => [s, st.filter((c) => c.state === s).length] as const)
          .filter(([, n]) => n > 0);
        info(
          table(
            ["cell", "state", "detail"],
            st.map((c) => [c.name, c.state, c.detail]),
          ) + `${st.length} cells: ${counts.map(([s, n]) => `${n} ${s}`).join(", ")}`,
        );
        if (o.json) process.stdout.write(toJson({ dir: path.resolve(dir), counts: Object.fromEntries(counts), cells: st }));
      }),
  );
  cmd.addCommand(
    new Command("collect")
      .description("one table of the finished cells: mean and standard deviation over seeds (CSV on stdout; DIR/table.csv, table.md, figure.svg)")
      .argument("<dir>", "the sweep's folder")
      .option("--over <axis>", "the axis to average over (default: seed, if the sweep has it)")
      .option("--metric <name>", "the number drawn in figure.svg (default: test_accuracy_pct for mnist, loss for sysid)")
      .action(async (dir: string, o: { over?: string; metric?: string }) => {
        // the table and figure code (Vega) loads only when it is needed
        const { collectedCsv, collectedFigure, collectedMarkdown, collectSweep } = await import("../sweep/collect.js");
        const { writeFigures, DEFAULT_EXPORT } = await import("../render/figures/export.js");
        const c = collectSweep(dir, o.over);
        const metric = o.metric ?? adapterFor(c.command)!.figureMetric ?? c.metrics[0];
        const fig = collectedFigure(c, metric);
        const text = collectedCsv(c);
        const md = collectedMarkdown(c);
        writeFileAtomic(path.join(dir, "table.csv"), text, "collect");
        writeFileAtomic(path.join(dir, "table.md"), md, "collect");
        await writeFigures(dir, [fig], DEFAULT_EXPORT, "collect");
        info(
          md +
            (c.unfinished.length ? `not finished, left out: ${c.unfinished.join(", ")}\n` : "") +
            `wrote ${path.join(dir, "table.{csv,md}")}, ${path.join(dir, "figure.svg")}`,
        );
        process.stdout.write(text);
      }),
  );
  cmd.addCommand(
    new Command("task")
      .description("run one cell (what each Slurm array task runs)")
      .argument("<cell>", "a cell folder of a sweep")
      .option("--requeues <n>", "requeue the Slurm job after a SIGTERM at most this many times", String(DEFAULT_MAX_REQUEUES))
      .action(async (cell: string, o: { requeues: string }) => {
        process.exitCode = await runTask(cell, intFlag(o.requeues, "--requeues", 0));
      }),
    { hidden: true },
  );
  return cmd;
}
