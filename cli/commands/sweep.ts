/** `stoopt sweep`: a grid of runs of one command, here (a bounded pool) or as a Slurm array job; the work is cli/run/sweep.ts and cli/sweep/. */
import { Command } from "commander";
import { UsageError } from "../errors.js";
import { info } from "../log.js";
import { intFlag } from "../options/parse.js";
import { sweepSettingsFromFlags } from "../options/sweep.js";
import { toJson } from "../render/text.js";
import { collectSummary, statusTable } from "../render/sweep.js";
import { collectSweepDir, runSweepSpec, sweepStatus } from "../run/sweep.js";
import { runTask } from "../sweep/run.js";
import { DEFAULT_MAX_REQUEUES } from "../sweep/slurm.js";

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
    await runSweepSpec(sweepSettingsFromFlags(spec, opts, (k) => cmd.getOptionValueSource(k) === "cli", lookup));
  });

  cmd.addCommand(
    new Command("status")
      .description("done / running / stopped / failed / pending per cell, from the cells' own files")
      .argument("<dir>", "the sweep's folder")
      .option("--json", "print the cells' states as JSON on stdout")
      .action((dir: string, o: { json?: boolean }) => {
        const st = sweepStatus(dir);
        info(statusTable(st));
        if (o.json) process.stdout.write(toJson(st));
      }),
  );
  cmd.addCommand(
    new Command("collect")
      .description("one table of the finished cells: mean and standard deviation over seeds (CSV on stdout; DIR/table.csv, table.md, figure.svg)")
      .argument("<dir>", "the sweep's folder")
      .option("--over <axis>", "the axis to average over (default: seed, if the sweep has it)")
      .option("--metric <name>", "the number drawn in figure.svg (default: test_accuracy_pct for mnist, loss for sysid)")
      .action(async (dir: string, o: { over?: string; metric?: string }) => {
        const c = await collectSweepDir(dir, o.over, o.metric);
        info(collectSummary(c, dir));
        process.stdout.write(c.csv);
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
