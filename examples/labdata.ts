/**
 * Acceptance experiments of "Fitting measured data" (issue 10), run with the
 * CLI as a lab would: teachers from `stoopt simulate` (100 ns washout), cut to
 * what a measurement gives, then `stoopt sysid`. Tables go to results/labdata/.
 *
 *   node dist/examples/labdata.js p1      m_x only, noise-free, 100 windows of 1 ns; each parameter alone
 *                                        (10 truths) and H_appl + j_DC together (10 truth pairs)
 *   node dist/examples/labdata.js p2      as p1 (one parameter at a time) at 300 K
 *   node dist/examples/labdata.js p3      one 50 ns trace at 300 K, 25 ps, as a scope export in mV:
 *                                        V = 8 mV - 2.5 mV m_x + 0.05 mV white noise, offset/amplitude fitted
 *   node dist/examples/labdata.js p4 [--teachers 20] [--bootstrap 50] [--param H_appl,j_DC,alpha]
 *   (p1, p2, p4: --from K skips the first K true values, to resume a run cut short; same truths and seeds)
 *                                        calibration: 300 K m_x-only teachers, bootstrap sigma and
 *                                        Gauss-Newton sigma, fraction of truths within 1 and 2 sigma
 *
 * The measurement cut: columns trial,t,mx only (p1, p2, p4); for p3 a
 * `time_ns,V_mV` file with a scope-style comment header, one trace.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prng } from "../cli/core/rng.js";
import { PARAMS } from "../cli/model.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/cli/main.js");
const tmp = mkdtempSync(path.join(os.tmpdir(), "stoopt-lab-"));
const OUT = path.join(ROOT, "results/labdata");

function stoopt(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, "-q"], { cwd: ROOT, maxBuffer: 1 << 28 }).toString();
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** Box-Muller normal deviates from a seeded uniform stream. */
function gauss(seed: number): () => number {
  const u = prng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** `stoopt simulate` then keep trial,t,mx (what a measurement of m_x gives). */
function mxTeacher(truth: Record<string, number>, temperature: string, seed: number): string {
  const full = path.join(tmp, `full-${seed}.csv`);
  stoopt([
    "simulate",
    "--trials",
    "100",
    "--washout",
    "100ns",
    "--sample",
    "50ps",
    "--duration",
    "1ns",
    "--temperature",
    temperature,
    "--seed",
    String(seed),
    ...Object.entries(truth).flatMap(([k, v]) => [`--${k}`, String(v)]),
    "-o",
    full,
  ]);
  const lines = readFileSync(full, "utf8").trim().split("\n");
  const file = path.join(tmp, `mx-${seed}.csv`);
  writeFileSync(file, lines.map((l) => l.split(",").slice(0, 3).join(",")).join("\n") + "\n");
  return file;
}

/** One 50 ns trace at 300 K, 25 ps sampling, as a scope export: V = offset + amplitude m_x + white noise [mV]. */
function scopeTeacher(truth: Record<string, number>, seed: number, offsetMV: number, amplitudeMV: number, noiseMV: number): string {
  const full = path.join(tmp, `trace-${seed}.csv`);
  stoopt([
    "simulate",
    "--trials",
    "1",
    "--washout",
    "100ns",
    "--sample",
    "25ps",
    "--duration",
    "50ns",
    "--temperature",
    "300K",
    "--seed",
    String(seed),
    ...Object.entries(truth).flatMap(([k, v]) => [`--${k}`, String(v)]),
    "-o",
    full,
  ]);
  const rows = readFileSync(full, "utf8").trim().split("\n").slice(1);
  const g = gauss(seed + 77);
  const out = ["# Oscilloscope export (simulated)", "# Channel 1, 40 GS/s, 50 ns record", "time_ns,V_mV"];
  for (const r of rows) {
    const [, t, mx] = r.split(",").map(Number);
    out.push(`${(t * 1e9).toFixed(4)},${(offsetMV + amplitudeMV * mx + noiseMV * g()).toFixed(5)}`);
  }
  const file = path.join(tmp, `scope-${seed}.csv`);
  writeFileSync(file, out.join("\n") + "\n");
  return file;
}

interface Res {
  fit: Record<string, { value: number; uncertainty: number | null; uncertainty_gauss_newton: number | null }>;
  offset: { value: number };
  amplitude: { value: number };
  loss: number;
  time_s: number;
}

function sysid(file: string, args: string[]): { r: Res; seconds: number } {
  const t0 = Date.now();
  const r = JSON.parse(stoopt(["sysid", file, ...args, "--json"])) as Res;
  return { r, seconds: (Date.now() - t0) / 1000 };
}

const spec = (n: string) => PARAMS.find((p) => p.name === n)!;
const width = (n: string) => spec(n).range![1] - spec(n).range![0];
/** 10 true values per parameter, one in each tenth of the range (seeded), as for Fig. 2(f). */
const truths = (n: string, k = 10) => {
  const rnd = prng(2024 + spec(n).index);
  const [lo, hi] = spec(n).range!;
  return Array.from({ length: k }, (_, c) => lo + ((c + rnd()) / k) * (hi - lo));
};

function write(name: string, md: string, record: unknown): void {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, `${name}.md`), md);
  writeFileSync(path.join(OUT, `${name}.json`), JSON.stringify(record, null, 2) + "\n");
  process.stdout.write(md);
}

