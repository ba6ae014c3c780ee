/** One golden test per figure kind: well-formed SVG carrying the expected series and axis titles. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { ROOT, runCli } from "./helpers.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "stoopt-plots-"));
const svg = (f: string) => readFileSync(f, "utf8");

function wellFormed(s: string): void {
  expect(XMLValidator.validate(s)).toBe(true);
  expect(s.startsWith("<svg")).toBe(true);
}

describe("figures", () => {
  const teacher = path.join(dir, "teacher.csv");
  const fit = path.join(dir, "fit.json");

  it("sysid: loss, parameter (with the true value) and teacher vs student before/after (Fig. 2)", () => {
    expect(runCli(["simulate", "--H_appl", "1800Oe", "--j_DC", "5mA", "--trials", "12", "--washout", "100ns", "-o", teacher]).code).toBe(0);
    const r = runCli(["sysid", teacher, "--fit", "H_appl,j_DC", "--init", "H_appl=1780", "--init", "j_DC=4.8mA", "--epochs", "8", "-o", fit, "--plot", path.join(dir, "fig2")]);
    expect(r.code).toBe(0);
    const files = readdirSync(path.join(dir, "fig2")).sort();
    expect(files).toEqual(["H_appl.svg", "j_DC.svg", "loss.svg", "trajectory-after.svg", "trajectory-before.svg"]);
    const loss = svg(path.join(dir, "fig2/loss.svg"));
    wellFormed(loss);
    expect(loss).toContain("epoch [1]");
    expect(loss).toContain("loss (eq. 4) [1]");
    expect(loss).toContain("start 1 (best)");
    const h = svg(path.join(dir, "fig2/H_appl.svg"));
    wellFormed(h);
    expect(h).toContain("H_appl [Oe]");
    expect(h).toContain("teacher (true) H_appl");
    expect(h).toContain("student, start 1");
    expect(svg(path.join(dir, "fig2/j_DC.svg"))).toContain("j_DC [A]");
    const after = svg(path.join(dir, "fig2/trajectory-after.svg"));
    wellFormed(after);
    for (const s of ["t [ns]", "magnetization [1]", "teacher mx", "student mx", "teacher mz", "student mz"]) expect(after).toContain(s);
  });

  it("plot re-renders a sysid result and refuses a file that is not one", () => {
    const r = runCli(["plot", fit, "-o", path.join(dir, "again")]);
    expect(r.code).toBe(0);
    expect(readdirSync(path.join(dir, "again")).length).toBe(5);
    const bad = runCli(["plot", path.join(ROOT, "package.json")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("not a stoopt result");
  });

  it("landscape: minimum at the true point, heatmap with the sysid path (Fig. 3, issue 5 acceptance 2)", () => {
    const out = path.join(dir, "fig3");
    const r = runCli(["landscape", teacher, "--x", "H_appl", "--y", "j_DC", "--grid", "41x41", "--trials", "4", "--result", fit, "-o", out, "--json"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    // the grid cell nearest the truth (1800 Oe, 5 mA) is the minimum
    expect(res.minimum.H_appl).toBeCloseTo(1800, 9);
    expect(res.minimum.j_DC).toBeCloseTo(5e-3, 12);
    expect(res.minimum.loss).toBeLessThan(1e-9);
    const grid = readFileSync(path.join(out, "landscape.csv"), "utf8").trim().split("\n");
    expect(grid[0]).toBe("H_appl,j_DC,loss");
    expect(grid.length).toBe(1 + 41 * 41);
    const s = svg(path.join(out, "landscape.svg"));
    wellFormed(s);
    for (const t of ["H_appl [Oe]", "j_DC [A]", "loss [1]", "start", "end"]) expect(s).toContain(t);
  });

  it("mnist: accuracy and physical parameters against epoch (Fig. 4 b-f), STO dynamics before/after (Fig. 8)", () => {
    const out = path.join(dir, "fig4");
    const r = runCli(["plot", path.join(ROOT, "results/full-cm10/result.json"), "-o", out, "--stos", "3"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      "accuracy.svg", "alpha.svg",
      "dynamics-after-mx.svg", "dynamics-after-my.svg", "dynamics-after-mz.svg",
      "dynamics-before-mx.svg", "dynamics-before-my.svg", "dynamics-before-mz.svg",
      "h_appl_mean.svg", "h_appl_var.svg", "j_dc.svg",
    ]);
    const acc = svg(path.join(out, "accuracy.svg"));
    wellFormed(acc);
    for (const t of ["epoch [1]", "accuracy [%]", "train accuracy", "test accuracy (10,000 test images)"]) expect(acc).toContain(t);
    expect(svg(path.join(out, "h_appl_var.svg"))).toContain("variance of H_appl [Oe^2]");
    expect(svg(path.join(out, "j_dc.svg"))).toContain("j_DC [mA]");
    const dyn = svg(path.join(out, "dynamics-after-mz.svg"));
    wellFormed(dyn);
    for (const t of ["t [ps]", "m_z [1]", "STO 0", "STO 2"]) expect(dyn).toContain(t);
    expect(dyn).not.toContain("STO 3");
  });
});
