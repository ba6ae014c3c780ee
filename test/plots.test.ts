/**
 * Golden tests of the figures: print size, font sizes at that size, axis
 * titles with SI-prefixed units (never `[1]`), no thousands separators; PNG
 * and PDF that standard tools open; the teacher-vs-student figure's dense
 * student, residual panel and CSV; labels taken from the result.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { ROOT, runCli } from "./helpers.js";
import { axisTitle, axisUnit, parseSize, PT_PER_CM } from "../cli/render/figures/theme.js";
import { pointsPerPeriod } from "../cli/run/student.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "stoopt-plots-"));
const read = (f: string) => readFileSync(f, "utf8");
const COLUMN_PT = 8.5 * PT_PER_CM;

interface SvgFacts {
  widthPt: number;
  heightPt: number;
  /** font sizes in pt on paper (font-size in user units x pt per user unit) */
  fontPt: number[];
  /** axis titles, legend labels, tick labels, everything written */
  axisTitles: string[];
  tickLabels: string[];
  texts: string[];
  /** the number of points of each line mark's path, in document order */
  linePoints: number[];
}

/** Parse a figure's SVG and collect what a reader sees. */
function facts(svg: string): SvgFacts {
  expect(XMLValidator.validate(svg)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", preserveOrder: true, trimValues: false, parseTagValue: false }).parse(
    svg,
  ) as Node[];
  type Node = Record<string, unknown> & { ":@"?: Record<string, string> };
  const root = doc.find((n) => "svg" in n)!;
  const attr = root[":@"]!;
  expect(attr["@width"]).toMatch(/pt$/);
  const widthPt = parseFloat(attr["@width"]);
  const heightPt = parseFloat(attr["@height"]);
  const vb = attr["@viewBox"].split(/\s+/).map(Number);
  const ptPerUnit = widthPt / vb[2];
  const out: SvgFacts = { widthPt, heightPt, fontPt: [], axisTitles: [], tickLabels: [], texts: [], linePoints: [] };
  const textOf = (n: Node): string =>
    ((n.text as Node[]) ?? []).map((c) => (typeof c["#text"] === "string" ? c["#text"] : c.tspan ? textOf({ text: c.tspan } as Node) : "")).join("");
  const walk = (nodes: Node[], cls: string) => {
    for (const n of nodes) {
      const a = n[":@"] ?? {};
      const c = a["@class"] ? `${cls} ${a["@class"]}` : cls;
      if ("text" in n) {
        const t = textOf(n);
        out.texts.push(t);
        if (a["@font-size"]) out.fontPt.push(parseFloat(a["@font-size"]) * ptPerUnit);
        if (/role-axis-title/.test(c)) out.axisTitles.push(t);
        if (/role-axis-label/.test(c)) out.tickLabels.push(t);
        continue;
      }
      if ("path" in n && /mark-line role-mark/.test(cls) && a["@d"]) out.linePoints.push((a["@d"].match(/[ML]/g) ?? []).length);
      for (const [k, v] of Object.entries(n)) if (k !== ":@" && Array.isArray(v)) walk(v as Node[], c);
    }
  };
  walk(root.svg as Node[], "");
  return out;
}

/** The print rules every figure keeps. */
function expectPrintReady(f: SvgFacts, widthPt = COLUMN_PT): void {
  expect(Math.abs(f.widthPt - widthPt)).toBeLessThan(1);
  expect(f.heightPt).toBeGreaterThan(0.4 * widthPt);
  expect(f.fontPt.length).toBeGreaterThan(3);
  for (const s of f.fontPt) {
    expect(s).toBeGreaterThanOrEqual(7);
    expect(s).toBeLessThanOrEqual(9);
  }
  for (const t of f.texts) expect(t).not.toContain("[1]");
  // no thousands separators in tick labels (1500, not 1,500)
  for (const t of f.tickLabels) expect(t).not.toMatch(/\d,\d{3}/);
}

/** Rows of a CSV with a header (quoted cells allowed). */
function table(text: string): Record<string, string>[] {
  const split = (l: string) =>
    (l.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? []).slice(0, -1).map((c) => c.replace(/,$/, "").replace(/^"|"$/g, "").replace(/""/g, '"'));
  const [head, ...lines] = text.trim().split("\n");
  const cols = split(head);
  return lines.map((l) => Object.fromEntries(split(l).map((v, i) => [cols[i], v])));
}