function alone(temperature: string, name: string, tag: string, limitPct: number): void {
  const rows: string[] = [];
  const summary: string[] = [];
  const record: unknown[] = [];
  const names = flag("--param", "H_appl,j_DC,alpha").split(",");
  for (const n of names) {
    let sum = 0;
    let worst = 0;
    const from = Number(flag("--from", "0"));
    truths(n).forEach((truth, c) => {
      if (c < from) return; // resuming: the same truths and seeds as a full run
      const file = mxTeacher({ [n]: truth }, temperature, 100 * spec(n).index + c + 1);
      const { r, seconds } = sysid(file, ["--fit", n]);
      const err = Math.abs(r.fit[n].value - truth) / width(n);
      sum += err;
      worst = Math.max(worst, err);
      rows.push(
        `| ${n} | ${truth.toPrecision(6)} | ${r.fit[n].value.toPrecision(6)} | ${(100 * err).toFixed(4)} % | ${r.loss.toExponential(2)} | ${seconds.toFixed(1)} |`,
      );
      record.push({ name: n, truth, fitted: r.fit[n].value, error_of_range: err, loss: r.loss, seconds });
      process.stderr.write(rows[rows.length - 1] + "\n");
    });
    summary.push(`| ${n} | ${((100 * sum) / 10).toFixed(4)} % | ${(100 * worst).toFixed(4)} % | ${limitPct} % |`);
  }
  const md = `# ${tag}: m_x only, ${temperature === "0K" ? "noise-free" : `thermal noise at ${temperature}`}, each parameter fitted alone\n\nTeachers: \`stoopt simulate --trials 100 --washout 100ns --sample 50ps --duration 1ns${temperature === "0K" ? "" : ` --temperature ${temperature} --seed S`}\`, cut to \`trial,t,mx\`. Fit: \`stoopt sysid FILE --fit NAME\` (initial states fitted per 1 ns window: the teacher has no my, mz). Command: \`node dist/examples/labdata.js ${name}${names.length === 3 ? "" : ` --param ${names.join(",")}`}\`.\n\n| parameter | mean error / range | worst error / range | acceptance |\n|---|---|---|---|\n${summary.join("\n")}\n\n| parameter | true | fitted | error / range | loss (eq. 4) | wall time [s] |\n|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
  write(names.length === 3 ? name : `${name}-${names.join("-")}`, md, record);
}

function pairs(): void {
  const rnd = prng(33);
  const rows: string[] = [];
  const record: unknown[] = [];
  let worst = 0;
  for (let c = 0; c < 10; c++) {
    const h = 1500 + rnd() * 500;
    const j = 2.5e-3 + rnd() * 5e-3;
    const file = mxTeacher({ H_appl: h, j_DC: j }, "0K", 500 + c);
    const { r, seconds } = sysid(file, ["--fit", "H_appl,j_DC", "--starts", "3"]);
    const eh = Math.abs(r.fit.H_appl.value - h) / 500;
    const ej = Math.abs(r.fit.j_DC.value - j) / 5e-3;
    worst = Math.max(worst, eh, ej);
    rows.push(
      `| ${h.toFixed(2)} | ${(1e3 * j).toFixed(5)} | ${r.fit.H_appl.value.toFixed(2)} | ${(1e3 * r.fit.j_DC.value).toFixed(5)} | ${(100 * eh).toFixed(4)} % | ${(100 * ej).toFixed(4)} % | ${seconds.toFixed(1)} |`,
    );
    record.push({
      truth: { H_appl: h, j_DC: j },
      fitted: { H_appl: r.fit.H_appl.value, j_DC: r.fit.j_DC.value },
      error_of_range: { H_appl: eh, j_DC: ej },
      seconds,
    });
    process.stderr.write(rows[rows.length - 1] + "\n");
  }
  const md = `# p1 (pairs): H_appl and j_DC fitted together, m_x only, noise-free (alpha 0.0055)\n\nTeachers as p1; fit \`stoopt sysid FILE --fit H_appl,j_DC --starts 3\`. Command: \`node dist/examples/labdata.js pairs\`.\n\nWorst error / range over both parameters: **${(100 * worst).toFixed(4)} %** (acceptance 0.5 %)\n\n| true H_appl [Oe] | true j_DC [mA] | fitted H_appl | fitted j_DC | error H / range | error j / range | wall time [s] |\n|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
  write("p1-pairs", md, record);
}

