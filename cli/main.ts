#!/usr/bin/env node
/** stoopt: the entry file only wires commands and the one error handler. */
import { Command, CommanderError } from "commander";
import { describe, EXIT_OK, Interrupted } from "./errors.js";
import { errorLine, setQuiet } from "./log.js";
import { simulateCommand } from "./commands/simulate.js";
import { sysidCommand } from "./commands/sysid.js";
import { landscapeCommand } from "./commands/landscape.js";
import { plotCommand } from "./commands/plot.js";
import { mnistCommand } from "./commands/mnist.js";
import { evalCommand } from "./commands/eval.js";
import { spectrumCommand } from "./commands/spectrum.js";
import { reservoirCommand } from "./commands/reservoir.js";
import { sweepCommand } from "./commands/sweep.js";
import { guardStdStreams } from "./output.js";
import { exitCodeFor, installSignalHandlers, stopRequested } from "./signals.js";

export function buildProgram(): Command {
  const program = new Command("stoopt")
    .description("Gradient-based optimization of spin-torque oscillators (macrospin LLG, Imai et al.)")
    .version("0.1.0")
    .option("-q, --quiet", "silence stderr except errors")
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true);
  program.hook("preAction", (thisCommand) => {
    setQuiet(Boolean(thisCommand.optsWithGlobals().quiet));
  });
  program.addHelpText(
    "after",
    `
Exit codes: 0 success, 1 runtime failure, 2 usage or input error, 130 interrupted by SIGINT,
143 stopped by SIGTERM (a write error, e.g. a full disk, is a runtime failure).
stdout carries data only; notes, summaries and progress go to stderr.

Examples:
  stoopt simulate --trials 100 --washout 100ns --sample 50ps --duration 1ns > teacher.csv
  stoopt sysid teacher.csv --fit H_appl,j_DC --json
  stoopt sweep results/table2.yaml --executor slurm
  stoopt simulate --help`,
  );
  program.addCommand(simulateCommand());
  program.addCommand(sysidCommand());
  program.addCommand(landscapeCommand());
  program.addCommand(plotCommand());
  program.addCommand(mnistCommand());
  program.addCommand(evalCommand());
  program.addCommand(spectrumCommand());
  program.addCommand(reservoirCommand());
  program.addCommand(sweepCommand((name) => program.commands.find((c) => c.name() === name)));
  const quietErrors = (c: Command): void => {
    c.exitOverride().configureOutput({ outputError: () => undefined });
    c.commands.forEach(quietErrors);
  };
  program.commands.forEach(quietErrors);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    const sig = stopRequested();
    if (sig !== undefined) return exitCodeFor(sig);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError && (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")) return EXIT_OK;
    const { message, exitCode } = describe(err);
    const sig = stopRequested();
    // after a signal, whatever ended the work reports the signal's exit code
    if (sig !== undefined) {
      errorLine(err instanceof Interrupted ? message : `interrupted by ${sig} (${message})`);
      return exitCodeFor(sig);
    }
    if (message) errorLine(message);
    return exitCode;
  }
}

guardStdStreams();
installSignalHandlers();

main(process.argv).then((code) => {
  process.exitCode = code;
});
