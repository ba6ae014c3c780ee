/**
 * The sysid report: the text layout (golden file), the JSON schema, and the
 * CLI behaviour a user relies on (bounds, sidecar provenance, unit sanity,
 * several files).
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Ajv from "ajv";
import { ROOT, runCli } from "./helpers.js";
import { fitReport, resultTable, SysidResult } from "../cli/render/sysid.js";
import { PARAMS, parseParamValue } from "../cli/model.js";
import { parseRange } from "../cli/options/teacher.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "stoopt-report-"));
const schema = JSON.parse(readFileSync(path.join(ROOT, "schemas/sysid-result.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const valid = (x: unknown) => {
  const ok = validate(x);
  return ok ? "" : JSON.stringify(validate.errors);
};

/** A fixed result, as the CLI would produce it, for the layout. */
export function sampleResult(): SysidResult {
  return {
    stoopt: "0.1.0",
    command: "sysid",
    status: "at_bound",
    input: { file: "teacher.csv", sha256: "0123456789abcdef".repeat(4), trials: 100, samples: 2100, truncated: false },
    settings: {
      fit: ["H_appl", "j_DC", "alpha"],
      dt_s: 5e-13,
      washout_s: 5e-10,
      epochs: 20,
      batch: 10,
      gradient: "dual",
      refine: "lm",
      ftol: 1e-10,
      xtol: 1e-10,
      gtol: 1e-10,
      max_iterations: 200,
      sigma: null,
      starts: 4,
      seed: 1,
      lr_scale: 0.1,
      max_failures: 8,
      threads: 2,
      scale: 1,
      stages: [{ lr: { H_appl: 50, j_DC: 5e-4, alpha: 9e-4 }, epochs: 20 }],
      fixed: { gamma: { value: 1.764e7, unit: "rad/(Oe s)" } },
    },
    objective: "least_squares",
    fit: {
      H_appl: {
        value: 1700,
        unit: "Oe",
        start: 1850,
        uncertainty: 0.0123,
        stderr: 0.0123,
        relative_error: 0.0123 / 1700,
        uncertainty_statistical: 0.0123,
        uncertainty_numerical: 4.5e-13,
        range: [1700, 2000],
        at_bound: true,
        true: 1650,
      },
      j_DC: {
        value: 0.0061234567,
        unit: "A",
        start: 0.005,
        uncertainty: 2.5e-7,
        stderr: 2.5e-7,
        relative_error: 2.5e-7 / 0.0061234567,
        uncertainty_statistical: 2.5e-7,
        uncertainty_numerical: 1.7e-18,
        range: [0.0025, 0.0075],
        at_bound: false,
        true: 0.0062,
      },
      alpha: {
        value: 0.00412,
        unit: "",
        start: 0.0055,
        uncertainty: 3.1e-6,
        stderr: 3.1e-6,
        relative_error: 3.1e-6 / 0.00412,
        uncertainty_statistical: 3.1e-6,
        uncertainty_numerical: 1.7e-18,
        range: [0.001, 0.01],
        at_bound: false,
        true: 0.004,
      },
    },
    parameters: {
      gamma: { value: 1.764e7, unit: "rad/(Oe s)", source: "default" },
      H_appl: { value: 1700, unit: "Oe", source: "fit", sidecar: 1650 },
      M: { value: 1448.3, unit: "emu/cm3", source: "sidecar", sidecar: 1448.3 },
      j_DC: { value: 0.0061234567, unit: "A", source: "fit", sidecar: 0.0062 },
      eta: { value: 0.6, unit: "", source: "flag", sidecar: 0.537 },
      alpha: { value: 0.00412, unit: "", source: "fit", sidecar: 0.004 },
    },
    loss: 0.0123,
    sum_sq: 0.456,
    statistics: {
      n_data: 1100,
      n_free: 3,
      dof: 1097,
      loss_eq4: 0.0123,
      sum_sq: 0.456,
      chi_square: 0.456,
      reduced_chi_square: 0.456 / 1097,
      aic: 1100 * Math.log(0.456 / 1100) + 6,
      bic: 1100 * Math.log(0.456 / 1100) + 3 * Math.log(1100),
      sigma: Math.sqrt(0.456 / 1097),
      sigma_source: "estimated",
    },
    covariance: {
      names: ["H_appl", "j_DC", "alpha"],
      matrix: [
        [1.5e-4, 2e-9, -3e-8],
        [2e-9, 6.25e-14, 1e-13],
        [-3e-8, 1e-13, 9.61e-12],
      ],
    },
    correlation: {
      names: ["H_appl", "j_DC", "alpha"],
      matrix: [
        [1, 0.6532, -0.7952],
        [0.6532, 1, 0.05],
        [-0.7952, 0.05, 1],
      ],
    },
    convergence: {
      converged: true,
      reason: "xtol",
      message: "converged: scaled step 2.60e-11 <= xtol * (|x| + xtol), xtol = 1e-10 (xtol); 1 variable at a bound",
      lm_iterations: 9,
      lm_evaluations: 11,
    },
    epochs: 20,
    best_start: 2,
    time_s: 12.3,
    uncertainty_method: "Gauss-Newton covariance (see the README)",
    warnings: [
      "H_appl = 1700 is on the lower bound of its range 1700:2000: the best fit may lie outside; widen --range",
      "--eta 0.6 differs from the teacher sidecar's eta = 0.537 (the flag is used)",
    ],
    notes: ["M fixed at 1448.3 emu/cm3 from the teacher sidecar"],
    starts: [0, 1, 2, 3].map((k) => ({
      start: k,
      startValues: { H_appl: 1850 },
      values: { H_appl: 1700 },
      loss: 0.0123 * (k + 1),
      lsqValues: { H_appl: 1700 },
      sumSq: 0.456 * (k + 1),
      epochs: 20,
      status: "ok",
    })),
    events: [],
    history: [],
  };
}

