/**
 * Issue 6, acceptance 3: kill `stoopt mnist` with SIGKILL at random moments,
 * at least five times, on a small subset. After every kill each output file is
 * either absent or complete and loadable; `--resume` then finishes the run.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI, ROOT, runCli } from "./helpers.js";
import { prng } from "../cli/core/rng.js";

const OUTPUTS = ["metrics.csv", "result.json", "checkpoint.bin"];
const TEMP = /^\..+\.\d+\.[a-z0-9]+\.tmp$/;

/** Every output present is whole: metrics rows complete, JSON parses, the checkpoint evaluates. */
function checkOutputs(dir: string): number {
  const files = fs.readdirSync(dir);
  for (const f of files) expect(OUTPUTS.includes(f) || TEMP.test(f), `unexpected file ${f}`).toBe(true);
  let epochs = 0;
  if (files.includes("result.json")) epochs = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8")).epochs_done;
  if (files.includes("metrics.csv")) {
    const text = fs.readFileSync(path.join(dir, "metrics.csv"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const rows = text.trim().split("\n");
    const width = rows[0].split(",").length;
    for (const r of rows) expect(r.split(",").length).toBe(width);
    for (const r of rows.slice(1)) for (const v of r.split(",")) expect(Number.isFinite(Number(v))).toBe(true);
  }
  if (files.includes("checkpoint.bin")) {
    const r = runCli(["eval", path.join(dir, "checkpoint.bin"), "--json", "--threads", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).accuracy).toBeGreaterThan(0);
  }
  return epochs;
}

describe("SIGKILL at random moments", () => {
  it("leaves only whole files, and --resume finishes the run", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-kill-"));
    const args = [
      "mnist",
      "--n",
      "200",
      "--train-limit",
      "5000",
      "--test-limit",
      "200",
      "--batch",
      "50",
      "--threads",
      "1",
      "--seed",
      "5",
      "--epochs",
      "8",
      "--out",
      dir,
    ];
    // enough work (8 epochs of 5000 images) that at least 5 kills land before it ends, now that the workers' epochs are faster
    const rnd = prng(20261128);
    let kills = 0;
    for (let round = 0; round < 12 && kills < 6; round++) {
      const resume = fs.existsSync(path.join(dir, "checkpoint.bin"));
      const child = spawn(process.execPath, [CLI, ...(resume ? ["mnist", "--resume", dir, "--threads", "1"] : args)], { cwd: ROOT, stdio: "ignore" });
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      // start-up (data, spectral radius) takes about a second; kill anywhere from there into the epochs
      const delay = 600 + rnd() * 2400;
      const winner = await Promise.race([exited.then(() => "exit"), new Promise((r) => setTimeout(() => r("timer"), delay))]);
      if (winner === "exit") break; // finished before the kill
      child.kill("SIGKILL");
      await exited;
      kills += 1;
      checkOutputs(dir);
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    // finish
    const r = runCli(fs.existsSync(path.join(dir, "checkpoint.bin")) ? ["mnist", "--resume", dir, "--threads", "1"] : args);
    expect(r.code, r.stderr).toBe(0);
    expect(checkOutputs(dir)).toBe(8);
    expect(fs.readdirSync(dir).filter((f) => TEMP.test(f))).toEqual([]); // resume removed the leftovers
    const rows = fs.readFileSync(path.join(dir, "metrics.csv"), "utf8").trim().split("\n");
    expect(rows.map((l) => l.split(",")[0])).toEqual(["epoch", "1", "2", "3", "4", "5", "6", "7", "8"]);
  }, 600_000);
});
