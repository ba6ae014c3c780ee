/** `stoopt spectrum` and `stoopt sysid --spectrum` run as a user would (acceptance 2, 3; acceptance 5 is in fixtures/bad/cases.json). */
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "./helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-spectrum-"));

interface Point {
  values: Record<string, number>;
  oscillating: boolean;
  settled: boolean;
  f_Hz: number;
  linewidth_Hz: number;
  resolution_limited: boolean;
  mz: number;
  theory: { f_Hz: number; mz: number; threshold_A: number };
}

describe("spectrum --sweep (noise-free, 1750 Oe, alpha 0.0055)", () => {
  it("f(I) and <m_z> beside the orbit-averaged theory, threshold within 2 % of the formula, width = resolution", () => {
    const r = runCli(["spectrum", "--sweep", "j_DC=2.5mA:7.5mA:2.5mA", "--washout", "40ns", "--max-washout", "40ns", "--duration", "20ns", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { points: Point[]; thresholds: { formula_A: number; simulated_A: number }[] };
    expect(out.points.map((p) => p.values.j_DC)).toEqual([2.5e-3, 5e-3, 7.5e-3]);
    for (const p of out.points) {
      expect(p.oscillating).toBe(true);
      // the first-order energy balance neglects the orbit's distortion (order lambda^2): -0.3 % at 2.5 mA to -2.9 % at 7.5 mA
      expect(Math.abs(p.f_Hz / p.theory.f_Hz - 1)).toBeLessThan(0.035);
      expect(Math.abs(p.mz - p.theory.mz)).toBeLessThan(0.01);
      // noise-free: no linewidth; the width reported is the window's resolution, 1.44 / 20 ns
      expect(p.resolution_limited).toBe(true);
      expect(p.linewidth_Hz).toBeCloseTo(1.44 / 20e-9, -3);
    }
    // the centre point as pinned by core-rs/tests/physics.rs
    expect(Math.abs(out.points[1].f_Hz - 5.1335e9)).toBeLessThan(5e6);
    const t = out.thresholds[0];
    expect(Math.abs(t.simulated_A / t.formula_A - 1)).toBeLessThan(0.02);
    expect(r.stderr).toContain("narrower than the window's resolution");
  });

  it("below threshold: no auto-oscillation, and the CSV leaves f empty", () => {
    const r = runCli(["spectrum", "--sweep", "j_DC=0.5mA,1mA", "--no-threshold", "--washout", "20ns", "--max-washout", "150ns"]);
    expect(r.code).toBe(0);
    const [head, ...rows] = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(","));
    const col = (n: string) => head.indexOf(n);
    expect(rows.length).toBe(2);
    for (const row of rows) {
      expect(row[col("oscillating")]).toBe("0");
      expect(row[col("f_Hz")]).toBe("");
      expect(row[col("settled")]).toBe("1");
    }
    expect(r.stderr).toContain("no auto-oscillation");
  });

  it("a point that has not settled by --max-washout is flagged, not reported as settled", () => {
    // just above threshold the relaxation is slow: 10 ns cannot settle it
    const r = runCli(["spectrum", "--sweep", "j_DC=1.6mA,1.7mA", "--no-threshold", "--washout", "5ns", "--max-washout", "10ns", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { points: Point[] };
    expect(out.points.some((p) => !p.settled)).toBe(true);
    expect(r.stderr).toContain("had not settled");
  });
});

describe("spectrum TRACE", () => {
  it("reads a simulated trace from stdin: PSD CSV on stdout, the peak at the centre point's frequency, a figure", () => {
    const sim = runCli(["simulate", "--washout", "60ns", "--duration", "40ns", "--sample", "10ps", "--m0", "0.97,0,0.2422"]);
    expect(sim.code).toBe(0);
    const dir = path.join(tmp, "psd");
    const r = runCli(["spectrum", "-", "--plot", dir, "--json"], { input: sim.stdout });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { line: { f_Hz: number; resolution_limited: boolean; harmonic2: { f_Hz: number } } };
    expect(Math.abs(out.line.f_Hz - 5.1335e9)).toBeLessThan(5e6);
    expect(Math.abs(out.line.harmonic2.f_Hz / out.line.f_Hz - 2)).toBeLessThan(1e-3);
    expect(out.line.resolution_limited).toBe(true);
    expect(fs.readFileSync(path.join(dir, "psd.svg"), "utf8")).toContain("<svg");
    const csv = runCli(["spectrum", "-"], { input: sim.stdout });
    expect(csv.stdout.split("\n")[0]).toBe("f_Hz,psd");
    expect(csv.stderr).toContain("below the window's resolution");
  });
});

describe("sysid --spectrum (acceptance 3)", () => {
  it("recovers H_appl and alpha within 0.5 % of their ranges from a noise-free spectrum --sweep table", () => {
    const table = path.join(tmp, "fI.csv");
    const sw = runCli([
      "spectrum",
      "--sweep",
      "j_DC=3mA:7.5mA:1.5mA",
      "--H_appl",
      "1820",
      "--alpha",
      "0.007",
      "--washout",
      "40ns",
      "--no-threshold",
      "-o",
      table,
    ]);
    expect(sw.code).toBe(0);
    const r = runCli(["sysid", "--spectrum", table, "--fit", "H_appl,alpha", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; fit: Record<string, { value: number; uncertainty: number }> };
    expect(out.status).toBe("ok");
    expect(Math.abs(out.fit.H_appl.value - 1820) / 500).toBeLessThan(0.005);
    expect(Math.abs(out.fit.alpha.value - 0.007) / 0.009).toBeLessThan(0.005);
    expect(out.fit.H_appl.uncertainty).toBeGreaterThan(0);
  });

  it("refuses a table column for a fitted parameter, and a teacher beside --spectrum", () => {
    const table = path.join(tmp, "h.csv");
    fs.writeFileSync(table, "j_DC_A,H_appl_Oe,f_Hz\n0.003,1800,5.4e9\n0.005,1800,5.2e9\n0.007,1800,5.0e9\n");
    const a = runCli(["sysid", "--spectrum", table, "--fit", "H_appl"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("column H_appl_Oe sets H_appl");
    const b = runCli(["sysid", "fixtures/teacher-small.csv", "--spectrum", table, "--fit", "alpha"]);
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split("\n").length).toBe(1);
  });
});

describe("spectrum of a scope trace (--signal)", () => {
  it("analyses the named voltage column in its own unit: the peak's power is (dV * m_x amplitude)^2 / 2", () => {
    // fixtures/scope.csv: V = 8 mV - 2.5 mV * m_x + noise, 20 ns at 40 GS/s, 1820 Oe, 5 mA, 300 K
    const r = runCli(["spectrum", "fixtures/scope.csv", "--signal", "V_mV", "--segment", "10ns", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { signal: { name: string; unit: string }; line: { f_Hz: number; power: number } };
    expect(out.signal).toEqual({ name: "V_mV", unit: "mV" });
    // the same trace turned back into m_x (noise makes |m_x| > 1 possible, so read as a plain signal column): the power scales by dV^2 = 6.25 mV^2, the frequency does not change
    const mx = path.join(tmp, "scope-mx.csv");
    const rows = fs
      .readFileSync("fixtures/scope.csv", "utf8")
      .split("\n")
      .filter((l) => /^[0-9]/.test(l))
      .map((l) => l.split(",").map(Number));
    fs.writeFileSync(mx, "t_ns,mx_est\n" + rows.map(([t, v]) => `${t},${(8 - v) / 2.5}`).join("\n") + "\n");
    const m = JSON.parse(runCli(["spectrum", mx, "--signal", "mx_est", "--segment", "10ns", "--json"]).stdout) as { line: { f_Hz: number; power: number } };
    expect(out.line.f_Hz).toBeCloseTo(m.line.f_Hz, 0);
    expect(out.line.power / m.line.power).toBeCloseTo(6.25, 6);
    expect(r.stderr).toMatch(/power [0-9.]+ mV\^2/);
  });

  it("a --signal column that is not in the header is one line naming the file, exit 2", () => {
    const r = runCli(["spectrum", "fixtures/scope.csv", "--signal", "V_uV"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("fixtures/scope.csv:3: --signal: no column");
  });
});
