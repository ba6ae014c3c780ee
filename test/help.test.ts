/**
 * Golden transcripts of every command's --help (and the top-level --help):
 * fixtures/golden/help/<name>.txt holds the command line, the exit code,
 * stdout and stderr. A missing golden file fails; `UPDATE_GOLDEN=1 npx vitest
 * run test/help.test.ts` writes them (then review the diff). NO_COLOR, an
 * 80-column terminal and a machine of 2 cores (the defaults of mnist's and
 * eval's --threads are the number of cores) keep them the same everywhere.
 */
import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, runCli } from "./helpers.js";
import { registeredCommands } from "./layout.helpers.js";

const DIR = path.join(ROOT, "fixtures/golden/help");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** The subcommands of a command that has them (shown in its help). */
const SUBCOMMANDS: Record<string, string[]> = { sweep: ["status", "collect"] };

/** Each transcript: its golden file's name and the command line. */
function cases(): [string, string[]][] {
  const out: [string, string[]][] = [["stoopt", ["--help"]]];
  for (const c of registeredCommands()) {
    out.push([c, [c, "--help"]]);
    for (const s of SUBCOMMANDS[c] ?? []) out.push([`${c}-${s}`, [c, s, "--help"]]);
  }
  return out;
}

/** Loaded before the CLI: os.availableParallelism() answers 2, as on the machine the goldens were written on. */
const TWO_CORES =
  'data:text/javascript,import os from "node:os"; import { syncBuiltinESMExports } from "node:module"; os.availableParallelism = () => 2; syncBuiltinESMExports();';

function transcript(args: string[]): string {
  const env = { NO_COLOR: "1", FORCE_COLOR: "0", COLUMNS: "80", LINES: "24", NODE_OPTIONS: `--import=${JSON.stringify(TWO_CORES)}` };
  const r = runCli(args, { env });
  return `$ stoopt ${args.join(" ")}\nexit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

describe("--help transcripts (fixtures/golden/help)", () => {
  for (const [name, args] of cases()) {
    it(`stoopt ${args.join(" ")}`, () => {
      const file = path.join(DIR, `${name}.txt`);
      const text = transcript(args);
      if (UPDATE) {
        mkdirSync(DIR, { recursive: true });
        writeFileSync(file, text);
      }
      if (!existsSync(file)) throw new Error(`${path.relative(ROOT, file)} is missing: write it with UPDATE_GOLDEN=1 and review it`);
      expect(text).toBe(readFileSync(file, "utf8"));
    });
  }

  it("has no golden file for a command that is gone", () => {
    const expected = new Set(cases().map(([n]) => `${n}.txt`));
    const stale = readdirSync(DIR).filter((f) => !expected.has(f));
    expect(stale).toEqual([]);
  });
});
