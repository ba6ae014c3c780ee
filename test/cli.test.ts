/** The CLI as a pipeline citizen: help text, exit codes, stdout carries data only. */
import { describe, expect, it } from "vitest";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { execSync } from "node:child_process";
import os from "node:os";
import { ROOT, runCli } from "./helpers.js";

const COMMANDS = ["simulate", "sysid", "landscape", "plot"];

describe("help", () => {
  it("stoopt --help lists the commands, exit codes and examples", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: stoopt/);
    for (const c of COMMANDS) expect(r.stdout).toContain(c);
    expect(r.stdout).toContain("Exit codes: 0 success, 1 runtime failure, 2 usage or input error");
    expect(r.stdout).toContain("Examples:");
  });

  for (const c of COMMANDS) {
    it(`stoopt ${c} --help shows a usage line, every option with its default, and examples`, () => {
      const r = runCli([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: stoopt ${c} `));
      expect(r.stdout).toContain("Examples:");
      expect(r.stdout).toMatch(/\n {2}stoopt /);
    });
  }

  it("names the unit of every physical option", () => {
    const r = runCli(["simulate", "--help"]).stdout.replace(/\s+/g, " ");
    for (const s of [
      "[Oe] (default 1750 Oe)",
      "[A] (default 0.005 A)",
      "[cm] (default 2e-7 cm)",
      "[emu/cm3]",
      "[rad/(Oe s)]",
      "(bare number: ns)",
      "(bare number: K)",
    ])
      expect(r).toContain(s);
  });
});

describe("stdout is data only", () => {
  it("every --json output parses as JSON and contains nothing else", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stoopt-json-"));
    const teacher = path.join(ROOT, "fixtures/teacher-small.csv");
    const runs = [
      runCli(["sysid", teacher, "--fit", "alpha", "--epochs", "2", "--json"]),
      runCli(["landscape", teacher, "--x", "H_appl", "--y", "alpha", "--grid", "3x3", "--json", "-o", dir]),
    ];
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
      expect(r.stdout.trim().startsWith("{")).toBe(true);
      expect(r.stdout.trim().endsWith("}")).toBe(true);
      expect(r.stderr.length).toBeGreaterThan(0); // the human summary went to stderr
    }
  });

  it("--quiet silences stderr but errors; no colour codes when not a TTY", () => {
    const teacher = path.join(ROOT, "fixtures/teacher-small.csv");
    const q = runCli(["--quiet", "sysid", teacher, "--fit", "alpha", "--epochs", "1", "--json"]);
    expect(q.code).toBe(0);
    expect(q.stderr).toBe("");
    const e = runCli(["-q", "simulate", "--trials", "zero"]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain("--trials");
    const c = runCli(["simulate", "--dt", "0.5"], { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(c.stderr).not.toMatch(/\u001b\[/);
  });

  it("a closed pipe (| head) is not an error", () => {
    const out = execSync("node dist/cli/main.js simulate --trials 200 --duration 10ns | head -3", { cwd: ROOT, shell: "/bin/bash" }).toString();
    expect(out.split("\n").length).toBe(4);
  });
});
