/**
 * Issue 11, classes 4, 5 and 8: counts never wrap, settings that cannot give
 * a meaningful result are refused (or warned about), and smaller checks
 * (delimiters, limits stated as limits, swapped IDX files). Table-driven:
 * each case with its exit code, message and the scratch folder afterwards
 * (nothing is written by a refused command).
 */
import { beforeAll, describe, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "./helpers.js";
import { checkCase, Expect, TEACHER, teacherIn, tinyData } from "./reliability.helpers.js";

interface Case extends Expect {
  name: string;
  setup?: (dir: string) => void;
  args: (dir: string) => string[];
}

const j = path.join;
let data = "";
let swapped = "";
let fine = ""; // a teacher sampled every 1 ps
beforeAll(() => {
  data = tinyData();
  swapped = tinyData(20, 60);
  fine = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-fine-")), "fine.csv");
  runCli(["simulate", "--trials", "2", "--sample", "1ps", "--dt", "0.5ps", "--duration", "40ps", "-o", fine]);
});

/** The small teacher with its t column multiplied by `f` (e.g. 1e9: nanoseconds written under "t"). */
function scaledTeacher(dir: string, f: number, name = "t.csv"): void {
  const lines = fs.readFileSync(TEACHER, "utf8").trim().split("\n");
  const out = [
    lines[0],
    ...lines.slice(1).map((l) =>
      l
        .split(",")
        .map((v, i) => (i === 1 ? String(Number(v) * f) : v))
        .join(","),
    ),
  ];
  fs.writeFileSync(j(dir, name), out.join("\n") + "\n");
}

const SWEEP = ["spectrum", "--sweep", "j_DC=3mA:4mA:1mA", "--no-threshold", "--washout", "1ns", "--max-washout", "1ns", "--duration", "2ns", "--threads", "1"];
const RESERVOIR = ["reservoir", "--n", "2", "--washout", "20", "--train", "100", "--val", "50", "--test", "50", "--epochs", "1"];
const MNIST = () => ["mnist", "--data", data, "--n", "4", "--epochs", "1", "--batch", "20", "--threads", "1"];

const class4: Case[] = [
  {
    name: "simulate --sample past the core's step counter",
    args: () => ["simulate", "--sample", "100s", "--dt", "1ps"],
    code: 2,
    message: "--sample: the steps per sample (--sample / --dt) would be 1.000e+14; the limit is 4294967295 (2^32 - 1)",
  },
  {
    name: "simulate --duration past the sample counter",
    args: () => ["simulate", "--duration", "1e6s"],
    code: 2,
    message: "--duration: the samples per trial (--duration / --sample + 1) would be 2.000e+16; the limit is 4294967295",
  },
  {
    name: "mnist --duration past the step counter",
    args: () => [...MNIST(), "--duration", "10s", "--dt", "1ps"],
    code: 2,
    message: "--duration: the RK4 steps (--duration / --dt) would be 1.000e+13; the limit is 4294967295",
  },
  {
    name: "mnist network too large for the core's memory",
    args: () => [...MNIST(), "--n", "200", "--duration", "100ns", "--dt", "1ps", "--batch", "1000"],
    code: 2,
    message: /one worker's network needs [\d.]+ GiB of core memory; the limit is 3.5 GiB/,
  },
  {
    name: "sysid teacher in ns under 't' (read as s)",
    setup: (d) => scaledTeacher(d, 1e9),
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "H_appl"],
    code: 2,
    message:
      /t\.csv: one sample interval needs 1\.000e\+11 steps of --dt 5e-13 s \(the limit is 4294967295 \(2\^32 - 1\)\); the samples are 0\.0500 s apart, which looks like ns read as seconds: name the column t_ns/,
  },
  {
    name: "landscape teacher in ps under 't' (read as s)",
    setup: (d) => scaledTeacher(d, 1e12),
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "-o", d],
    code: 2,
    message: "looks like ps read as seconds: name the column t_ps",
  },
  {
    name: "--epochs 1e300 is above the limit",
    setup: teacherIn,
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "H_appl", "--epochs", "1e300"],
    code: 2,
    message: "--epochs: 1e300 is out of range (above the limit of 9007199254740991)",
  },
  {
    name: "mnist --epochs 1e300 is above the limit",
    args: () => [...MNIST(), "--epochs", "1e300"],
    code: 2,
    message: "--epochs: 1e300 is out of range (above the limit",
  },
  {
    name: "spectrum --sweep --sample past the core's step counter",
    args: () => [...SWEEP, "--sample", "100s", "--dt", "1ps", "--duration", "1e4s", "--settle-chunk", "100s"],
    code: 2,
    message: "--sample: the steps per sample (--sample / --dt) would be 1.000e+14; the limit is 4294967295 (2^32 - 1)",
  },
  {
    name: "spectrum --sweep --duration past the sample counter",
    args: () => [...SWEEP, "--duration", "1e6s"],
    code: 2,
    message: "--duration: the samples of the window (--duration / --sample) would be 1.000e+17; the limit is 4294967295",
  },
  {
    name: "spectrum --sweep trials x window too large for the core's memory",
    args: () => [...SWEEP, "--trials", "4096", "--duration", "1us"],
    code: 2,
    message: /one point's trajectories needs [\d.]+ GiB of core memory; the limit is 3.5 GiB/,
  },
  {
    name: "reservoir --length past the core's hold counter",
    args: () => [...RESERVOIR, "--length", "1e10"],
    code: 2,
    message: "--length: the holds of the series would be 1.000e+10; the limit is 4294967295 (2^32 - 1)",
  },
  {
    name: "reservoir --hold past the core's step counter",
    args: () => [...RESERVOIR, "--hold", "1s", "--dt", "1ps"],
    code: 2,
    message: "--hold: the RK4 steps per hold (--hold / --dt) would be 1.000e+12; the limit is 4294967295",
  },
  {
    name: "reservoir too large for the core's memory",
    args: () => [...RESERVOIR, "--n", "200", "--length", "2000000", "--train", "1000000"],
    code: 2,
    message: /\(2000000 holds, 600 features per hold\): the reservoir needs [\d.]+ GiB of core memory; the limit is 3.5 GiB/,
  },
  {
    name: "--grid beyond N*M",
    setup: teacherIn,
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2000x2000", "-o", d],
    code: 2,
    message: "--grid: 2000x2000 is 4.000e+6 points; the limit is N*M <= 1000000",
  },
];

