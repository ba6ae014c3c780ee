/** Flags of `stoopt sweep SPEC` and the spec itself into typed settings (the spec is read and checked against the commands' real options, cli/sweep/spec.ts); the run is cli/run/sweep.ts. */
import type { Command } from "commander";
import os from "node:os";
import { choiceFlag, FlagValues, intFlag } from "./parse.js";
import { readSpec, SlurmSettings, SweepPlan } from "../sweep/spec.js";
import { checkTime } from "../sweep/slurm.js";

/** Every setting of a sweep run, checked before anything runs or is written. */
export interface SweepSettings {
  executor: "local" | "slurm";
  /** the spec, read and checked: the command, its cells and the sweep's folder */
  plan: SweepPlan;
  /** the spec's slurm settings with the flags' overrides */
  slurm: SlurmSettings;
  /** local: runs at a time */
  jobs: number;
  /** --dry-run: local, print the command lines; slurm, write the script only */
  dryRun: boolean;
}

/** `given`: whether a flag was on the command line (not a default); `lookup`: the other commands' definitions, against which the spec is checked. */
export function sweepSettingsFromFlags(
  spec: string,
  opts: FlagValues,
  given: (flag: string) => boolean,
  lookup: (name: string) => Command | undefined,
): SweepSettings {
  const executor = choiceFlag(opts.executor as string, "--executor", ["local", "slurm"] as const);
  const plan = readSpec(spec, lookup, opts.out as string | undefined);
  const slurm: SlurmSettings = { ...plan.slurm };
  for (const k of ["time", "mem", "partition", "account", "qos"] as const) if (opts[k] !== undefined) slurm[k] = opts[k] as string;
  if (opts.cpusPerTask !== undefined) slurm.cpus_per_task = intFlag(opts.cpusPerTask as string, "--cpus-per-task", 1);
  if (opts.maxRunning !== undefined) slurm.max_running = intFlag(opts.maxRunning as string, "--max-running", 1);
  if (given("signalBefore") || slurm.signal_s === undefined) slurm.signal_s = intFlag(opts.signalBefore as string, "--signal-before", 1);
  if (opts.time !== undefined) checkTime(slurm.time!, "--time");
  const maxThreads = Math.max(...plan.cells.map((c) => c.threads));
  const jobs = opts.jobs !== undefined ? intFlag(opts.jobs as string, "--jobs", 1, 1024) : Math.max(1, Math.floor(os.availableParallelism() / maxThreads));
  return { executor, plan, slurm, jobs, dryRun: Boolean(opts.dryRun) };
}
