/**
 * Acceptance 6 of "Fitting measured data": the whole process of
 * `stoopt sysid SCOPE.csv --signal V_mV --fit NAME` on the point-3 trace (one
 * 50 ns trace at 300 K sampled every 25 ps, V = 8 mV - 2.5 mV m_x + 0.05 mV
 * white noise; offset and amplitude fitted), 2 worker threads; target <= 10 s.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prng } from "../cli/core/rng.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/cli/main.js");

function scopeFile(dir: string): string {
  const csv = execFileSync(
    process.execPath,
    [CLI, "simulate", "--trials", "1", "--washout", "100ns", "--sample", "25ps", "--duration", "50ns", "--temperature", "300K", "--seed", "31", "-q"],
    { maxBuffer: 1 << 26 },
  ).toString();
  const u = prng(99);
  const g = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const out = ["# bench: simulated scope export", "time_ns,V_mV"];
  for (const line of csv.trim().split("\n").slice(1)) {
    const [, t, mx] = line.split(",").map(Number);
    out.push(`${(t * 1e9).toFixed(4)},${(8 - 2.5 * mx + 0.05 * g()).toFixed(5)}`);
  }
  const file = path.join(dir, "scope.csv");
  fs.writeFileSync(file, out.join("\n") + "\n");
  return file;
}

/** [parameter, fitted value, seconds of the whole process] per fitted parameter. */
export function labdataBench(): string[][] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-bench-lab-"));
  const file = scopeFile(dir);
  return ["H_appl", "j_DC", "alpha"].map((name) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, "sysid", file, "--signal", "V_mV", "--fit", name, "--threads", "2", "--json", "-q"], { maxBuffer: 1 << 26 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const value = r.status === 0 ? JSON.parse(r.stdout.toString()).fit[name].value : NaN;
    return [name, value.toPrecision(6), s.toFixed(2)];
  });
}
