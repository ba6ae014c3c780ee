import { describe, expect, it } from "vitest";
import { execSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, runCli } from "./helpers.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "stoopt-sysid-"));

describe("stoopt sysid", () => {
  it("runs the README pipeline as written: simulate | sysid --json | jq", () => {
    const out = execSync(
      "node dist/cli/main.js simulate --H_appl 1820 --trials 20 --washout 100ns | node dist/cli/main.js sysid - --fit H_appl --json | jq .fit.H_appl.value",
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    ).toString();
    const v = Number(out.trim());
    expect(Math.abs(v - 1820)).toBeLessThan(0.01 * 500); // within 1% of the range
  });

  it("recovers H_appl and j_DC together with --starts, and the JSON holds what a pipeline needs", () => {
    const dir = tmp();
    const teacher = path.join(dir, "t.csv");
    expect(runCli(["simulate", "--H_appl", "1640Oe", "--j_DC", "6.1mA", "--trials", "100", "--washout", "100ns", "-o", teacher]).code).toBe(0);
    const r = runCli([
      "sysid",
      teacher,
      "--fit",
      "H_appl,j_DC",
      "--starts",
      "4",
      "--json",
      "--history",
      path.join(dir, "h.csv"),
      "-o",
      path.join(dir, "r.json"),
    ]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(path.join(dir, "r.json"), "utf8"))).toEqual(res);
    expect(res.fit.H_appl.unit).toBe("Oe");
    expect(res.fit.j_DC.unit).toBe("A");
    expect(Math.abs(res.fit.H_appl.value - 1640) / 500).toBeLessThan(0.01);
    expect(Math.abs(res.fit.j_DC.value - 6.1e-3) / 5e-3).toBeLessThan(0.01);
    expect(res.fit.H_appl.true).toBe(1640); // from the simulate sidecar
    for (const k of ["start", "uncertainty", "range"]) expect(res.fit.H_appl).toHaveProperty(k);
    expect(res.loss).toBeLessThan(0.01);
    expect(res.starts.length).toBe(4);
    expect(res.input.sha256).toMatch(/^[0-9a-f]{64}$/);
    const hist = readFileSync(path.join(dir, "h.csv"), "utf8").trim().split("\n");
    expect(hist[0]).toBe("start,stage,epoch,loss,H_appl,j_DC,lr_H_appl,lr_j_DC");
    // one row per epoch each start ran: all 20, or fewer where Adam handed over on a plateau (--patience)
    const ran = res.starts.map((st: { epochs: number; plateau: boolean }) => st.epochs);
    expect(hist.length).toBe(1 + ran.reduce((a: number, b: number) => a + b, 0));
    res.starts.forEach((st: { start: number; epochs: number; plateau: boolean }) => {
      expect(st.epochs).toBeLessThanOrEqual(20);
      expect(st.plateau).toBe(st.epochs < 20);
      expect(res.events.some((e: { start: number; kind: string }) => e.start === st.start && e.kind === "plateau")).toBe(st.plateau);
    });
    expect(r.stderr).toContain("parameter");
  });

  it("gives the same fit with dual and adjoint gradients, and with 1 and 2 threads", () => {
    const dir = tmp();
    const teacher = path.join(dir, "t.csv");
    runCli(["simulate", "--alpha", "0.008", "--trials", "8", "--washout", "20ns", "-o", teacher]);
    const fit = (extra: string[]) => JSON.parse(runCli(["sysid", teacher, "--fit", "alpha", "--epochs", "5", "--json", "-q", ...extra]).stdout).fit.alpha.value;
    const a = fit(["--gradient", "dual", "--threads", "1"]);
    expect(Math.abs(fit(["--gradient", "adjoint", "--threads", "1"]) - a)).toBeLessThan(1e-9 * a);
    expect(Math.abs(fit(["--gradient", "dual", "--threads", "2"]) - a)).toBeLessThan(1e-9 * a);
  });

  it("runs the supplement's staged schedule", () => {
    const dir = tmp();
    const teacher = path.join(dir, "t.csv");
    runCli(["simulate", "--H_appl", "1825Oe", "--j_DC", "4mA", "--alpha", "0.0055", "--trials", "20", "--washout", "100ns", "-o", teacher]);
    const r = runCli([
      "sysid",
      teacher,
      "--fit",
      "H_appl,j_DC",
      "--init",
      "j_DC=4.2mA",
      "--stage",
      "H_appl=25@loss<0.15,epochs=30",
      "--stage",
      "H_appl=2.5,j_DC=2.5e-4@epochs=10",
      "--json",
      "-q",
    ]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.settings.stages).toEqual([
      { lr: { H_appl: 25 }, untilLoss: 0.15, epochs: 30 },
      { lr: { H_appl: 2.5, j_DC: 2.5e-4 }, epochs: 10 },
    ]);
    const stages = new Set(res.history.map((h: { stage: number }) => h.stage));
    expect(stages).toEqual(new Set([0, 1]));
    const first = res.history.filter((h: { stage: number }) => h.stage === 0);
    // stage 1 ends as soon as an epoch's loss is below 0.15 (or after 30 epochs)
    expect(first.length === 30 || first[first.length - 1].loss < 0.15).toBe(true);
    // j_DC is not in the first stage: it stays at its start
    expect(first.every((h: { values: { j_DC: number } }) => Math.abs(h.values.j_DC - 4.2e-3) < 1e-15)).toBe(true);
  });

  it("never writes NaN for a pathological teacher (a step function in mx)", () => {
    const lines = ["trial,t,mx,my,mz"];
    for (let i = 0; i < 4; i++) for (let k = 0; k <= 20; k++) lines.push(`${i},${k * 5e-11},${k < 10 ? -1 : 1},0,${k === 0 ? 1 : 0}`);
    const r = runCli(["sysid", "-", "--fit", "alpha,H_appl", "--epochs", "3", "--json", "-q"], { input: lines.join("\n") + "\n" });
    expect([0, 1]).toContain(r.code);
    expect(r.stdout).not.toMatch(/NaN|Infinity/);
    const res = JSON.parse(r.stdout);
    expect(Number.isFinite(res.loss)).toBe(true);
    expect(res.fit.alpha.value).toBeGreaterThanOrEqual(0.001);
    expect(res.fit.alpha.value).toBeLessThanOrEqual(0.01);
  });

  it("explains what is missing when the teacher has only mx", () => {
    const r = runCli(["sysid", "-", "--fit", "H_appl"], { input: "t,mx\n0,0.1\n5e-11,0.2\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("needs columns my and mz");
  });

  it("rejects bad settings with one line and exit code 2", () => {
    const teacher = path.join(ROOT, "fixtures/teacher-small.csv");
    const cases: [string[], string][] = [
      [["--fit", "H_appl,bogus"], "--fit: unknown parameter 'bogus'"],
      [["--fit", "alpha", "--range", "alpha=0.01:0.001"], "--range: empty range for alpha"],
      [["--fit", "alpha", "--range", "alpha=-0.01:0.01"], "--range alpha: alpha = -0.01 is outside its physical bounds"],
      [["--fit", "M", "--range", "M=0:2000"], "--range M: M = 0 is outside its physical bounds"],
      [["--fit", "eta,j_DC"], "eta and j_DC enter the model only as the product"],
      [["--fit", "H_K"], "--range: H_K has no default range"],
      [["--fit", "alpha", "--gradient", "magic"], "--gradient: 'magic' is not one of dual, adjoint"],
      [["--fit", "H_appl", "--range", "H_appl=1500mA:2000Oe"], "'mA' is a unit of current, not of magnetic field"],
      [["--fit", "H_appl", "--stage", "H_appl=25@loss>3"], "unknown stage condition"],
      [["--fit", "H_appl", "--H_appl", "1800"], "--H_appl: H_appl is fitted"],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(["sysid", teacher, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
  });

  it("reads only the first N trials with --trials", () => {
    const r = runCli(["sysid", path.join(ROOT, "fixtures/teacher-small.csv"), "--fit", "H_appl", "--trials", "2", "--epochs", "1", "--json", "-q"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).input.trials).toBe(2);
  });

  it("writes the result so far and exits 130 on SIGINT", async () => {
    const dir = tmp();
    const teacher = path.join(dir, "t.csv");
    runCli(["simulate", "--trials", "100", "--washout", "1ns", "-o", teacher]);
    const { spawn } = await import("node:child_process");
    const out = path.join(dir, "r.json");
    const child = spawn(
      process.execPath,
      ["dist/cli/main.js", "sysid", teacher, "--fit", "H_appl,j_DC,alpha", "--epochs", "500", "--patience", "0", "-o", out],
      {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    // a long fit (every one of 500 epochs: no plateau hand-over), interrupted once it has started (on a loaded machine start-up alone can take seconds)
    let err = "";
    await new Promise<void>((r) => child.stderr!.on("data", (b) => ((err += b), err.includes(": working") && r())));
    await new Promise((r) => setTimeout(r, 1000));
    child.kill("SIGINT");
    const code = await exited;
    expect(code).toBe(130);
    const res = JSON.parse(readFileSync(out, "utf8"));
    expect(res.status).toBe("interrupted");
    expect(res.events.some((e: { kind: string }) => e.kind === "interrupted")).toBe(true);
    writeFileSync(path.join(dir, "done"), "");
  });
});
