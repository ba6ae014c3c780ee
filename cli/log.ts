/**
 * stderr is for people: notes, summaries, progress. Colour only on a TTY and
 * never with NO_COLOR; `--quiet` silences everything but errors.
 */
import type cliProgressTypes from "cli-progress";

let quiet = false;

export function setQuiet(q: boolean): void {
  quiet = q;
}
export function isQuiet(): boolean {
  return quiet;
}

export function colourEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "") && process.env.TERM !== "dumb";
}

/** The styles stoopt's tables and messages use. */
export type Paint = Record<"bold" | "dim" | "red" | "yellow", (s: string) => string>;

const plain = (s: string): string => s;
const PLAIN: Paint = { bold: plain, dim: plain, red: plain, yellow: plain };
let chalk: typeof import("chalk") | undefined;

/**
 * Load chalk where colour can be shown (stderr a TTY, no NO_COLOR): the entry
 * file awaits this before a command runs, so a pipeline or a shell loop, where
 * chalk would print every string unchanged, does not pay for loading it.
 */
export async function loadColour(): Promise<void> {
  if (colourEnabled() && !chalk) chalk = await import("chalk");
}

/** chalk at level 1 where colour is on (and loaded by `loadColour`), plain text otherwise. */
export function paint(): Paint {
  return chalk && colourEnabled() ? new chalk.Chalk({ level: 1 }) : PLAIN;
}

/** A note on stderr (suppressed by --quiet). */
export function note(msg: string): void {
  if (!quiet) process.stderr.write(`${paint().dim("stoopt:")} ${msg}\n`);
}

export function info(msg: string): void {
  if (!quiet) process.stderr.write(msg.endsWith("\n") ? msg : msg + "\n");
}

export function errorLine(msg: string): void {
  process.stderr.write(`${paint().red("stoopt: error:")} ${msg}\n`);
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * A progress bar with ETA on stderr, only on a TTY, not with --quiet, and only
 * once the run has taken longer than a second.
 */
export function progress(total: number, label: string): Progress {
  if (quiet || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  let bar: cliProgressTypes.SingleBar | undefined;
  // the bar's module loads only where a bar can be shown (a TTY), meanwhile updates are skipped
  let cliProgress: typeof cliProgressTypes | undefined;
  void import("cli-progress").then(
    (m) => (cliProgress = m.default),
    () => undefined,
  );
  return {
    update(done: number) {
      if (!bar && cliProgress && Date.now() - started > 1000) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {percentage}% | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      }
      bar?.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