describe("theme", () => {
  it("chooses an SI prefix per axis and writes no [1]", () => {
    expect(axisUnit("A", [0.0025, 0.0065])).toEqual({ unit: "mA", factor: 1e3 });
    expect(axisUnit("Hz", [4.2e9])).toMatchObject({ unit: "GHz" });
    expect(axisUnit("s", [0, 1e-9])).toMatchObject({ unit: "ns" });
    expect(axisUnit("s", [0, 5e-10])).toMatchObject({ unit: "ps" });
    expect(axisUnit("Oe", [1500, 2000])).toEqual({ unit: "Oe", factor: 1 });
    expect(axisUnit("cm", [2e-7]).unit).toBe("nm");
    expect(axisUnit("cm", [2e-7]).factor).toBeCloseTo(1e7, 6);
    expect(axisTitle("alpha", "")).toBe("alpha");
    expect(axisTitle("j_DC", "mA")).toBe("j_DC [mA]");
  });

  it("reads --size as column, page or WxH with a unit", () => {
    expect(parseSize("column").widthPt).toBeCloseTo(COLUMN_PT, 9);
    expect(parseSize("page").widthPt).toBeCloseTo(17 * PT_PER_CM, 9);
    expect(parseSize("85x60mm")).toMatchObject({ widthPt: expect.closeTo(COLUMN_PT, 9), heightPt: expect.closeTo(6 * PT_PER_CM, 9) });
    expect(parseSize("3.3x2.4in").widthPt).toBeCloseTo(3.3 * 72, 9);
    const notes: string[] = [];
    expect(parseSize("8.5x6", "--size", notes).widthPt).toBeCloseTo(COLUMN_PT, 9);
    expect(notes[0]).toContain("cm");
    expect(() => parseSize("huge")).toThrow(/--size/);
  });

  it("counts points per oscillation period", () => {
    const v = Array.from({ length: 400 }, (_, i) => Math.sin((2 * Math.PI * i) / 40 + 0.3));
    expect(pointsPerPeriod(v)).toBeCloseTo(40, 0);
  });
});

