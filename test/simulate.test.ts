import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseCsv, ROOT, runCli } from "./helpers.js";

describe("stoopt simulate", () => {
  it("writes 2100 data rows for 100 trials x 21 samples (acceptance 8)", () => {
    const r = runCli(["simulate", "--trials", "100", "--washout", "100ns", "--sample", "50ps", "--duration", "1ns"]);
    expect(r.code).toBe(0);
    const { header, rows } = parseCsv(r.stdout);
    expect(header).toEqual(["trial", "t", "mx", "my", "mz"]);
    expect(rows.length).toBe(2100);
    // rows: trial-major, t = 0, 50 ps, ..., 1 ns, |m| = 1
    expect(rows[0][0]).toBe(0);
    expect(rows[20][1]).toBeCloseTo(1e-9, 20);
    expect(rows[2099][0]).toBe(99);
    for (const row of rows) expect(Math.abs(Math.hypot(row[2], row[3], row[4]) - 1)).toBeLessThan(1e-12);
  });

  it("reproduces the same CSV byte for byte from the same seed, with noise (acceptance 5)", () => {
    const args = ["simulate", "--trials", "5", "--temperature", "300K", "--scheme", "heun", "--seed", "42", "--duration", "0.5ns"];
    const a = runCli(args);
    const b = runCli(args);
    const c = runCli([...args.slice(0, -4), "--seed", "43", "--duration", "0.5ns"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it("equals the native build's pinned trajectory (wasm == native within 1e-12, acceptance 7)", () => {
    const golden = parseCsv(readFileSync(path.join(ROOT, "fixtures/golden/wasm-native-1e4.csv"), "utf8")).rows;
    const text = readFileSync(path.join(ROOT, "fixtures/golden/wasm-native-1e4.csv"), "utf8").trim().split("\n").slice(1);
    for (const scheme of ["rk4", "heun"]) {
      const r = runCli(["simulate", "--trials", "4", "--temperature", "300K", "--seed", "7", "--sample", "0.5ns", "--duration", "5ns", "--scheme", scheme]);
      expect(r.code).toBe(0);
      const wasm = parseCsv(r.stdout).rows;
      const native = text.filter((l) => l.startsWith(scheme + ",")).map((l) => l.split(",").slice(1).map(Number));
      expect(wasm.length).toBe(44);
      expect(native.length).toBe(44);
      let worst = 0;
      for (let i = 0; i < wasm.length; i++) for (let k = 0; k < 5; k++) worst = Math.max(worst, Math.abs(wasm[i][k] - native[i][k]));
      expect(worst).toBeLessThan(1e-12);
    }
    expect(golden.length).toBe(88);
  });

  it("accepts units and says which unit it assumed for bare numbers", () => {
    const r = runCli(["simulate", "--H_appl", "1800", "--j_DC", "4.5mA", "--duration", "0.1", "--m0", "0,0,1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--H_appl 1800 read as 1800 Oe");
    expect(r.stderr).toContain("--duration 0.1 read as 0.1 ns");
    expect(parseCsv(r.stdout).rows.length).toBe(3);
  });

  it("rejects bad flags with one line and exit code 2", () => {
    const cases: [string[], string][] = [
      [["--j_DC", "5Oe"], "--j_DC: 'Oe' is a unit of magnetic field, not of current"],
      [["--washout", "3furlongs"], "--washout: unknown unit 'furlongs'"],
      [["--alpha", "-0.1"], "--alpha: alpha = -0.1 is outside its physical bounds"],
      [["--sample", "0.3ps"], "--sample (3e-13 s) is not a whole number of 5e-13 s steps"],
      [["--trials", "x"], "--trials: 'x' is not a whole number"],
      [["--bogus"], "unknown option '--bogus'"],
      [["--scheme", "euler"], "--scheme: 'euler' is not one of rk4, heun"],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(["simulate", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
  });

  it("writes -o FILE atomically with a settings sidecar", async () => {
    const { mkdtempSync, readdirSync } = await import("node:fs");
    const os = await import("node:os");
    const dir = mkdtempSync(path.join(os.tmpdir(), "stoopt-"));
    const out = path.join(dir, "t.csv");
    const r = runCli(["simulate", "--trials", "2", "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(readdirSync(dir).sort()).toEqual(["t.csv", "t.csv.json"]);
    const meta = JSON.parse(readFileSync(out + ".json", "utf8"));
    expect(meta.parameters.H_appl).toEqual({ value: 1750, unit: "Oe" });
  });
});
