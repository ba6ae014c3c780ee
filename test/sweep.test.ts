/**
 * Issue 14: `stoopt sweep` with the local executor (no Slurm needed): the small
 * sweep and its table, a second sweep over a finished folder runs nothing, a sweep
 * stopped by SIGTERM continues to the uninterrupted result, bad specs are refused
 * before anything is written, and the sbatch script of --executor slurm --dry-run.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI, ROOT, runCli } from "./helpers.js";
import { checkCollect, epochsDone, expectSameRun, LONG_MNIST, SMALL_MNIST, status, waitFor } from "./sweep-helpers.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-sweep-"));

function specIn(dir: string, text: string, name = "spec.yaml"): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** Every file of a folder tree with its modification time. */
function snapshot(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = st.mtimeMs;
    }
  };
  walk(dir);
  return out;
}

describe("stoopt sweep, local executor", () => {
  it("runs 2 tune cases x 2 seeds, collects mean and std over seeds, and a second sweep runs nothing", () => {
    const dir = tmp();
    const spec = specIn(dir, SMALL_MNIST);
    const out = path.join(dir, "grid");
    const r = runCli(["sweep", spec, "--out", out, "--jobs", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expect(fs.readdirSync(out).sort()).toEqual(["sweep.json", "tune=full_seed=1", "tune=full_seed=2", "tune=win,wout_seed=1", "tune=win,wout_seed=2"]);
    const cell = JSON.parse(fs.readFileSync(path.join(out, "tune=win,wout_seed=2", "cell.json"), "utf8"));
    expect(cell.values).toEqual({ tune: "win,wout", seed: 2 });
    expect(cell.argv).toEqual([
      "--n",
      "20",
      "--train-limit",
      "300",
      "--test-limit",
      "200",
      "--epochs",
      "1",
      "--tune",
      "win,wout",
      "--seed",
      "2",
      "--threads",
      "1",
    ]);
    const res = JSON.parse(fs.readFileSync(path.join(out, "tune=win,wout_seed=2", "result.json"), "utf8"));
    expect(res.config.tune).toBe("win,wout");
    expect(res.config.seed).toBe("2");
    const st = status(out);
    expect(st.counts).toEqual({ done: 4 });
    const rows = checkCollect(out);
    // two seeds give two different networks
    expect(Number(rows[0].test_accuracy_pct_std)).toBeGreaterThan(0);

    const before = snapshot(out);
    const again = runCli(["sweep", spec, "--out", out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/nothing to run/);
    expect(again.stderr).not.toMatch(/started|resumed/);
    const after = snapshot(out);
    // only sweep.json is rewritten; no cell file changed
    for (const [f, t] of Object.entries(before)) if (f !== "sweep.json") expect(after[f], f).toBe(t);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  });

  it("a sweep stopped by SIGTERM mid-run continues with --resume to the same result as an uninterrupted run", async () => {
    const dir = tmp();
    const spec = specIn(dir, LONG_MNIST);
    const out = path.join(dir, "stopped");
    const cellDir = path.join(out, "seed=3");
    const child = spawn(process.execPath, [CLI, "sweep", spec, "--out", out], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    await waitFor("the first epoch", () => epochsDone(cellDir) >= 1, 120_000, 100);
    expect(epochsDone(cellDir)).toBeLessThan(5);
    const running = status(out).cells[0];
    expect(running.state).toBe("running");
    expect(running.detail).toMatch(/^\d\/5 epochs; on /);
    child.kill("SIGTERM");
    expect(await exited, err).toBe(143);
    const ex = JSON.parse(fs.readFileSync(path.join(cellDir, "exit.json"), "utf8"));
    expect(ex.stopped).toBe(true);
    expect(fs.existsSync(path.join(cellDir, "run.json"))).toBe(false);
    expect(status(out).cells[0].state).toBe("stopped");

    const again = runCli(["sweep", spec, "--out", out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/seed=3: resumed/);
    expect(fs.readFileSync(path.join(cellDir, "log.txt"), "utf8")).toMatch(/stoopt mnist --resume .*seed=3 --threads 1/);
    expect(status(out).counts).toEqual({ done: 1 });

    // the uninterrupted run, by hand
    const ref = path.join(dir, "ref");
    fs.mkdirSync(ref);
    const r = runCli([
      "mnist",
      "--n",
      "100",
      "--train-limit",
      "5000",
      "--test-limit",
      "300",
      "--batch",
      "50",
      "--epochs",
      "5",
      "--tune",
      "full",
      "--seed",
      "3",
      "--threads",
      "1",
      "--out",
      ref,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expectSameRun(cellDir, ref);
  });

  it("a cell whose run fails is reported failed with its log; the sweep exits 1 and the other cells finish", () => {
    const dir = tmp();
    // --val 70000 is more than the 60,000 training images: stoopt mnist refuses it when it starts
    const spec = specIn(dir, "command: mnist\nflags: {n: 20, train-limit: 100, test-limit: 100, epochs: 1}\naxes:\n  val: [70000, 0]\n");
    const out = path.join(dir, "grid");
    const r = runCli(["sweep", spec, "--out", out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/val=70000: failed \(exit 2\)/);
    const st = status(out);
    expect(st.counts).toEqual({ done: 1, failed: 1 });
    const bad = st.cells.find((c) => c.name === "val=70000")!;
    expect(bad.state).toBe("failed");
    expect(bad.detail).toMatch(/exit 2, see log\.txt/);
    expect(fs.readFileSync(path.join(out, "val=70000", "log.txt"), "utf8")).toMatch(/stoopt: error: --val: 70000 is out of range/);
  });

  it("runs sysid over teachers and tabulates the fitted values with their units", () => {
    const dir = tmp();
    fs.copyFileSync(path.join(ROOT, "fixtures/teacher.csv"), path.join(dir, "teacher.csv"));
    fs.copyFileSync(path.join(ROOT, "fixtures/teacher.csv.json"), path.join(dir, "teacher.csv.json"));
    const spec = specIn(
      dir,
      JSON.stringify({
        command: "sysid",
        out: "fits",
        flags: { fit: "H_appl", trials: 10, epochs: 3 },
        axes: { teacher: ["teacher.csv"], "lr-scale": [0.1, 0.05] },
      }),
      "fits.json",
    );
    const r = runCli(["sweep", spec]);
    expect(r.code, r.stderr).toBe(0);
    const out = path.join(dir, "fits");
    expect(
      fs
        .readdirSync(out)
        .filter((f) => f.startsWith("teacher="))
        .sort(),
    ).toEqual(["teacher=teacher_lr-scale=0.05", "teacher=teacher_lr-scale=0.1"]);
    const c = runCli(["sweep", "collect", out]);
    expect(c.code, c.stderr).toBe(0);
    const [head, ...rows] = c.stdout.trim().split("\n");
    expect(head.split(",").slice(0, 4)).toEqual(["teacher", "lr-scale", "n", "cells"]);
    expect(head).toContain("H_appl_Oe_mean");
    expect(rows.length).toBe(2);
    for (const row of rows) {
      const cells = row.split(",");
      const fit = JSON.parse(fs.readFileSync(path.join(out, `teacher=teacher_lr-scale=${cells[1]}`, "result.json"), "utf8"));
      expect(Number(cells[head.split(",").indexOf("H_appl_Oe_mean")])).toBe(fit.fit.H_appl.value);
      expect(cells[head.split(",").indexOf("H_appl_Oe_std")]).toBe(""); // one run per row: no std
    }
  });

  describe("bad specs: one line, exit 2, nothing written", () => {
    const cases: [string, string, RegExp][] = [
      ["unknown command", "command: mnst\naxes: {seed: [1]}\n", /spec\.yaml:1:10: unknown command 'mnst' \(did you mean 'mnist'\?\)/],
      ["a command a sweep does not run", "command: eval\n", /spec\.yaml:1:10: 'eval' is not a command a sweep runs/],
      ["unknown flag", "command: mnist\nflags:\n  epoch: 2\n", /spec\.yaml:3:3: flags: stoopt mnist has no flag --epoch \(did you mean 'epochs'\?\)/],
      ["unknown axis flag", "command: mnist\naxes:\n  seeds: [1, 2]\n", /spec\.yaml:3:3: axes: stoopt mnist has no flag --seeds/],
      ["empty axis", "command: mnist\naxes:\n  tune: [full]\n  seed: []\n", /spec\.yaml:4:9: axes: seed is empty/],
      ["flag set by the sweep", "command: mnist\nflags: {out: x}\n", /spec\.yaml:2:9: flags: --out is set for each cell by the sweep/],
      ["a value for a switch", "command: mnist\nflags: {json: 3}\n", /--json is a switch/],
      ["missing teacher file", "command: sysid\nflags: {fit: H_appl, teacher: nowhere.csv}\n", /spec\.yaml:2:\d+: <teacher>: no such file 'nowhere\.csv'/],
      ["YAML syntax", "command: mnist\naxes: {seed: [1, 2\n", /spec\.yaml:\d+:\d+: /],
      ["unknown key", "command: mnist\naxis: {seed: [1]}\n", /spec\.yaml:2:1: unknown key 'axis'/],
      ["bad Slurm time", "command: mnist\nslurm: {time: 1h}\n", /spec\.yaml:2:15: slurm: time: '1h' is not a Slurm time/],
    ];
    for (const [what, text, re] of cases) {
      it(what, () => {
        const dir = tmp();
        const spec = specIn(dir, text);
        const r = runCli(["sweep", spec, "--out", path.join(dir, "out")]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(re);
        expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
      });
    }

    it("a cell folder that holds another sweep's run", () => {
      const dir = tmp();
      const out = path.join(dir, "grid");
      const first = specIn(dir, "command: mnist\nflags: {n: 20, train-limit: 100, test-limit: 100, epochs: 1}\naxes:\n  seed: [1]\n", "a.yaml");
      expect(runCli(["sweep", first, "--out", out]).code).toBe(0);
      const before = snapshot(out);
      // the same cell name (seed=1) with other flags, and a second cell that would be new
      const second = specIn(dir, "command: mnist\nflags: {n: 20, train-limit: 100, test-limit: 100, epochs: 2}\naxes:\n  seed: [2, 1]\n", "b.yaml");
      for (const ex of ["local", "slurm"]) {
        const r = runCli(["sweep", second, "--out", out, "--executor", ex, "--dry-run"]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(
          /seed=1: holds another sweep's run \(stoopt mnist .*--epochs 1 --seed 1\), not this one \(stoopt mnist .*--epochs 2 --seed 1\)/,
        );
      }
      const r = runCli(["sweep", second, "--out", out]);
      expect(r.code).toBe(2);
      expect(snapshot(out)).toEqual(before); // seed=2 was not started either
      // a folder with files that are not a sweep's
      const foreign = path.join(dir, "foreign");
      fs.mkdirSync(path.join(foreign, "seed=1"), { recursive: true });
      fs.writeFileSync(path.join(foreign, "seed=1", "result.json"), "{}");
      const f = runCli(["sweep", first, "--out", foreign]);
      expect(f.code).toBe(2);
      expect(f.stderr).toMatch(/seed=1: holds files that are not this sweep's \(result\.json\)/);
    });
  });

  it("--executor slurm --dry-run writes the array script: resources from the spec, flags override, signal and requeue", () => {
    const dir = tmp();
    const spec = specIn(dir, SMALL_MNIST + "slurm:\n  time: '00:30:00'\n  mem: 2G\n  partition: short\n  account: lab1\n  setup: ['module load nodejs/20']\n");
    const out = path.join(dir, "grid");
    const r = runCli(["sweep", spec, "--out", out, "--executor", "slurm", "--dry-run", "--account", "lab2", "--max-running", "3"]);
    expect(r.code, r.stderr).toBe(0);
    const script = fs.readFileSync(path.join(out, "sweep.sbatch"), "utf8");
    for (const line of [
      "#SBATCH --array=0-3%3",
      "#SBATCH --cpus-per-task=1",
      "#SBATCH --time=00:30:00",
      "#SBATCH --mem=2G",
      "#SBATCH --partition=short",
      "#SBATCH --account=lab2",
      "#SBATCH --signal=B:TERM@60",
      "#SBATCH --requeue",
      "module load nodejs/20",
    ])
      expect(script).toContain(line);
    expect(script).toMatch(/exec \S+ \S+main\.js sweep task "\$\{cells\[\$SLURM_ARRAY_TASK_ID\]\}"/);
    expect(script).toContain(`'${path.join(out, "tune=win,wout_seed=2")}'`.replace(/^'(.*)'$/, "$1"));
    // the cells exist (pending), nothing ran
    expect(status(out).counts).toEqual({ pending: 4 });
    // --dry-run of the local executor prints the command lines and writes nothing
    const out2 = path.join(dir, "grid2");
    const d = runCli(["sweep", spec, "--out", out2, "--dry-run"]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.trim().split("\n")).toHaveLength(4);
    expect(d.stdout).toContain("mnist --n 20 --train-limit 300 --test-limit 200 --epochs 1 --tune win,wout --seed 2 --threads 1 --out");
    expect(fs.existsSync(out2)).toBe(false);
  });
});
