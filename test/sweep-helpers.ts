/** Shared by the sweep tests: small specs, waiting on a sweep, comparing runs. */
import fs from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { expect } from "vitest";
import { runCli } from "./helpers.js";
import { loadCheckpoint } from "../cli/network/checkpoint.js";

/** 2 tune cases x 2 seeds of mnist on a few hundred images, one epoch each (a few seconds a cell). */
export const SMALL_MNIST = `command: mnist
flags:
  n: 20
  train-limit: 300
  test-limit: 200
  epochs: 1
axes:
  tune: [full, "win,wout"]
  seed: [1, 2]
`;

/** One mnist cell long enough to be stopped between epochs (about 2 s an epoch on one thread). */
export const LONG_MNIST = `command: mnist
flags:
  n: 100
  train-limit: 5000
  test-limit: 300
  batch: 50
  epochs: 5
  tune: full
axes:
  seed: [3]
`;

export function status(dir: string): { counts: Record<string, number>; cells: { name: string; state: string; detail: string }[] } {
  const r = runCli(["sweep", "status", dir, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number, stepMs = 500): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function readJsonOr(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return {};
  }
}

export function epochsDone(cell: string): number {
  try {
    return JSON.parse(fs.readFileSync(path.join(cell, "result.json"), "utf8")).epochs_done;
  } catch {
    return 0;
  }
}

/** `sweep collect DIR` against mean and sample std computed here from the cells' result.json. */
export function checkCollect(dir: string): Record<string, string>[] {
  const r = runCli(["sweep", "collect", dir]);
  expect(r.code, r.stderr).toBe(0);
  const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
  expect(fs.readFileSync(path.join(dir, "table.csv"), "utf8")).toBe(r.stdout);
  const cells = fs.readdirSync(dir).filter((f) => fs.existsSync(path.join(dir, f, "cell.json")));
  const byTune = new Map<string, number[]>();
  for (const c of cells) {
    const cell = JSON.parse(fs.readFileSync(path.join(dir, c, "cell.json"), "utf8"));
    const res = JSON.parse(fs.readFileSync(path.join(dir, c, "result.json"), "utf8"));
    const acc = 100 * res.history[res.history.length - 1].test_accuracy;
    byTune.set(cell.values.tune, [...(byTune.get(cell.values.tune) ?? []), acc]);
  }
  expect(rows.map((x) => x.tune)).toEqual(["full", "win,wout"]);
  for (const row of rows) {
    const xs = byTune.get(row.tune)!;
    expect(xs.length).toBe(2);
    const mean = (xs[0] + xs[1]) / 2;
    const std = Math.abs(xs[0] - xs[1]) / Math.SQRT2; // sample std of two values
    expect(Number(row.n)).toBe(2);
    expect(Number(row.test_accuracy_pct_mean)).toBeCloseTo(mean, 10);
    expect(Number(row.test_accuracy_pct_std)).toBeCloseTo(std, 10);
  }
  const md = fs.readFileSync(path.join(dir, "table.md"), "utf8");
  expect(md).toContain("| full | 2 |");
  expect(md).toContain("| win,wout | 2 |");
  const svg = fs.readFileSync(path.join(dir, "figure.svg"), "utf8");
  expect(svg).toContain("test accuracy [%]");
  expect(svg).toContain("win,wout");
  // one error bar and one mean per row
  expect(svg.match(/aria-roledescription="rule mark"/g)?.length).toBe(rows.length);
  expect(svg.match(/aria-roledescription="point"/g)?.length).toBe(rows.length);
  return rows;
}

const TIMING = new Set(["images_per_s", "train_s", "eval_s", "wall_s"]);

/** Two finished mnist runs are the same: per-epoch history (timing aside) and every trained parameter, Adam state and coupling. */
export function expectSameRun(a: string, b: string): void {
  const h = (d: string) =>
    JSON.parse(fs.readFileSync(path.join(d, "result.json"), "utf8")).history.map((e: Record<string, number>) =>
      Object.fromEntries(Object.entries(e).filter(([k]) => !TIMING.has(k))),
    );
  expect(h(a)).toEqual(h(b));
  const ca = loadCheckpoint(path.join(a, "checkpoint.bin"));
  const cb = loadCheckpoint(path.join(b, "checkpoint.bin"));
  expect(ca.header.epochs_done).toBe(cb.header.epochs_done);
  expect(ca.header.adam_step).toBe(cb.header.adam_step);
  expect(Buffer.from(ca.theta.buffer).equals(Buffer.from(cb.theta.buffer))).toBe(true);
  expect(Buffer.from(ca.adamM.buffer).equals(Buffer.from(cb.adamM.buffer))).toBe(true);
  expect(Buffer.from(ca.adamV.buffer).equals(Buffer.from(cb.adamV.buffer))).toBe(true);
  expect(Buffer.from(ca.wcp.buffer).equals(Buffer.from(cb.wcp.buffer))).toBe(true);
}
