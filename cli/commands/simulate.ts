/** `stoopt simulate`: macrospin STO trajectories as CSV (trial,t,mx,my,mz); the work is cli/run/simulate.ts. */
import { Command } from "commander";
import { PARAMS, paramFlag, paramHelp } from "../model.js";
import { simulateSettingsFromFlags } from "../options/simulate.js";
import { note } from "../log.js";
import { runSimulate } from "../run/simulate.js";

export function simulateCommand(): Command {
  const cmd = new Command("simulate")
    .description("Simulate macrospin spin-torque oscillators (paper eq. 1-3) and write m(t) as CSV")
    .usage("[options]")
    .option("--trials <n>", "number of independent trials", "1")
    .option("--dt <time>", "integration step (bare number: ns)", "0.5ps")
    .option("--washout <time>", "time integrated before recording starts (bare number: ns)", "0ns")
    .option("--sample <time>", "sampling interval, a whole number of steps (bare number: ns)", "50ps")
    .option("--duration <time>", "recorded duration after the washout; rows at 0, sample, ..., duration (bare number: ns)", "1ns")
    .option("--temperature <T>", "temperature for the thermal field of eq. (3); 0 turns noise off (bare number: K)", "0K")
    .option(
      "--scheme <name>",
      "rk4: classic RK4 (4 evaluations/step), thermal field held through the step: the paper's scheme, 4th order without noise; use it to reproduce the paper. heun: stochastic Heun (2 evaluations/step), the standard scheme for the Stratonovich thermal LLG; use it for thermal statistics (with noise both are strong order 1/2; the equipartition test in core-rs/tests/physics.rs measures both)",
      "rk4",
    )
    .option("--seed <n>", "seed of the random initial states and the thermal noise (0 to 2^64-1)", "1")
    .option("--m0 <mx,my,mz>", "initial magnetization for every trial (normalized); default: random on the sphere per trial")
    .option("-o, --output <file>", "write the CSV atomically to FILE (default: stdout) and its settings to FILE.json");
  for (const p of PARAMS) cmd.option(paramFlag(p), paramHelp(p));
  cmd.addHelpText(
    "after",
    `
Output: CSV with header trial,t,mx,my,mz; t in seconds from the end of the washout;
one row per trial per sample. Values accept units: --j_DC 5mA, --H_appl 1800Oe, --washout 100ns.

Examples:
  stoopt simulate --trials 100 --washout 100ns --sample 50ps --duration 1ns > teacher.csv
  stoopt simulate --H_appl 1820Oe --j_DC 4.5mA --temperature 300K --scheme heun -o noisy.csv`,
  );
  cmd.action(async (opts: Record<string, string>) => {
    const { settings, notes } = simulateSettingsFromFlags(opts);
    for (const n of notes) note(n);
    if (settings.spec.temperatureK > 0 && settings.spec.scheme === "rk4")
      note("with thermal noise, --scheme rk4 reproduces the paper; --scheme heun is the standard Stratonovich scheme at half the cost");
    await runSimulate(settings);
  });
  return cmd;
}
