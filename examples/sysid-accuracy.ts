/**
 * Reproduce the paper's Fig. 2(f) and the two-parameter recovery of Fig. 3
 * with the CLI exactly as a user runs it (`stoopt simulate` then
 * `stoopt sysid`), and write the tables to results/sysid/.
 *
 *   node dist/examples/sysid-accuracy.js fig2f [--temperature 300K] [--starts K]
 *   node dist/examples/sysid-accuracy.js pairs [--starts K]
 *   node dist/examples/sysid-accuracy.js converge [--starts K]   (issue 16, acceptance 1)
 *
 * True values are drawn uniformly over each range with a fixed seed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prng } from "../cli/core/rng.js";
import { PARAMS } from "../cli/model.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/cli/main.js");
const tmp = mkdtempSync(path.join(os.tmpdir(), "stoopt-acc-"));

function stoopt(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, "-q"], { cwd: ROOT, maxBuffer: 1 << 28 }).toString();
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const TEACHER = ["--trials", "100", "--washout", "100ns", "--sample", "50ps", "--duration", "1ns"];

interface Fit {
  values: Record<string, number>;
  loss: number;
  seconds: number;
}

function fit(truth: Record<string, string>, names: string[], temperature: string, seed: number, starts: string): Fit {
  const teacher = path.join(tmp, `t${seed}.csv`);
  const noise = temperature === "0K" ? [] : ["--temperature", temperature, "--seed", String(seed)];
  stoopt(["simulate", ...TEACHER, ...Object.entries(truth).flatMap(([k, v]) => [`--${k}`, v]), ...noise, "-o", teacher]);
  const t0 = Date.now();
  const res = JSON.parse(stoopt(["sysid", teacher, "--fit", names.join(","), "--starts", starts, "--json"]));
  return { values: Object.fromEntries(names.map((n) => [n, res.fit[n].value])), loss: res.loss, seconds: (Date.now() - t0) / 1000 };
}

function fig2f(): void {
  const temperature = flag("--temperature", "0K");
  const starts = flag("--starts", "1");
  const rows: string[] = [];
  const summary: string[] = [];
  const record: Record<string, unknown>[] = [];
  for (const name of ["H_appl", "j_DC", "alpha"]) {
    const spec = PARAMS.find((p) => p.name === name)!;
    const [lo, hi] = spec.range!;
    const rnd = prng(2024 + spec.index);
    let sumErr = 0;
    for (let c = 0; c < 10; c++) {
      const truth = lo + rnd() * (hi - lo);
      const r = fit({ [name]: String(truth) }, [name], temperature, 100 * spec.index + c, starts);
      const err = Math.abs(r.values[name] - truth) / (hi - lo);
      sumErr += err;
      rows.push(
        `| ${name} | ${truth.toPrecision(6)} | ${r.values[name].toPrecision(6)} | ${(100 * err).toFixed(3)} % | ${r.loss.toExponential(2)} | ${r.seconds.toFixed(1)} |`,
      );
      record.push({ name, truth, fitted: r.values[name], error_of_range: err, loss: r.loss, seconds: r.seconds });
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
    summary.push(`| ${name} | ${lo}:${hi} ${spec.unit} | ${((100 * sumErr) / 10).toFixed(3)} % |`);
  }
  const title = `Fig. 2(f): one parameter at a time, 10 true values drawn across the range, teacher ${temperature === "0K" ? "noise-free" : `with thermal noise at ${temperature}`} (100 trials, 100 ns washout, 50 ps sampling, 1 ns), 20 epochs, ${starts} start(s)`;
  const md = `# ${title}\n\nCommand: \`node dist/examples/sysid-accuracy.js fig2f --temperature ${temperature} --starts ${starts}\`\n\n| parameter | range | mean abs error / range |\n|---|---|---|\n${summary.join("\n")}\n\n| parameter | true | fitted | error / range | final loss | sysid time [s] |\n|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
  const out = path.join(ROOT, "results/sysid", `fig2f-${temperature}.md`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, md);
  writeFileSync(out.replace(/\.md$/, ".json"), JSON.stringify(record, null, 2) + "\n");
  process.stdout.write(md);
}

function pairs(): void {
  const starts = flag("--starts", "8");
  const rnd = prng(33);
  const rows: string[] = [];
  let ok = 0;
  for (let c = 0; c < 10; c++) {
    const h = 1500 + rnd() * 500;
    const j = 2.5e-3 + rnd() * 5e-3;
    const r = fit({ H_appl: String(h), j_DC: String(j), alpha: "0.0055" }, ["H_appl", "j_DC"], "0K", 500 + c, starts);
    const eh = Math.abs(r.values.H_appl - h) / 500;
    const ej = Math.abs(r.values.j_DC - j) / 5e-3;
    const good = eh < 0.01 && ej < 0.01;
    ok += good ? 1 : 0;
    rows.push(
      `| ${h.toFixed(1)} | ${(1e3 * j).toFixed(4)} | ${r.values.H_appl.toFixed(1)} | ${(1e3 * r.values.j_DC).toFixed(4)} | ${(100 * eh).toFixed(3)} % | ${(100 * ej).toFixed(3)} % | ${good ? "yes" : "no"} | ${r.seconds.toFixed(1)} |`,
    );
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  const md = `# Two parameters (Fig. 3): H_appl and j_DC at alpha 0.0055, noise-free teachers, --starts ${starts}\n\nCommand: \`node dist/examples/sysid-accuracy.js pairs --starts ${starts}\`\n\nRecovered within 1 % of each range: **${ok} of 10**\n\n| true H_appl [Oe] | true j_DC [mA] | fitted H_appl | fitted j_DC | error H / range | error j / range | recovered | sysid time [s] |\n|---|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
  writeFileSync(path.join(ROOT, "results/sysid/pairs.md"), md);
  process.stdout.write(md);
}

/**
 * Convergence (issue 16, acceptance 1): noise-free teachers with truths drawn
 * across the ranges, 10 per case; H_appl, j_DC and alpha fitted together
 * (pass: within 1e-5 of each range and within 3 reported sigma), and each
 * alone (pass: within 1e-6 of its range). Default sysid settings (Adam, then
 * Levenberg-Marquardt) with --starts K.
 */
