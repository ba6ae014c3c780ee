/**
 * Whole process, as a new user sees it: the built CLI (dist/cli/main.js),
 * each run a fresh `node` process, the median of several runs. Wall time, and
 * CPU time (user + sys of the child, from /proc on Linux; less sensitive to
 * a loaded machine than wall time).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/cli/main.js");
/** clock ticks per second of /proc/self/stat (USER_HZ, 100 on Linux) */
const USER_HZ = 100;

/** CPU seconds of waited-for children (cutime + cstime), or undefined off Linux. */
function childrenCpuS(): number | undefined {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17
    return (Number(fields[13]) + Number(fields[14])) / USER_HZ;
  } catch {
    return undefined;
  }
}

export interface ProcessRun {
  wallS: number;
  cpuS?: number;
  /** peak resident memory of the child in bytes (only when asked for) */
  peakBytes?: number;
}

/**
 * One fresh process `node dist/cli/main.js ...args` (stdout discarded); with
 * `peak`, the child reports its own peak resident memory through a preloaded
 * exit hook (worker threads included: they share the process).
 */
export function runOnce(args: string[], peak = false): ProcessRun {
  const report = peak ? path.join(os.tmpdir(), `stoopt-bench-rusage-${process.pid}.json`) : undefined;
  const hook = `import fs from "node:fs"; process.on("exit", () => fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify(process.resourceUsage())));`;
  const nodeArgs = report ? ["--import", `data:text/javascript,${encodeURIComponent(hook)}`] : [];
  const cpu0 = childrenCpuS();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...nodeArgs, CLI, ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], maxBuffer: 64 << 20 });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = childrenCpuS();
  if (r.status !== 0) throw new Error(`stoopt ${args.join(" ")} exited with ${r.status}: ${String(r.stderr).trim().split("\n").pop()}`);
  let peakBytes: number | undefined;
  if (report) {
    peakBytes = (JSON.parse(fs.readFileSync(report, "utf8")) as { maxRSS: number }).maxRSS * 1024;
    fs.rmSync(report, { force: true });
  }
  return { wallS, cpuS: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0, peakBytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median wall and CPU time of `runs` fresh processes (one warm-up run first, not counted). */
export function medianRun(args: string[], runs: number, peak = false): ProcessRun {
  runOnce(args);
  const all = Array.from({ length: runs }, () => runOnce(args, peak));
  const cpus = all.map((r) => r.cpuS).filter((c): c is number => c !== undefined);
  const peaks = all.map((r) => r.peakBytes).filter((c): c is number => c !== undefined);
  return { wallS: median(all.map((r) => r.wallS)), cpuS: cpus.length ? median(cpus) : undefined, peakBytes: peaks.length ? median(peaks) : undefined };
}

const ms = (s: number | undefined): string => (s === undefined ? "n/a" : (1000 * s).toFixed(0));

/** A teacher file of at least `bytes` (100 trials at 0.5 ps sampling) written by the CLI into `dir`. */
function bigTeacher(dir: string, bytes: number): { file: string; bytes: number; rows: number } {
  // about 73 bytes per row at 0.5 ps sampling; 100 trials
  const samples = Math.ceil(bytes / 73 / 100);
  const file = path.join(dir, "teacher-100MB.csv");
  const durationPs = (samples * 0.5).toFixed(1);
  const r = spawnSync(
    process.execPath,
    [CLI, "simulate", "--trials", "100", "--washout", "1ns", "--sample", "0.5ps", "--duration", `${durationPs}ps`, "-o", file],
    { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  if (r.status !== 0) throw new Error(`could not write the 100 MB teacher: ${String(r.stderr).trim()}`);
  const text = fs.readFileSync(file);
  let lines = 0;
  for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines++;
  return { file, bytes: text.length, rows: lines - 1 };
}

/** The rows of the whole-process table. */
export function processBench(runs = 5): string[][] {
  const rows: string[][] = [];
  const row = (what: string, args: string[], n = runs, extra = ""): ProcessRun => {
    const r = medianRun(args, n);
    rows.push([what, `stoopt ${args.join(" ")}`, ms(r.wallS), ms(r.cpuS), extra]);
    return r;
  };
  const node = (() => {
    const walls: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ["-e", "0"]);
      walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return median(walls);
  })();
  rows.push(["Node itself (reference)", "node -e 0", ms(node), "", ""]);
  row("version", ["--version"]);
  row("simulate one trial over 1 ns", ["simulate", "--duration", "1ns"]);
  row("README main job", ["sysid", "fixtures/teacher.csv", "--fit", "H_appl,j_DC", "--starts", "4"]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-bench-"));
  try {
    const big = bigTeacher(dir, 100e6);
    // reading dominates: LM from the start with one iteration, no washout, at the sampling step
    const args = ["sysid", big.file, "--fit", "H_appl", "--epochs", "0", "--max-iterations", "1", "--washout", "0ns"];
    const r = medianRun(args, Math.min(3, runs), true);
    // the same command on a small teacher: what a run takes without the data
    const base = medianRun(["sysid", "fixtures/teacher-small.csv", "--fit", "H_appl", "--epochs", "0", "--max-iterations", "1"], Math.min(3, runs), true);
    const numeric = big.rows * 4 * 8;
    rows.push([
      `read a ${(big.bytes / 1e6).toFixed(0)} MB teacher (${big.rows} rows)`,
      `stoopt sysid teacher-100MB.csv --fit H_appl --epochs 0 --max-iterations 1 --washout 0ns`,
      ms(r.wallS),
      ms(r.cpuS),
      `${(big.bytes / 1e6 / r.wallS).toFixed(1)} MB/s wall, ${r.cpuS ? (big.bytes / 1e6 / r.cpuS).toFixed(1) : "n/a"} MB/s CPU; peak ${((r.peakBytes ?? NaN) / 1e6).toFixed(0)} MB (numeric data ${(numeric / 1e6).toFixed(0)} MB; the same command on fixtures/teacher-small.csv: ${((base.peakBytes ?? NaN) / 1e6).toFixed(0)} MB)`,
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
