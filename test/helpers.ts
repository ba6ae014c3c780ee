/** Run the built CLI (dist/cli/main.js) as a user would. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = path.join(ROOT, "dist/cli/main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string; timeoutMs?: number; stdoutFd?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    stdio: opts.stdoutFd !== undefined ? ["pipe", opts.stdoutFd, "pipe"] : "pipe",
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    maxBuffer: 1 << 28,
    timeout: opts.timeoutMs ?? 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ? r.stdout.toString() : "", stderr: r.stderr.toString() };
}

/** Parse `trial,t,mx,my,mz` CSV text into rows of numbers. */
export function parseCsv(text: string): { header: string[]; rows: number[][] } {
  const lines = text.trim().split("\n");
  return { header: lines[0].split(","), rows: lines.slice(1).map((l) => l.split(",").map(Number)) };
}