function converge(): void {
  const starts = flag("--starts", "4");
  const three = ["H_appl", "j_DC", "alpha"];
  const specs = three.map((n) => PARAMS.find((p) => p.name === n)!);
  const width = (s: (typeof specs)[number]) => s.range![1] - s.range![0];
  const rows: string[] = [];
  const record: Record<string, unknown>[] = [];
  let jointPass = 0;
  const rnd = prng(1616);
  for (let c = 0; c < 10; c++) {
    const truth = Object.fromEntries(specs.map((s) => [s.name, s.range![0] + rnd() * width(s)]));
    const teacher = path.join(tmp, `c${c}.csv`);
    stoopt(["simulate", ...TEACHER, ...three.flatMap((n) => [`--${n}`, String(truth[n])]), "-o", teacher]);
    const t0 = Date.now();
    const res = JSON.parse(stoopt(["sysid", teacher, "--fit", three.join(","), "--starts", starts, "--json"]));
    const seconds = (Date.now() - t0) / 1000;
    const errRange = specs.map((s) => Math.abs(res.fit[s.name].value - truth[s.name]) / width(s));
    const errSigma = specs.map((s) => Math.abs(res.fit[s.name].value - truth[s.name]) / res.fit[s.name].stderr);
    const pass = errRange.every((e) => e <= 1e-5) && errSigma.every((e) => e <= 3);
    jointPass += pass ? 1 : 0;
    rows.push(
      `| ${c + 1} | ${truth.H_appl.toFixed(3)} | ${(1e3 * truth.j_DC).toFixed(5)} | ${truth.alpha.toFixed(6)} | ${errRange.map((e) => e.toExponential(1)).join(" / ")} | ${errSigma.map((e) => e.toFixed(2)).join(" / ")} | ${specs.map((s) => (res.fit[s.name].stderr / width(s)).toExponential(1)).join(" / ")} | ${res.status} (${res.convergence.reason}) | ${res.loss.toExponential(1)} | ${seconds.toFixed(1)} | ${pass ? "yes" : "**no**"} |`,
    );
    record.push({
      case: "joint",
      truth,
      fitted: Object.fromEntries(three.map((n) => [n, res.fit[n].value])),
      stderr: Object.fromEntries(three.map((n) => [n, res.fit[n].stderr])),
      error_of_range: errRange,
      error_in_sigma: errSigma,
      status: res.status,
      reason: res.convergence.reason,
      loss: res.loss,
      sum_sq: res.sum_sq,
      seconds,
      pass,
    });
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  const single: string[] = [];
  const singleRows: string[] = [];
  for (const s of specs) {
    const r2 = prng(1700 + s.index);
    let pass = 0;
    let worst = 0;
    for (let c = 0; c < 10; c++) {
      const truth = s.range![0] + r2() * width(s);
      const teacher = path.join(tmp, `s${s.index}-${c}.csv`);
      stoopt(["simulate", ...TEACHER, `--${s.name}`, String(truth), "-o", teacher]);
      const t0 = Date.now();
      const res = JSON.parse(stoopt(["sysid", teacher, "--fit", s.name, "--starts", starts, "--json"]));
      const seconds = (Date.now() - t0) / 1000;
      const err = Math.abs(res.fit[s.name].value - truth) / width(s);
      worst = Math.max(worst, err);
      pass += err <= 1e-6 ? 1 : 0;
      singleRows.push(
        `| ${s.name} | ${truth.toPrecision(8)} | ${res.fit[s.name].value.toPrecision(12)} | ${err.toExponential(1)} | ${(Math.abs(res.fit[s.name].value - truth) / res.fit[s.name].stderr).toFixed(2)} | ${res.status} (${res.convergence.reason}) | ${seconds.toFixed(1)} |`,
      );
      record.push({
        case: s.name,
        truth,
        fitted: res.fit[s.name].value,
        stderr: res.fit[s.name].stderr,
        error_of_range: err,
        status: res.status,
        reason: res.convergence.reason,
        seconds,
        pass: err <= 1e-6,
      });
      process.stderr.write(`${singleRows[singleRows.length - 1]}\n`);
    }
    single.push(`| ${s.name} | ${s.range![0]}:${s.range![1]} ${s.unit} | ${pass} of 10 | ${worst.toExponential(1)} |`);
  }
  const md = `# Convergence of sysid on noise-free teachers (issue 16, acceptance 1)

Command: \`nice -n 10 node dist/examples/sysid-accuracy.js converge --starts ${starts}\`

Teachers: \`stoopt simulate\` ${TEACHER.join(" ")}, noise-free, truths drawn uniformly across the ranges
(seeded). Fits: \`stoopt sysid TEACHER --fit ... --json\` with the defaults (the paper's Adam, at most 20 epochs,
handing over on a plateau: --patience 2 --min-improvement 0.1; then Levenberg-Marquardt on the sum of
squares until ftol/xtol/gtol = 1e-10), \`--starts ${starts}\`.

## H_appl, j_DC and alpha together

Pass: every |fitted - true| <= 1e-5 of its range and <= 3 reported standard errors. **${jointPass} of 10 pass.**

| # | true H_appl [Oe] | true j_DC [mA] | true alpha | error / range (H / j / alpha) | error / std error | std error / range | status | loss (eq. 4) | time [s] | pass |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

## Each parameter alone (the others at the paper's values)

Pass: |fitted - true| <= 1e-6 of the range.

| parameter | range | pass | worst error / range |
|---|---|---|---|
${single.join("\n")}

| parameter | true | fitted | error / range | error / std error | status | time [s] |
|---|---|---|---|---|---|---|
${singleRows.join("\n")}
`;
  writeFileSync(path.join(ROOT, "results/sysid/converge.md"), md);
  writeFileSync(path.join(ROOT, "results/sysid/converge.json"), JSON.stringify(record, null, 2) + "\n");
  process.stdout.write(md);
}

if (process.argv[2] === "fig2f") fig2f();
else if (process.argv[2] === "pairs") pairs();
else if (process.argv[2] === "converge") converge();
else {
  process.stderr.write("usage: sysid-accuracy.js fig2f [--temperature T] [--starts K] | pairs [--starts K] | converge [--starts K]\n");
  process.exit(2);
}
