/**
 * One error type and one handler decide the message and the exit code.
 * Exit codes: 0 success, 1 runtime failure (numerical failure, I/O), 2 usage
 * or input error, 130 interrupted by SIGINT, 143 stopped by SIGTERM.
 */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

export class StooptError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "StooptError";
  }
}

/** Bad flags, bad files, bad values: exit 2, one line, no stack trace. */
export class UsageError extends StooptError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/** Something went wrong while computing (divergence, core failure): exit 1. */
export class RuntimeFailure extends StooptError {
  constructor(message: string) {
    super(message, EXIT_RUNTIME);
  }
}

/** A file or stream could not be written or read (out of space, I/O error): exit 1, never "internal error". */
export class IoFailure extends StooptError {
  constructor(message: string) {
    super(message, EXIT_RUNTIME);
  }
}

/** The run was stopped by SIGINT (exit 130) or SIGTERM (exit 143); the message says what was kept. */
export class Interrupted extends StooptError {
  constructor(
    readonly signal: NodeJS.Signals,
    message = `interrupted by ${signal}`,
  ) {
    super(message, signal === "SIGTERM" ? EXIT_TERMINATED : EXIT_INTERRUPTED);
  }
}

const ERRNO = /^E[A-Z]+$/;

/** The message and exit code for any thrown value; unknown errors are bugs (exit 1). */
export function describe(err: unknown): { message: string; exitCode: number } {
  if (err instanceof StooptError) return { message: err.message, exitCode: err.exitCode };
  const e = err as { code?: string; message?: string };
  if (
    e &&
    (e.code === "commander.unknownOption" ||
      e.code === "commander.missingMandatoryOptionValue" ||
      e.code === "commander.conflictingOption" ||
      e.code === "commander.missingArgument" ||
      e.code === "commander.optionMissingArgument" ||
      e.code === "commander.invalidArgument" ||
      e.code === "commander.excessArguments" ||
      e.code === "commander.unknownCommand")
  ) {
    return { message: String(e.message).replace(/^error: /, ""), exitCode: EXIT_USAGE };
  }
  if (e && e.code === "EPIPE") return { message: "", exitCode: EXIT_OK };
  // an operating-system error (ENOSPC, EIO, EACCES, ...) is a failure of the run, not a bug
  if (e && typeof e.code === "string" && ERRNO.test(e.code)) {
    const x = e as { code: string; syscall?: string; path?: string; message?: string };
    return { message: `I/O error: ${x.syscall ?? ""}${x.path ? ` '${x.path}'` : ""}: ${x.code}`.replace(": :", ":"), exitCode: EXIT_RUNTIME };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { message: `internal error: ${msg} (please report this)`, exitCode: EXIT_RUNTIME };
}