const class5: Case[] = [
  {
    name: "sysid --dt longer than the sample spacing",
    args: () => ["sysid", fine, "--fit", "H_appl", "--dt", "2ps", "--washout", "0"],
    code: 2,
    message: "--dt: the step 2e-12 s is longer than the teacher's shortest sample spacing 1e-12 s",
  },
  {
    name: "landscape --dt longer than the sample spacing",
    args: (d) => ["landscape", fine, "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "--dt", "2ps", "--washout", "0", "-o", d],
    code: 2,
    message: "longer than the teacher's shortest sample spacing",
  },
  {
    name: "sysid --dt longer than --washout",
    args: () => ["sysid", fine, "--fit", "H_appl", "--dt", "1ps", "--washout", "0.5ps"],
    code: 2,
    message: "--dt: the step 1e-12 s is longer than --washout 5e-13 s",
  },
  {
    name: "sysid: no sample after the washout",
    setup: teacherIn,
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "H_appl", "--washout", "5ns"],
    code: 2,
    message: "--washout: no sample of",
  },
  {
    name: "landscape: no sample after the washout",
    setup: teacherIn,
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "--washout", "5ns", "-o", d],
    code: 2,
    message: "so there is nothing to compare",
  },
  {
    name: "simulate --H_appl 1e8: the step cannot resolve the precession",
    args: () => ["simulate", "--H_appl", "1e8Oe"],
    code: 2,
    message: /--H_appl 100000000 Oe .* with --dt 5e-13 s: the magnetization would turn 882 rad per step.*RK4 cannot resolve the precession/,
  },
  {
    name: "sysid --H_appl 1e8 (fixed)",
    setup: teacherIn,
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "j_DC", "--H_appl", "1e8Oe"],
    code: 2,
    message: "--H_appl 1e8Oe with --dt 5e-13 s",
  },
  {
    name: "sysid --range H_appl up to 1e8",
    setup: teacherIn,
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "H_appl", "--range", "H_appl=1Oe:1e8Oe"],
    code: 2,
    message: "--range H_appl with --dt",
  },
  {
    name: "landscape --dt too long for the field",
    setup: teacherIn,
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "--dt", "50ps", "-o", d],
    code: 2,
    message: "RK4 cannot resolve the precession",
  },
  {
    name: "simulate with a coarse but usable step: a warning, exit 0",
    args: () => ["simulate", "--dt", "20ps", "--sample", "100ps", "--duration", "0.2ns"],
    code: 0,
    message: "warning: --dt 2e-11 s: the magnetization turns 0.764 rad per step (about 8 steps per turn)",
  },
  {
    name: "simulate --washout past exact step counting",
    args: () => ["simulate", "--washout", "1e10s"],
    code: 2,
    message: "--washout: the washout steps (--washout / --dt) would be 2.000e+22; the limit is 9.007e+15",
  },
];

const class8: Case[] = [
  {
    name: "--delimiter that does not match the file",
    setup: teacherIn,
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "H_appl", "--delimiter", ";"],
    code: 2,
    message: 't.csv:1: --delimiter ";" does not split the header line "trial,t,mx,my,mz"; it looks ","-separated',
  },
  {
    name: "a detected delimiter that splits nothing",
    setup: (d) => fs.writeFileSync(j(d, "t.csv"), "trial|t|mx|my|mz\n0|0|1|0|0\n0|1e-11|1|0|0\n"),
    args: (d) => ["sysid", j(d, "t.csv"), "--fit", "H_appl"],
    code: 2,
    message: "none of the delimiters",
  },
  {
    name: "train/test IDX files swapped: a warning",
    args: () => ["mnist", "--data", swapped, "--n", "4", "--epochs", "1", "--batch", "10", "--threads", "1"],
    code: 0,
    message: "are train-images-idx3-ubyte and t10k-images-idx3-ubyte swapped?",
  },
  { name: "--trials as a limit", args: () => ["simulate", "--trials", "1e30"], code: 2, message: "--trials: 1e30 is out of range (above the limit" },
  { name: "--trials not a whole number", args: () => ["simulate", "--trials", "2.5"], code: 2, message: "--trials: '2.5' is not a whole number" },
];

for (const [title, cases] of [
  ["class 4: counts are checked against the core's limits before it is called", class4],
  ["class 5: settings that cannot give a meaningful result", class5],
  ["class 8: delimiters, limits, swapped IDX files", class8],
] as [string, Case[]][]) {
  describe(title, () => {
    for (const c of cases) it(c.name, () => void checkCase(c.name, c.setup ?? (() => undefined), c.args, c), 60_000);
  });
}
