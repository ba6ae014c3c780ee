/** Options shared by the commands that read teacher data (sysid, landscape), and their parser; reading the teacher is cli/run/teacher.ts. */
import { Command } from "commander";
import os from "node:os";
import { PARAMS, paramFlag, paramHelp, paramByName, checkBounds, ParamSpec, parseParamQuantity, paramsFromOptions } from "../model.js";
import { UsageError } from "../errors.js";
import { intFlag, optionReader, timeFlag } from "./parse.js";

/** The shared teacher flags, checked: what reading a teacher and evaluating the student on it need. */
export interface TeacherSettings {
  /** every model parameter (core slot order, internal units): a flag's value, else the default */
  base: Float64Array;
  /** the fixed-parameter flags given, by parameter name, as written (provenance, and the step check's message) */
  paramFlags: Record<string, string>;
  /** student integration step [s] */
  dtS: number;
  /** samples earlier than this after each trial's first row are not compared [s] */
  washoutS: number;
  /** factor on the teacher's magnetization columns */
  scale: number;
  /** threads that split the trials, the main thread included */
  threads: number;
  /** read only the first N trials */
  maxTrials?: number;
  /** field separator of the CSV (undefined: detected) */
  delimiter?: string;
  /** unit assumptions of bare numbers, noted when the teacher is read */
  notes: string[];
}

/** The shared teacher flags (addTeacherOptions, addFixedParamOptions) into settings, checked in the order they were always checked. */
export function teacherSettingsFromFlags(opts: Record<string, unknown>): TeacherSettings {
  const { str } = optionReader(opts);
  const notes: string[] = [];
  const base = paramsFromOptions(opts, notes);
  const dtS = timeFlag(str("dt")!, "--dt", notes);
  const washoutS = timeFlag(str("washout")!, "--washout", notes, false);
  const scale = Number(str("scale"));
  if (!Number.isFinite(scale) || scale === 0) throw new UsageError(`--scale: must be a non-zero number (got '${str("scale")}')`);
  const threads = str("threads") !== undefined ? intFlag(str("threads")!, "--threads", 1, 64) : Math.min(2, os.availableParallelism());
  const maxTrials = str("trials") !== undefined ? intFlag(str("trials")!, "--trials", 1) : undefined;
  const paramFlags: Record<string, string> = {};
  for (const p of PARAMS) if (opts[p.name] !== undefined) paramFlags[p.name] = String(opts[p.name]);
  return { base, paramFlags, dtS, washoutS, scale, threads, maxTrials, delimiter: str("delimiter"), notes };
}

export function addTeacherOptions(cmd: Command): Command {
  cmd
    .option("--dt <time>", "student integration step (bare number: ns)", "0.5ps")
    .option("--washout <time>", "samples earlier than this after each trial's first row are not compared (bare number: ns)", "0.5ns")
    .option("--trials <n>", "use only the first N trials of the teacher (the rest is not read)")
    .option("--delimiter <c>", "field separator of the teacher CSV (default: detected from the header)")
    .option("--scale <x>", "multiply the teacher's magnetization columns by x (e.g. to turn a voltage into m_x)", "1")
    .option(
      "--threads <n>",
      "threads that split the trials, the main thread included (default: number of cores, at most 2); one thread is used where a second cannot win: a teacher of one trial, or a batch of under 2000 RK4 steps per thread",
    );
  return cmd;
}

export function addFixedParamOptions(cmd: Command): Command {
  for (const p of PARAMS) cmd.option(paramFlag(p), `${paramHelp(p)}; value of a parameter that is not fitted`);
  return cmd;
}

/** `name=lo:hi`, values with units. */
export function parseRange(text: string, flag: string): [ParamSpec, [number, number]] {
  const m = /^([^=]+)=([^:]+):(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected NAME=MIN:MAX (e.g. alpha=0.001:0.01), got '${text}'`);
  const p = paramByName(m[1].trim(), flag);
  const hint = (u: string) => `${p.name}=${m[2].trim()}${u}:${m[3].trim()}${u}`;
  const lo = parseParamQuantity(p, m[2], `${flag} ${p.name}`, hint).value;
  const hi = parseParamQuantity(p, m[3], `${flag} ${p.name}`, hint).value;
  if (!(lo < hi)) throw new UsageError(`${flag}: empty range for ${p.name}: min ${m[2]} must be below max ${m[3]}`);
  checkBounds(p, lo, `${flag} ${p.name}`);
  checkBounds(p, hi, `${flag} ${p.name}`);
  return [p, [lo, hi]];
}

/** The range of each named parameter: --range where given, else the default. */
export function rangesFor(names: string[], rangeFlags: string[]): Map<string, [number, number]> {
  const given = new Map<string, [number, number]>();
  for (const r of rangeFlags) {
    const [p, rg] = parseRange(r, "--range");
    if (!names.includes(p.name)) throw new UsageError(`--range: ${p.name} is not one of ${names.join(", ")}`);
    given.set(p.name, rg);
  }
  const out = new Map<string, [number, number]>();
  for (const n of names) {
    const rg = given.get(n) ?? paramByName(n, "--fit").range;
    if (!rg) throw new UsageError(`--range: ${n} has no default range; give one, e.g. --range ${n}=MIN:MAX`);
    out.set(n, rg);
  }
  return out;
}