function scope(): void {
  const rows: string[] = [];
  const summary: string[] = [];
  const record: unknown[] = [];
  const OFF = 8;
  const AMP = -2.5;
  for (const n of ["H_appl", "j_DC", "alpha"]) {
    let sum = 0;
    let worstLevel = 0;
    truths(n).forEach((truth, c) => {
      const file = scopeTeacher({ [n]: truth }, 700 + 10 * spec(n).index + c, OFF, AMP, 0.05);
      const { r, seconds } = sysid(file, ["--signal", "V_mV", "--fit", n]);
      const err = Math.abs(r.fit[n].value - truth) / width(n);
      const eo = Math.abs(r.offset.value - OFF) / OFF;
      const ea = Math.abs(r.amplitude.value - AMP) / Math.abs(AMP);
      sum += err;
      worstLevel = Math.max(worstLevel, eo, ea);
      rows.push(
        `| ${n} | ${truth.toPrecision(6)} | ${r.fit[n].value.toPrecision(6)} | ${(100 * err).toFixed(3)} % | ${r.offset.value.toFixed(4)} | ${r.amplitude.value.toFixed(4)} | ${(100 * eo).toFixed(3)} % | ${(100 * ea).toFixed(3)} % | ${seconds.toFixed(1)} |`,
      );
      record.push({ name: n, truth, fitted: r.fit[n].value, error_of_range: err, offset_mV: r.offset.value, amplitude_mV: r.amplitude.value, seconds });
      process.stderr.write(rows[rows.length - 1] + "\n");
    });
    summary.push(`| ${n} | ${((100 * sum) / 10).toFixed(3)} % | ${(100 * worstLevel).toFixed(3)} % |`);
  }
  const md = `# p3: one 50 ns scope trace at 300 K (25 ps), V = 8 mV - 2.5 mV m_x + 0.05 mV white noise, offset and amplitude fitted\n\nTeacher: \`stoopt simulate --trials 1 --washout 100ns --sample 25ps --duration 50ns --temperature 300K --seed S\`, written as \`time_ns,V_mV\` under a \`#\` header. Fit: \`stoopt sysid FILE --signal V_mV --fit NAME\` (50 windows of 1 ns). Command: \`node dist/examples/labdata.js p3\`.\n\n| parameter | mean error / range (acceptance 3 %) | worst offset or amplitude error (acceptance 1 %) |\n|---|---|---|\n${summary.join("\n")}\n\n| parameter | true | fitted | error / range | offset [mV] | amplitude [mV] | offset error | amplitude error | wall time [s] |\n|---|---|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
  write("p3", md, record);
}

function calibration(): void {
  const teachers = Number(flag("--teachers", "20"));
  const from = Number(flag("--from", "0"));
  const boot = flag("--bootstrap", "50");
  const rows: string[] = [];
  const summary: string[] = [];
  const record: unknown[] = [];
  const names = flag("--param", "H_appl,j_DC,alpha").split(",");
  for (const n of names) {
    const rnd = prng(4242 + spec(n).index);
    const [lo, hi] = spec(n).range!;
    let in1 = 0,
      in2 = 0,
      gn1 = 0,
      gn2 = 0;
    for (let c = 0; c < teachers; c++) {
      const truth = lo + (0.1 + 0.8 * rnd()) * (hi - lo);
      if (c < from) continue; // resuming: the same truths and seeds as a full run
      const file = mxTeacher({ [n]: truth }, "300K", 9000 + 100 * spec(n).index + c);
      const { r, seconds } = sysid(file, ["--fit", n, "--uncertainty", "bootstrap", "--bootstrap", boot, "--seed", String(c + 1)]);
      const f = r.fit[n];
      const z = Math.abs(f.value - truth) / (f.uncertainty ?? NaN);
      const zg = Math.abs(f.value - truth) / (f.uncertainty_gauss_newton ?? NaN);
      in1 += z <= 1 ? 1 : 0;
      in2 += z <= 2 ? 1 : 0;
      gn1 += zg <= 1 ? 1 : 0;
      gn2 += zg <= 2 ? 1 : 0;
      rows.push(
        `| ${n} | ${truth.toPrecision(6)} | ${f.value.toPrecision(6)} | ${(f.uncertainty ?? NaN).toPrecision(3)} | ${z.toFixed(2)} | ${(f.uncertainty_gauss_newton ?? NaN).toPrecision(3)} | ${zg.toFixed(2)} | ${seconds.toFixed(1)} |`,
      );
      record.push({ name: n, truth, fitted: f.value, sigma_bootstrap: f.uncertainty, sigma_gauss_newton: f.uncertainty_gauss_newton, seconds });
      process.stderr.write(rows[rows.length - 1] + "\n");
    }
    const pc = (k: number) => `${((100 * k) / teachers).toFixed(0)} %`;
    summary.push(`| ${n} | ${pc(in1)} | ${pc(in2)} | ${pc(gn1)} | ${pc(gn2)} |`);
  }
  const md = `# p4: calibration of the error bars, ${teachers} teachers per parameter at 300 K (m_x only, 100 windows of 1 ns)\n\nTeachers as p2 with true values drawn in the middle 80 % of each range (seeded); fit \`stoopt sysid FILE --fit NAME --uncertainty bootstrap --bootstrap ${boot}\`. Command: \`node dist/examples/labdata.js p4 --teachers ${teachers} --bootstrap ${boot}\`. Acceptance: >= 55 % within 1 sigma and >= 90 % within 2 sigma.\n\n| parameter | bootstrap: within 1 sigma | within 2 sigma | Gauss-Newton: within 1 sigma | within 2 sigma |\n|---|---|---|---|---|\n${summary.join("\n")}\n\n| parameter | true | fitted | sigma (bootstrap) | |error| / sigma | sigma (Gauss-Newton) | |error| / sigma GN | wall time [s] |\n|---|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
  write(names.length === 3 ? "p4-calibration" : `p4-calibration-${names.join("-")}`, md, record);
}

const cmd = process.argv[2];
if (cmd === "p1") alone("0K", "p1", "p1", 0.1);
else if (cmd === "pairs") pairs();
else if (cmd === "p2") alone("300K", "p2", "p2", 2);
else if (cmd === "p3") scope();
else if (cmd === "p4") calibration();
else {
  process.stderr.write("usage: labdata.js p1 | pairs | p2 | p3 | p4 [--teachers N] [--bootstrap B]\n");
  process.exit(2);
}