describe("figures", () => {
  const teacher = path.join(dir, "teacher.csv");
  const fit = path.join(dir, "fit.json");
  const fig2 = path.join(dir, "fig2");

  it("sysid --plot: column-size SVG, PNG and PDF with units, fonts and data (Fig. 2)", () => {
    expect(runCli(["simulate", "--H_appl", "1800Oe", "--j_DC", "5mA", "--trials", "12", "--washout", "100ns", "-o", teacher]).code).toBe(0);
    const r = runCli([
      "sysid",
      teacher,
      "--fit",
      "H_appl,j_DC",
      "--init",
      "H_appl=1780",
      "--init",
      "j_DC=4.8mA",
      "--epochs",
      "8",
      "-o",
      fit,
      "--plot",
      fig2,
      "--format",
      "svg,png,pdf",
      "--dpi",
      "300",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const names = ["H_appl", "j_DC", "loss", "trajectory-after", "trajectory-before"];
    expect(readdirSync(fig2).sort()).toEqual(names.flatMap((n) => [`${n}.csv`, `${n}.pdf`, `${n}.png`, `${n}.svg`]).sort());

    const loss = facts(read(path.join(fig2, "loss.svg")));
    expectPrintReady(loss);
    expect(loss.axisTitles).toEqual(["epoch", "loss (eq. 4)"]);
    // one start: no legend; the CSV names the series
    expect(table(read(path.join(fig2, "loss.csv")))[0]).toMatchObject({ series: "start 1 (best)", epoch: "1" });
    expect(loss.texts).toContain("Loss against epoch, 12 trials");

    const h = facts(read(path.join(fig2, "H_appl.svg")));
    expectPrintReady(h);
    expect(h.axisTitles).toEqual(["epoch", "H_appl [Oe]"]);
    expect(h.texts).toContain("teacher (true) H_appl");
    const j = facts(read(path.join(fig2, "j_DC.svg")));
    expectPrintReady(j);
    expect(j.axisTitles).toEqual(["epoch", "j_DC [mA]"]);
    // the CSV holds what is drawn, in the units drawn
    const jRows = table(read(path.join(fig2, "j_DC.csv")));
    expect(Object.keys(jRows[0])).toEqual(["series", "epoch", "j_DC_mA"]);
    expect(Number(jRows[0].j_DC_mA)).toBeCloseTo(4.8, 9);

    for (const n of names) {
      const png = execFileSync("file", ["-b", path.join(fig2, `${n}.png`)]).toString();
      expect(png).toMatch(/^PNG image data, 1004 x \d+/);
      const info = execFileSync("pdfinfo", [path.join(fig2, `${n}.pdf`)]).toString();
      expect(info).toMatch(/Pages:\s+1/);
      const [, w] = /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec(info)!;
      expect(Math.abs(Number(w) - COLUMN_PT)).toBeLessThan(1);
      // the text is set in the embedded font
      expect(execFileSync("pdffonts", [path.join(fig2, `${n}.pdf`)]).toString()).toMatch(/DejaVuSans.*yes/);
    }
  });

  it("teacher vs student: dense student (>= 10 points per period), residual panel, washout, CSV with the same data", () => {
    const s = read(path.join(fig2, "trajectory-after.svg"));
    const f = facts(s);
    expectPrintReady(f);
    expect(f.axisTitles).toEqual(["m_x", "t [ns]", "\u0394m_x"]);
    for (const t of ["washout (not in the loss)", "residual (teacher \u2212 student)"]) expect(f.texts).toContain(t);
    expect(f.texts.some((t) => t.startsWith("teacher: trial 0, 50 ps samples, T = 0 K"))).toBe(true);
    expect(f.texts.some((t) => t.startsWith("student fitted: RK4, 0.5 ps step"))).toBe(true);

    const rows = table(read(path.join(fig2, "trajectory-after.csv")));
    const of = (panel: string, series: string) => rows.filter((r) => r.panel === panel && r.series === series).map((r) => [Number(r.t_ns), Number(r.value)]);
    const te = of("m_x", "teacher");
    const st = of("m_x", "student");
    const res = of("residual m_x", "residual");
    expect(te.length).toBe(21); // 1 ns at 50 ps
    expect(res.length).toBe(te.length);
    // the drawn line is the CSV's student, point for point
    expect(f.linePoints[0]).toBe(st.length);
    expect(f.linePoints[1]).toBe(res.length);
    const ppp = pointsPerPeriod(st.map((p) => p[1]));
    expect(ppp).toBeGreaterThanOrEqual(10);
    expect(Number.isFinite(ppp)).toBe(true);
    // the dense student passes through the student the loss compares: residual = teacher - dense student at each sample
    for (let k = 0; k < te.length; k++) {
      const at = st.find((p) => Math.abs(p[0] - te[k][0]) < 1e-9)!;
      expect(at, `dense student at t = ${te[k][0]} ns`).toBeDefined();
      expect(res[k][1]).toBeCloseTo(te[k][1] - at[1], 6);
    }
  });

  it("plot re-renders a sysid result with every component, at page width; bad flags are refused", () => {
    const out = path.join(dir, "again");
    const r = runCli(["plot", fit, "-o", out, "--components", "all", "--size", "page"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).filter((n) => n.endsWith(".svg")).length).toBe(5);
    const f = facts(read(path.join(out, "trajectory-before.svg")));
    expectPrintReady(f, 17 * PT_PER_CM);
    expect(f.axisTitles).toEqual(["m_x", "m_y", "m_z", "t [ns]", "\u0394m"]);
    for (const [flag, value] of [
      ["--format", "svg,gif"],
      ["--size", "huge"],
    ]) {
      const bad = runCli(["plot", fit, "-o", out, flag, value]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(flag);
    }
    const notResult = runCli(["plot", path.join(ROOT, "package.json")]);
    expect(notResult.code).toBe(2);
    expect(notResult.stderr).toContain("not a stoopt result");
  });

  it("landscape: minimum at the true point, heatmap with the sysid path and the true point (Fig. 3)", () => {
    const out = path.join(dir, "fig3");
    const r = runCli([
      "landscape",
      teacher,
      "--x",
      "H_appl",
      "--y",
      "j_DC",
      "--grid",
      "41x41",
      "--trials",
      "4",
      "--result",
      fit,
      "-o",
      out,
      "--json",
      "--format",
      "svg,png",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    // the grid cell nearest the truth (1800 Oe, 5 mA) is the minimum
    expect(res.minimum.H_appl).toBeCloseTo(1800, 9);
    expect(res.minimum.j_DC).toBeCloseTo(5e-3, 12);
    expect(res.minimum.loss).toBeLessThan(1e-9);
    const grid = read(path.join(out, "landscape.csv")).trim().split("\n");
    expect(grid[0]).toBe("H_appl,j_DC,loss");
    expect(grid.length).toBe(1 + 41 * 41);
    const f = facts(read(path.join(out, "landscape.svg")));
    expectPrintReady(f);
    expect(f.axisTitles).toEqual(["H_appl [Oe]", "j_DC [mA]"]);
    for (const t of ["loss", "start", "end", "true"]) expect(f.texts).toContain(t);
    const overlay = table(read(path.join(out, "landscape-overlay.csv")));
    const truth = overlay.find((p) => p.point === "true")!;
    expect(Number(truth.H_appl_Oe)).toBe(1800);
    expect(Number(truth.j_DC_mA)).toBeCloseTo(5, 12);
    expect(execFileSync("file", ["-b", path.join(out, "landscape.png")]).toString()).toMatch(/^PNG image data, 2008 x/);
  });

  it("mnist: the accuracy legend states the test images the run used; physics and dynamics figures (Fig. 4, 8)", () => {
    const run = path.join(dir, "mnist-run");
    const out = path.join(dir, "fig4");
    const r = runCli([
      "mnist",
      "--n",
      "8",
      "--train-limit",
      "200",
      "--test-limit",
      "100",
      "--batch",
      "50",
      "--epochs",
      "1",
      "--threads",
      "1",
      "--out",
      run,
      "--plot",
      out,
      "--format",
      "svg,pdf",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const acc = facts(read(path.join(out, "accuracy.svg")));
    expectPrintReady(acc);
    expect(acc.axisTitles).toEqual(["epoch", "accuracy [%]"]);
    expect(acc.texts).toContain("test accuracy (100 test images)");
    expect(acc.texts).toContain("train accuracy (200 training images)");
    expect(execFileSync("pdfinfo", [path.join(out, "accuracy.pdf")]).toString()).toMatch(/Pages:\s+1/);
    const jdc = facts(read(path.join(out, "j_dc.svg")));
    expectPrintReady(jdc);
    expect(jdc.axisTitles).toEqual(["epoch", "j_DC [mA]"]);
    const v = facts(read(path.join(out, "h_appl_var.svg")));
    expect(v.axisTitles).toEqual(["epoch", "variance of H_appl [Oe\u00b2]"]);
    expect(facts(read(path.join(out, "alpha.svg"))).axisTitles).toEqual(["epoch", "alpha"]);
    const dyn = facts(read(path.join(out, "dynamics-after-mz.svg")));
    expectPrintReady(dyn);
    expect(dyn.axisTitles).toEqual(["t [ps]", "m_z"]);
    for (const t of ["STO 0", "STO 4"]) expect(dyn.texts).toContain(t);

    // re-plotting the paper run: 10000 test images, from its result
    const full = path.join(dir, "fig4-full");
    expect(runCli(["plot", path.join(ROOT, "results/full-cm10/result.json"), "-o", full, "--checkpoint", path.join(dir, "none.bin")]).code).toBe(0);
    expect(facts(read(path.join(full, "accuracy.svg"))).texts).toContain("test accuracy (10000 test images)");
    // and from a result that says 500
    const res500 = JSON.parse(read(path.join(ROOT, "results/full-cm10/result.json")));
    res500.data.test_images = 500;
    writeFileSync(path.join(dir, "r500.json"), JSON.stringify(res500));
    expect(runCli(["plot", path.join(dir, "r500.json"), "-o", path.join(dir, "fig4-500")]).code).toBe(0);
    expect(facts(read(path.join(dir, "fig4-500/accuracy.svg"))).texts).toContain("test accuracy (500 test images)");
  });
});
