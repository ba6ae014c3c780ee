/**
 * Issue 11, class 3: SIGINT and SIGTERM are honoured by every long-running
 * command in every thread mode: it stops within about a second (asserted
 * with slack for a loaded machine; the measured times are printed), writes
 * what it has whole, and exits 130 (SIGINT) or 143 (SIGTERM).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI, ROOT, runCli } from "./helpers.js";
import { snapshot, tinyData } from "./reliability.helpers.js";

/** how long a stop may take on a shared, loaded machine [ms]; the target is about 1 s */
const STOP_MS = 3000;

interface Run {
  code: number | null;
  stopMs: number;
  stdout: string;
  stderr: string;
}

/** Start the CLI, wait until `ready()` (polled) holds, send `signal`, and time the exit. */
async function signalWhen(args: string[], signal: NodeJS.Signals, ready: (stderr: string, stdout: string) => boolean, waitMs = 300): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => (stdout += b));
  child.stderr.on("data", (b) => (stderr += b));
  const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  let gone = false;
  void exited.then(() => (gone = true));
  const t0 = Date.now();
  while (!ready(stderr, stdout)) {
    if (gone) throw new Error(`finished before the signal: ${stderr}`);
    if (Date.now() - t0 > 120_000) throw new Error(`never ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, waitMs));
  if (gone) throw new Error(`finished before the signal: ${stderr}`);
  const sent = Date.now();
  child.kill(signal);
  const code = await exited;
  const stopMs = Date.now() - sent;
  console.log(`${args[0]} ${signal}: exit ${code} after ${stopMs} ms`);
  return { code, stopMs, stdout, stderr };
}

const working = (e: string) => e.includes(": working");
const CODE = { SIGINT: 130, SIGTERM: 143 } as const;
let dir = "";
let teacher = "";
let longTrials = "";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-sig-"));
  teacher = path.join(dir, "t.csv");
  expect(runCli(["simulate", "--trials", "100", "--washout", "1ns", "-o", teacher]).code).toBe(0);
  // two long trials: every evaluation is split into pieces on the main thread
  longTrials = path.join(dir, "long.csv");
  expect(runCli(["simulate", "--trials", "2", "--duration", "300ns", "-o", longTrials]).code).toBe(0);
});

// (--patience 0: every one of the 500 epochs runs, so the fit is still going when the signal comes)
describe("class 3: sysid stops at once and writes the fit so far, marked interrupted", () => {
  const cases: [string, NodeJS.Signals, () => string, string][] = [
    ["1 thread, SIGINT", "SIGINT", () => teacher, "1"],
    ["1 thread, SIGTERM", "SIGTERM", () => teacher, "1"],
    ["2 threads, SIGINT", "SIGINT", () => teacher, "2"],
    ["2 threads, SIGTERM", "SIGTERM", () => teacher, "2"],
    ["1 thread, two long trials (evaluation in pieces), SIGINT", "SIGINT", () => longTrials, "1"],
  ];
  for (const [name, sig, file, threads] of cases) {
    it(
      name,
      async () => {
        const out = path.join(dir, `fit-${sig}-${threads}-${path.basename(file())}.json`);
        const r = await signalWhen(
          ["sysid", file(), "--fit", "H_appl,j_DC,alpha", "--epochs", "500", "--patience", "0", "--threads", threads, "-o", out, "--json"],
          sig,
          working,
        );
        expect(r.code, r.stderr).toBe(CODE[sig]);
        expect(r.stopMs).toBeLessThan(STOP_MS);
        const res = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(res.status).toBe("interrupted");
        expect(JSON.parse(r.stdout).status).toBe("interrupted"); // stdout: the same result, whole
        for (const p of ["H_appl", "j_DC", "alpha"]) expect(Number.isFinite(res.fit[p].value)).toBe(true);
        expect(res.events.some((e: { kind: string; detail: string }) => e.kind === "interrupted" && e.detail.startsWith(sig))).toBe(true);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      },
      180_000,
    );
  }
});

describe("class 3: landscape stops at once and writes nothing (earlier files stay)", () => {
  for (const [sig, threads] of [
    ["SIGINT", "1"],
    ["SIGTERM", "2"],
  ] as [NodeJS.Signals, string][]) {
    it(`${threads} thread(s), ${sig}`, async () => {
      const out = fs.mkdtempSync(path.join(dir, "ls-"));
      fs.writeFileSync(path.join(out, "landscape.csv"), "earlier\n");
      const before = snapshot(out);
      const r = await signalWhen(["landscape", teacher, "--x", "H_appl", "--y", "j_DC", "--grid", "60x60", "--threads", threads, "-o", out], sig, working);
      expect(r.code, r.stderr).toBe(CODE[sig]);
      expect(r.stopMs).toBeLessThan(STOP_MS);
      expect(r.stderr).toContain("nothing was written");
      expect(snapshot(out)).toEqual(before);
    }, 180_000);
  }
});

describe("class 3: simulate stops at once; stdout keeps whole rows, a file is not created", () => {
  it("SIGINT, to stdout", async () => {
    const r = await signalWhen(["simulate", "--trials", "300", "--washout", "2000ns"], "SIGINT", (e, o) => o.length > 0 || e.length > 0, 1500);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stdout.startsWith("trial,t,mx,my,mz\n")).toBe(true);
    expect(r.stdout.endsWith("\n")).toBe(true);
    for (const line of r.stdout.trim().split("\n").slice(1)) expect(line.split(",")).toHaveLength(5);
    expect(r.stderr).toMatch(/interrupted by SIGINT: stdout has the header and \d+ whole rows/);
  }, 180_000);
  it("SIGTERM, to a file: neither it nor its sidecar appears", async () => {
    const out = fs.mkdtempSync(path.join(dir, "sim-"));
    // ready once the temporary file exists
    const r = await signalWhen(
      ["simulate", "--trials", "300", "--washout", "2000ns", "-o", path.join(out, "a.csv")],
      "SIGTERM",
      () => fs.readdirSync(out).length > 0,
      1000,
    );
    expect(r.code, r.stderr).toBe(143);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(fs.readdirSync(out)).toEqual([]); // no file, no sidecar, no temporary file
  }, 180_000);
});

describe("class 3: mnist stops at once at a consistent checkpoint", () => {
  let data = "";
  beforeAll(() => {
    data = tinyData();
  });
  const args = (out: string) => ["mnist", "--data", data, "--n", "64", "--epochs", "50", "--batch", "10", "--threads", "2", "--out", out];
  it("SIGINT after the first epoch: DIR keeps it whole, eval reads it, --resume continues", async () => {
    const out = path.join(dir, "run-int");
    const epochDone = () => fs.existsSync(path.join(out, "result.json"));
    const r = await signalWhen(args(out), "SIGINT", () => epochDone(), 200);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stderr).toMatch(/interrupted by SIGINT during epoch \d+: .* keeps epoch \d+ \(continue with --resume/);
    expect(fs.readdirSync(out).sort()).toEqual(["checkpoint.bin", "metrics.csv", "result.json"]);
    const done = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8")).epochs_done;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(fs.readFileSync(path.join(out, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(done + 1);
    const e = runCli(["eval", path.join(out, "checkpoint.bin"), "--data", data, "--json", "--threads", "1"]);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).epochs).toBe(done);
  }, 180_000);
  it("SIGTERM before any epoch finished: nothing written", async () => {
    const out = path.join(dir, "run-term");
    // 2000 training images over 10 ns (200 RK4 steps, 20x the default): an epoch of several
    // seconds even on a fast machine (at the default 0.5 ns one took 0.3 s on CI, and the signal
    // sent 0.3 s after the header landed in epoch 2), so the signal lands inside the first
    const big = tinyData(2000, 20);
    const r = await signalWhen([...args(out).map((a) => (a === data ? big : a)), "--duration", "10ns"], "SIGTERM", (e) => e.includes("stoopt mnist: N="), 300);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stderr).toContain("no epoch finished; nothing was written");
    expect(fs.existsSync(out)).toBe(false);
  }, 180_000);
});

describe("class 3: spectrum --sweep stops at once and writes nothing (earlier files stay)", () => {
  for (const [sig, threads] of [
    ["SIGINT", "1"],
    ["SIGTERM", "2"],
  ] as [NodeJS.Signals, string][]) {
    it(`${threads} thread(s), ${sig}`, async () => {
      const out = fs.mkdtempSync(path.join(dir, "spec-"));
      fs.writeFileSync(path.join(out, "s.csv"), "earlier\n");
      fs.mkdirSync(path.join(out, "fig"));
      const before = snapshot(out);
      const r = await signalWhen(
        [
          "spectrum",
          "--sweep",
          // 251 points: about 1.2 s of work on 2 threads here (101 points took 0.5 s, close to
          // the 0.3 s after which the signal comes)
          "j_DC=2.5mA:7.5mA:0.02mA",
          "--max-washout",
          "400ns",
          "--threads",
          threads,
          "-o",
          path.join(out, "s.csv"),
          "--plot",
          path.join(out, "fig"),
        ],
        sig,
        working,
      );
      expect(r.code, r.stderr).toBe(CODE[sig]);
      expect(r.stopMs).toBeLessThan(STOP_MS);
      expect(r.stderr).toMatch(new RegExp(`interrupted by ${sig}: the sweep was not finished \\(\\d+ of 251 points\\); nothing was written`));
      expect(r.stdout).toBe("");
      expect(snapshot(out)).toEqual(before);
    }, 180_000);
  }
});

describe("class 3: reservoir stops at once; --out keeps the last finished epoch", () => {
  const args = (out: string) => ["reservoir", "--n", "50", "--train", "4000", "--epochs", "50", "--out", out];
  it("SIGINT after an epoch: DIR keeps it whole and --resume continues", async () => {
    const out = path.join(dir, "res-int");
    const r = await signalWhen(args(out), "SIGINT", () => fs.existsSync(path.join(out, "checkpoint.json")), 200);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stderr).toMatch(/interrupted by SIGINT: .*res-int keeps epoch \d+ \(continue with --resume/);
    expect(fs.readdirSync(out).sort()).toEqual(["checkpoint.json", "metrics.csv", "predictions.csv", "result.json"]);
    const ck = JSON.parse(fs.readFileSync(path.join(out, "checkpoint.json"), "utf8"));
    const res = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(res.epochs_done).toBe(ck.epochs_done);
    expect(ck.history).toHaveLength(ck.epochs_done + 1); // epoch 0 (untuned) and every tuned epoch
    expect(fs.readFileSync(path.join(out, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(ck.epochs_done + 2);
    const again = runCli(["reservoir", "--resume", out, "--epochs", String(ck.epochs_done + 1)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`resuming ${out} after epoch ${ck.epochs_done}`);
  }, 180_000);
  it("SIGTERM before the first tuned epoch finished: nothing written", async () => {
    const out = path.join(dir, "res-term");
    // 2.5x the training holds: a tuned epoch of about 1 s here (0.3-0.5 s with --train 4000),
    // so the signal lands inside the first even on a fast machine; a stop waits for the end of
    // the pass under way, so longer passes would stop later
    const long = args(out).map((a) => (a === "4000" ? "10000" : a));
    const r = await signalWhen(long, "SIGTERM", (e) => e.includes("epoch 0 (untuned)"), 100);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stderr).toContain("interrupted by SIGTERM: no tuned epoch finished; nothing was written");
    expect(fs.existsSync(out)).toBe(false);
  }, 180_000);
  it("--model esn, SIGINT during the search: exit 130, nothing on stdout", async () => {
    const r = await signalWhen(["reservoir", "--model", "esn", "--n", "50", "--json"], "SIGINT", (e) => e.includes("ESN, 50 tanh nodes"), 1000);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("interrupted by SIGINT: no --out, nothing was kept");
  }, 180_000);
});

describe("class 3: sysid --spectrum stops at once and writes nothing", () => {
  it("1 thread, SIGTERM", async () => {
    const out = fs.mkdtempSync(path.join(dir, "fsp-"));
    const table = path.join(out, "f.csv");
    expect(runCli(["spectrum", "--sweep", "j_DC=4mA:7mA:0.25mA", "--no-threshold", "--threads", "1", "-o", table]).code).toBe(0);
    const before = snapshot(out);
    const r = await signalWhen(
      [
        "sysid",
        "--spectrum",
        table,
        "--fit",
        "H_appl,alpha",
        "--init",
        "H_appl=1600Oe",
        "--spectrum-window",
        "60ns",
        "--threads",
        "1",
        "-o",
        path.join(out, "fit.json"),
      ],
      "SIGTERM",
      working,
      1000,
    );
    expect(r.code, r.stderr).toBe(143);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.stderr).toContain("interrupted by SIGTERM: the frequency fit was not finished; nothing was written");
    expect(snapshot(out)).toEqual(before);
  }, 180_000);
});