describe("sysid text report", () => {
  it("keeps the layout of the golden file (lmfit's fit_report sections)", () => {
    const file = path.join(ROOT, "fixtures/golden/sysid-report.txt");
    const text = fitReport(sampleResult()) + "\n" + resultTable(sampleResult());
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, text); // deliberate layout changes only
    const golden = readFileSync(file, "utf8");
    expect(text).toBe(golden);
    for (const section of [
      "[[Fit Statistics]]",
      "[[Variables]]",
      "[[Correlations]]",
      "[[Warnings]]",
      "chi-square",
      "reduced chi-square",
      "Akaike info crit",
      "Bayesian info crit",
      "# data points",
      "# variables",
    ])
      expect(text).toContain(section);
  });
});

describe("sysid result JSON schema", () => {
  it("accepts the sample and a real result, and rejects a result missing a documented field", () => {
    expect(valid(sampleResult())).toBe("");
    const r = runCli(["sysid", path.join(ROOT, "fixtures/teacher-small.csv"), "--fit", "H_appl", "--epochs", "2", "--json", "-q"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(valid(res)).toBe("");
    const { statistics: _s, ...without } = res;
    expect(valid(without)).not.toBe("");
    expect(valid({ ...res, status: "fine" })).not.toBe("");
  });
});

describe("unit sanity (table-driven)", () => {
  const P = (n: string) => PARAMS.find((p) => p.name === n)!;
  const refused: [string, string, string][] = [
    ["j_DC", "5", "did you mean 5mA?"],
    ["j_DC", "6.2", "did you mean 6.2mA?"],
    ["j_DC", "-4", "did you mean -4mA?"],
    ["H_appl", "1.8e6", "did you mean 1.8e6A/m?"],
    ["H_K", "2e6", "did you mean 2e6A/m?"],
    ["M", "1.15e6", "did you mean 1.15e6A/m?"],
    ["d", "2", "did you mean 2nm?"],
    ["R", "60", "did you mean 60nm?"],
    ["alpha", "5.5", "implausible for the Gilbert damping"],
  ];
  it.each(refused)("--%s %s is refused with a hint", (name, text, hint) => {
    expect(() => parseParamValue(P(name), text, `--${name}`)).toThrow(hint);
  });
  const accepted: [string, string, number][] = [
    ["j_DC", "5A", 5],
    ["j_DC", "5mA", 5e-3],
    ["j_DC", "0.005", 5e-3],
    ["H_appl", "1800", 1800],
    ["H_appl", "1.8e6Oe", 1.8e6],
    ["d", "2nm", 2e-7],
    ["alpha", "0.9", 0.9],
  ];
  it.each(accepted)("--%s %s is accepted", (name, text, value) => {
    expect(parseParamValue(P(name), text, `--${name}`)).toBeCloseTo(value, 15);
  });
  it("checks ranges the same way", () => {
    expect(() => parseRange("j_DC=2.5:7.5", "--range")).toThrow("did you mean j_DC=2.5mA:7.5mA?");
    expect(parseRange("j_DC=2.5mA:7.5mA", "--range")[1]).toEqual([2.5e-3, 7.5e-3]);
    expect(parseRange("j_DC=2.5A:7.5A", "--range")[1]).toEqual([2.5, 7.5]);
  });
  it("refuses on the command line with one line and exit 2, before any work", () => {
    const teacher = path.join(ROOT, "fixtures/teacher-small.csv");
    const cases: [string[], string][] = [
      [
        ["sysid", teacher, "--fit", "H_appl", "--j_DC", "5"],
        "--j_DC: 5 read as 5 A is implausible for the current (|j_DC| <= 0.1 A expected); did you mean 5mA?",
      ],
      [["sysid", teacher, "--fit", "j_DC", "--range", "j_DC=2.5:7.5"], "did you mean j_DC=2.5mA:7.5mA?"],
      [["sysid", teacher, "--fit", "j_DC", "--init", "j_DC=5"], "did you mean j_DC=5mA?"],
      [["sysid", teacher, "--fit", "H_appl", "--alpha", "2"], "--alpha: alpha = 2 is implausible"],
      [["simulate", "--j_DC", "5"], "did you mean 5mA?"],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
  });
});

describe("stoopt sysid traps and many files", () => {
  const dir = tmp();
  const teacher = path.join(dir, "a.csv");
  const small = ["--trials", "8", "--washout", "20ns"];
  runCli(["simulate", "--H_appl", "1650Oe", "--alpha", "0.004", ...small, "-o", teacher]);

  it("a fit that ends on its bound exits 0 with status at_bound and a visible warning", () => {
    const r = runCli(["sysid", teacher, "--fit", "H_appl", "--range", "H_appl=1700:2000", "--epochs", "3", "--json"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.status).toBe("at_bound");
    expect(res.fit.H_appl.value).toBe(1700);
    expect(res.fit.H_appl.at_bound).toBe(true);
    expect(r.stderr).toMatch(/warning: H_appl = 1700 is on the lower bound/);
    expect(r.stderr).toMatch(/status at_bound/);
  });

  it("takes fixed parameters from the teacher sidecar with a note, and warns when a flag contradicts it", () => {
    const r = runCli(["sysid", teacher, "--fit", "H_appl", "--epochs", "2", "--json"]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.parameters.alpha).toEqual({ value: 0.004, unit: "", source: "sidecar", sidecar: 0.004 });
    expect(res.parameters.j_DC.source).toBe("sidecar");
    expect(res.parameters.H_appl.source).toBe("fit");
    expect(res.settings.fixed.alpha.value).toBe(0.004);
    expect(r.stderr).toContain("note: alpha fixed at 0.004 from the teacher sidecar (default 0.0055)");
    expect(Math.abs(res.fit.H_appl.value - 1650)).toBeLessThan(1e-6);
    const f = runCli(["sysid", teacher, "--fit", "H_appl", "--alpha", "0.0055", "--epochs", "2", "--json"]);
    const fr = JSON.parse(f.stdout);
    expect(fr.parameters.alpha).toEqual({ value: 0.0055, unit: "", source: "flag", sidecar: 0.004 });
    expect(f.stderr).toContain("warning: --alpha 0.0055 differs from the teacher sidecar's alpha = 0.004 (the flag is used)");
    // without a sidecar: defaults
    const n = runCli(["sysid", "-", "--fit", "H_appl", "--epochs", "1", "--json", "-q"], { input: readFileSync(teacher) });
    expect(JSON.parse(n.stdout).parameters.alpha.source).toBe("default");
  });

  it("fits several files: one JSON line each, a bad file reported, the others fitted, exit 1", () => {
    const b = path.join(dir, "b.csv");
    runCli(["simulate", "--H_appl", "1820Oe", ...small, "-o", b]);
    const bad = path.join(dir, "bad.csv");
    writeFileSync(bad, "trial,t,mx,my,mz\n0,0,0.1,0.2\n");
    const r = runCli(["sysid", teacher, bad, b, "--fit", "H_appl", "--epochs", "2", "--json"]);
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.length).toBe(3);
    const byFile = Object.fromEntries(lines.map((l) => [l.input.file, l]));
    expect(byFile[bad].status).toBe("error");
    expect(byFile[bad].error).toContain("bad.csv:2");
    expect(Math.abs(byFile[teacher].fit.H_appl.value - 1650)).toBeLessThan(1e-6);
    expect(Math.abs(byFile[b].fit.H_appl.value - 1820)).toBeLessThan(1e-6);
    for (const f of [teacher, b]) expect(valid(byFile[f])).toBe("");
    expect(r.stderr).toContain("2 of 3 files fitted, 1 failed");
    // CSV on stdout without --json: one row per file
    const c = runCli(["sysid", teacher, b, "--fit", "H_appl", "--epochs", "1", "-q"]);
    expect(c.code).toBe(0);
    const rows = c.stdout.trim().split("\n");
    expect(rows[0].startsWith("file,status,error,H_appl,H_appl_stderr,H_appl_at_bound,loss")).toBe(true);
    expect(rows.length).toBe(3);
  });
});
