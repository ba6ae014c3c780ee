/**
 * Fitting measured data (README "Fitting measured data"): m_x-only and
 * voltage teachers, fitted initial states, offset/amplitude, the windowed
 * gradients through the wasm against central differences, and bad input.
 */
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, runCli } from "./helpers.js";
import { CoreWindows, blockLayout, WindowRequest } from "../cli/fit/windows.js";
import { defaultParams, PARAMS } from "../cli/model.js";
import { chartPoint } from "../cli/fit/measured.js";

const TEACHER = path.join(ROOT, "fixtures/teacher.csv"); // H_appl 1820 Oe, j_DC 4.4 mA, noise-free, full state
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-measured-"));

/** The first `trials` trials of fixtures/teacher.csv, with `map` applied to each row's fields. */
function derived(name: string, trials: number, header: string, map: (f: string[]) => string, comments: string[] = []): string {
  const lines = fs.readFileSync(TEACHER, "utf8").trim().split("\n").slice(1);
  const rows = lines.map((l) => l.split(",")).filter((f) => Number(f[0]) < trials);
  const file = path.join(tmp, name);
  fs.writeFileSync(file, [...comments, header, ...rows.map(map)].join("\n") + "\n");
  return file;
}

describe("sysid on measured data", () => {
  it("--m0 fit agrees with the teacher's full state (the old path) on a noise-free teacher", () => {
    const old = runCli(["sysid", TEACHER, "--fit", "H_appl", "--j_DC", "4.4mA", "--trials", "20", "--json", "-q"]);
    const fit = runCli(["sysid", TEACHER, "--fit", "H_appl", "--j_DC", "4.4mA", "--trials", "20", "--m0", "fit", "--json", "-q"]);
    expect(old.code).toBe(0);
    expect(fit.code).toBe(0);
    const a = JSON.parse(old.stdout).fit.H_appl.value;
    const r = JSON.parse(fit.stdout);
    expect(Math.abs(a - 1820)).toBeLessThan(0.5);
    expect(Math.abs(r.fit.H_appl.value - a)).toBeLessThan(0.5);
    expect(r.settings.m0).toBe("fit");
    expect(r.windows.count).toBe(20);
  });

  it("fits an m_x-only teacher (trial,t,mx) without my, mz", () => {
    const file = derived("mx.csv", 20, "trial,t,mx", (f) => f.slice(0, 3).join(","));
    const r = runCli(["sysid", file, "--fit", "H_appl", "--j_DC", "4.4mA", "--json"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(Math.abs(res.fit.H_appl.value - 1820)).toBeLessThan(0.5);
    expect(res.fit.H_appl.uncertainty).toBeGreaterThan(0);
    // 20 windows: --uncertainty auto (the default) bootstraps, and keeps Gauss-Newton's value beside it
    expect(res.uncertainty_method).toMatch(/^bootstrap over windows: 50 resamples of the 20 windows/);
    expect(res.fit.H_appl.uncertainty_gauss_newton).toBeGreaterThan(0);
  });

  it("with fewer than 10 windows the default uncertainty is Gauss-Newton's, with a warning saying why", () => {
    const file = derived("mx-few.csv", 5, "trial,t,mx", (f) => f.slice(0, 3).join(","));
    const r = runCli(["sysid", file, "--fit", "H_appl", "--j_DC", "4.4mA", "--json"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.uncertainty_method).toMatch(/^Gauss-Newton/);
    expect(r.stderr).toContain("warning: 5 window(s) are too few for a bootstrap (at least 10)");
    expect(Math.abs(res.fit.H_appl.value - 1820)).toBeLessThan(0.5);
  });

  it("fits a scope-style voltage (comment header, time_ns, V_mV, negative scale): offset and amplitude fitted or given", () => {
    const file = derived("scope.csv", 10, "trial,time_ns,V_mV", (f) => `${f[0]},${(Number(f[1]) * 1e9).toFixed(4)},${(8 - 2.5 * Number(f[2])).toFixed(6)}`, [
      "# Scope export",
      "# 20 GS/s",
    ]);
    const r = runCli(["sysid", file, "--signal", "V_mV", "--fit", "H_appl", "--j_DC", "4.4mA", "--json", "-q"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(Math.abs(res.fit.H_appl.value - 1820)).toBeLessThan(1);
    expect(res.offset.value).toBeCloseTo(8, 3);
    expect(res.amplitude.value).toBeCloseTo(-2.5, 3);
    expect(res.offset.unit).toBe("mV");
    expect(res.input.signal.column).toBe("V_mV");
    // known offset and amplitude, in another unit
    const k = runCli(["sysid", file, "--signal", "V_mV", "--fit", "H_appl", "--j_DC", "4.4mA", "--offset", "0.008V", "--amplitude", "-2500uV", "--json", "-q"]);
    expect(k.code).toBe(0);
    const kr = JSON.parse(k.stdout);
    expect(Math.abs(kr.fit.H_appl.value - 1820)).toBeLessThan(1);
    expect(kr.offset).toMatchObject({ value: 8, fitted: false });
    expect(kr.amplitude.value).toBeCloseTo(-2.5, 12);
  });

  it("bootstrap names its method and gives a finite sigma", () => {
    const file = derived("mx-boot.csv", 8, "trial,t,mx", (f) => f.slice(0, 3).join(","));
    const r = runCli(["sysid", file, "--fit", "H_appl", "--j_DC", "4.4mA", "--uncertainty", "bootstrap", "--bootstrap", "4", "--scan", "4", "--json", "-q"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.uncertainty_method).toMatch(/^bootstrap over windows: 4 resamples/);
    expect(Number.isFinite(res.fit.H_appl.uncertainty)).toBe(true);
  });

  it("gradients w.r.t. chart coordinates, offset and amplitude match central differences through the wasm (f64)", () => {
    const lines = fs
      .readFileSync(TEACHER, "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",").map(Number));
    const rows = lines.filter((f) => f[0] < 3);
    const offsets = [0];
    for (let i = 1; i < rows.length; i++) if (rows[i][0] !== rows[i - 1][0]) offsets.push(i);
    offsets.push(rows.length);
    const w = {
      offsets: Uint32Array.from(offsets),
      t_s: Float64Array.from(rows.map((f) => f[1])),
      y: Float64Array.from(rows.map((f, k) => 8 - 2.5 * f[2] + 0.01 * Math.sin(k))),
    };
    const ev = new CoreWindows(w, 0.5e-12, 0);
    const m0 = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      m0.set(
        rows[offsets[i]].slice(2, 5).map((v, j) => v + (j === 0 ? 0.03 : -0.02)),
        3 * i,
      );
    const params = defaultParams();
    params[PARAMS.find((p) => p.name === "H_appl")!.index] = 1810;
    const fit = [PARAMS.find((p) => p.name === "H_appl")!.index];
    const base: WindowRequest = {
      params,
      fit,
      mode: "dual",
      m0,
      chart: Float64Array.from([0.01, -0.02, 0.02, 0.01, -0.01, 0.015]),
      offset: 7.95,
      amplitude: -2.45,
      sel: [0, 1, 2],
    };
    const L = blockLayout(1, true);
    const blocks = ev.evaluateSync(base);
    const half = (req: WindowRequest) => {
      const b = ev.evaluateSync({ ...req, mode: "loss" });
      return 0.5 * [0, 1, 2].reduce((s, k) => s + b[k * L.len + 2], 0);
    };
    const sum = (o: number) => [0, 1, 2].reduce((s, k) => s + blocks[k * L.len + o], 0);
    const check = (got: number, plus: WindowRequest, minus: WindowRequest, h: number) => {
      const fd = (half(plus) - half(minus)) / (2 * h);
      expect(Math.abs(got - fd) / Math.max(Math.abs(fd), Math.abs(got))).toBeLessThan(1e-6);
    };
    const h = 1e-6;
    check(sum(L.gr + 1), { ...base, offset: base.offset + h }, { ...base, offset: base.offset - h }, h);
    check(sum(L.gr + 2), { ...base, amplitude: base.amplitude + h }, { ...base, amplitude: base.amplitude - h }, h);
    for (let i = 0; i < 3; i++) {
      for (let c = 0; c < 2; c++) {
        const shifted = (s: number) => {
          const ch = Float64Array.from(base.chart!);
          ch[2 * i + c] += s;
          return { ...base, chart: ch };
        };
        check(blocks[i * L.len + L.wr + c], shifted(h), shifted(-h), h);
      }
    }
    // the chart in TypeScript re-centres onto the same point the core starts from
    const p = chartPoint(m0.subarray(0, 3), 0.01, -0.02);
    expect(Math.hypot(p[0], p[1], p[2])).toBeCloseTo(1, 14);
  });

  it("bad input: one line, exit code 2, before the work", () => {
    const scope = derived("scope-bad.csv", 3, "trial,time_ns,V_mV", (f) => `${f[0]},${(Number(f[1]) * 1e9).toFixed(4)},${(8 - 2.5 * Number(f[2])).toFixed(6)}`);
    const secs = derived("secs.csv", 3, "trial,t,V_mV", (f) => `${f[0]},${(Number(f[1]) * 1e9).toFixed(4)},${(8 - 2.5 * Number(f[2])).toFixed(6)}`);
    const two = path.join(tmp, "two.csv");
    fs.writeFileSync(two, "t,mx\n0,0.1\n1e-9,0.2\n");
    const cases: [string[], RegExp][] = [
      [[scope, "--signal", "V_uV"], /no column "V_uV" in the header/],
      [[scope, "--signal", "V_mV", "--window", "2ns"], /--window: 2 ns is longer than trace 0/],
      [[two, "--window", "1ns"], /2 samples are compared .* fewer than the 3 fitted unknowns/],
      [[secs, "--signal", "V_mV"], /read in seconds and likely holds ns: name it t_ns/],
      [[scope, "--signal", "V_mV", "--amplitude", "0"], /--amplitude: must be non-zero/],
      [[scope, "--signal", "V_mV", "--offset", "3Oe"], /--offset: 'Oe' is a unit of magnetic field/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(["sysid", ...args, "--fit", "H_appl"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  });
});
