/**
 * Shared by the table-driven reliability tests (issue 11): a scratch folder
 * per case, a snapshot of everything in it before and after the command, and
 * the check that only the files a case names have changed or appeared.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { CliResult, ROOT, runCli } from "./helpers.js";
import { DEFAULT_DATA, encodeIdx, IDX_FILES, loadDataset } from "../cli/io/idx.js";

export interface Entry {
  kind: "file" | "dir" | "link" | "fifo" | "other";
  hash?: string;
  target?: string;
}

/** Every path under `dir` (relative), with its kind and content hash or link target. */
export function snapshot(dir: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const r = path.join(rel, name);
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out.set(r, { kind: "link", target: fs.readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(r, { kind: "dir" });
        walk(r);
      } else if (st.isFile()) out.set(r, { kind: "file", hash: createHash("sha256").update(fs.readFileSync(p)).digest("hex") });
      else if (st.isFIFO()) out.set(r, { kind: "fifo" });
      else out.set(r, { kind: "other" });
    }
  };
  walk("");
  return out;
}

export interface Expect {
  code: number;
  /** substring or pattern of stderr */
  message: string | RegExp;
  /** files (relative) whose content may change: the command's purpose is to write them */
  replaced?: string[];
  /** files (relative) that must appear; nothing else may */
  created?: string[];
  /** stdout must be empty (default for exit codes other than 0) */
  emptyStdout?: boolean;
}

/** Run `args(dir)` in a fresh scratch folder prepared by `setup`, and check exit code, message and the disk. */
export function checkCase(
  name: string,
  setup: (dir: string) => void,
  args: (dir: string) => string[],
  want: Expect,
  run: (a: string[]) => CliResult = (a) => runCli(a),
): { dir: string; r: CliResult } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `stoopt-rel-`));
  setup(dir);
  const before = snapshot(dir);
  const r = run(args(dir));
  const after = snapshot(dir);
  expect(r.code, `${name}: ${r.stderr}`).toBe(want.code);
  if (typeof want.message === "string") expect(r.stderr).toContain(want.message);
  else expect(r.stderr).toMatch(want.message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  if (want.code !== 0)
    expect(
      r.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("stoopt: error:")).length,
      r.stderr,
    ).toBe(1);
  if (want.emptyStdout ?? want.code === 2) expect(r.stdout).toBe("");
  for (const [p, e] of before) {
    const a = after.get(p);
    expect(a, `${name}: ${p} was removed`).toBeDefined();
    expect(a!.kind, `${name}: ${p} changed kind`).toBe(e.kind);
    if (!want.replaced?.includes(p)) expect(a, `${name}: ${p} changed`).toEqual(e);
  }
  const created = [...after.keys()].filter((p) => !before.has(p)).sort();
  expect(created, `${name}: files created`).toEqual([...(want.created ?? [])].sort());
  return { dir, r };
}

export const TEACHER = path.join(ROOT, "fixtures/teacher-small.csv");

/** A copy of the small teacher (without its sidecar) at dir/name. */
export function teacherIn(dir: string, name = "t.csv"): string {
  fs.copyFileSync(TEACHER, path.join(dir, name));
  return path.join(dir, name);
}

/** A small IDX folder (by default train 60, test 20 images) for quick mnist runs. */
export function tinyData(train = 60, test = 20): string {
  const d = loadDataset(DEFAULT_DATA);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-idx-"));
  const put = (f: string, dims: number[], data: Uint8Array) => fs.writeFileSync(path.join(dir, f), encodeIdx(dims, data));
  put(IDX_FILES.trainImages, [train, 28, 28], d.train.images.subarray(0, train * 784));
  put(IDX_FILES.trainLabels, [train], d.train.labels.subarray(0, train));
  put(IDX_FILES.testImages, [test, 28, 28], d.test.images.subarray(0, test * 784));
  put(IDX_FILES.testLabels, [test], d.test.labels.subarray(0, test));
  return dir;
}
