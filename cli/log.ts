/**
 * stderr is for people: notes, summaries, progress. Colour only on a TTY and
 * never with NO_COLOR; `--quiet` silences everything but errors.
 */
import { Chalk } from "chalk";
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

export function paint(): InstanceType<typeof Chalk> {
  return new Chalk({ level: colourEnabled() ? 1 : 0 });
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
