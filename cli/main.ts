#!/usr/bin/env node
/** stoopt: the entry file only wires commands and the one error handler. */
import type { Command } from "commander";
import { describe, EXIT_OK, Interrupted } from "./errors.js";
import { errorLine, loadColour, setQuiet } from "./log.js";
import { guardStdStreams } from "./io/output.js";
import { VERSION } from "./version.js";
import { exitCodeFor, installSignalHandlers, stopRequested } from "./signals.js";

/**
 * Every command, loaded only when it is run (or listed by help): a call pays
 * for the modules its own command imports, not for everyone else's (Vega,
 * ml-matrix, yaml, ...). A new command adds one line here. `lookup` finds
 * another command's definition (sweep checks its cells against them).
 */
type CommandLoader = (lookup: (name: string) => Command | undefined) => Promise<Command>;
const COMMANDS: Record<string, CommandLoader> = {
  simulate: async () => (await import("./commands/simulate.js")).simulateCommand(),
  sysid: async () => (await import("./commands/sysid.js")).sysidCommand(),
  landscape: async () => (await import("./commands/landscape.js")).landscapeCommand(),
  plot: async () => (await import("./commands/plot.js")).plotCommand(),
  mnist: async () => (await import("./commands/mnist.js")).mnistCommand(),
  eval: async () => (await import("./commands/eval.js")).evalCommand(),
  spectrum: async () => (await import("./commands/spectrum.js")).spectrumCommand(),
  reservoir: async () => (await import("./commands/reservoir.js")).reservoirCommand(),
  sweep: async (lookup) => (await import("./commands/sweep.js")).sweepCommand(lookup),
};
/** Commands that need every other command's definition at hand. */
const NEEDS_ALL = new Set(["sweep"]);

/**
 * Which commands a command line needs: the one it names; none for a bare
 * `--version`; all of them for top-level help, `help`, an unknown name (for
 * the suggestion) or a command in NEEDS_ALL.
 */
export function commandsFor(args: string[]): string[] {
  const all = Object.keys(COMMANDS);
  const first = args.find((a) => !a.startsWith("-"));
  if (first === undefined) return args.some((a) => a === "-V" || a === "--version") && !args.some((a) => a === "-h" || a === "--help") ? [] : all;
  if (!(first in COMMANDS) || NEEDS_ALL.has(first)) return all;
  return [first];
}

export async function buildProgram(args: string[] = process.argv.slice(2)): Promise<Command> {
  const { Command } = await import("commander");
  const program = new Command("stoopt")
    .description("Gradient-based optimization of spin-torque oscillators (macrospin LLG, Imai et al.)")
    .version(VERSION)
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
  const lookup = (name: string): Command | undefined => program.commands.find((c) => c.name() === name);
  for (const cmd of await Promise.all(commandsFor(args).map((name) => COMMANDS[name](lookup)))) program.addCommand(cmd);
  const quietErrors = (c: Command): void => {
    c.exitOverride().configureOutput({ outputError: () => undefined });
    c.commands.forEach(quietErrors);
  };
  program.commands.forEach(quietErrors);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [program] = await Promise.all([buildProgram(argv.slice(2)), loadColour()]);
    await program.parseAsync(argv);
    const sig = stopRequested();
    if (sig !== undefined) return exitCodeFor(sig);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (err) {
    const { CommanderError } = await import("commander");
    if (err instanceof CommanderError && (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help"))
      return EXIT_OK;
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

/** `stoopt --version` alone, answered as commander answers it, without loading commander (a shell loop asking for the version pays only Node's start-up). */
const onlyVersion = (args: string[]): boolean => args.length === 1 && (args[0] === "--version" || args[0] === "-V");

if (onlyVersion(process.argv.slice(2))) {
  process.stdout.write(`${VERSION}\n`);
  process.exitCode = EXIT_OK;
} else {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
