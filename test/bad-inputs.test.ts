/** Table-driven: the built CLI on every malformed input in fixtures/bad/cases.json. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, runCli } from "./helpers.js";

interface Case {
  file: string | null;
  args: string[];
  message: string;
}

const cases: Case[] = JSON.parse(readFileSync(path.join(ROOT, "fixtures/bad/cases.json"), "utf8"));

describe("malformed inputs (fixtures/bad)", () => {
  it("has at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));
  for (const c of cases) {
    it(`${c.file ?? c.args.join(" ")}: exit 2, one line, empty stdout`, () => {
      const r = runCli(c.args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(c.message);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
});
