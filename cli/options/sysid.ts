/**
 * Flags of `stoopt sysid` into typed settings: the time-domain fit of teacher
 * files and measured data (cli/run/sysid.ts), or the frequency-table fit
 * (--spectrum, cli/run/sysid-spectrum.ts). Every flag is checked before any
 * file is read, in the order the command always checked them.
 */
import os from "node:os";
import { ParamSpec, paramByName, paramsFromOptions, parseParamQuantity } from "../model.js";
import { choiceFlag, intFlag, optionReader, parsed, temperatureFlag, timeFlag } from "./parse.js";
import { rangesFor, teacherSettingsFromFlags } from "./teacher.js";
import { measuredFlagGiven, measuredSettingsFromFlags } from "./measured.js";
import { exportOptions, parseComponents } from "./figures.js";
import { parseQuantity } from "../io/units.js";
import { UsageError } from "../errors.js";
import { checkIdentifiable, FitParam, GradientMode, Refinement, Stage } from "../fit/sysid.js";
import { note } from "../log.js";
import type { SysidSettings } from "../run/sysid.js";
import type { SpectrumSysidSettings } from "../run/sysid-spectrum.js";

/** `name=value`, value with units; `plausible`: refuse a bare number implausible in its unit (values, not rates). */
function parseAssign(text: string, flag: string, plausible = false): [ParamSpec, number] {
  const m = /^([^=]+)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected NAME=VALUE, got '${text}'`);
  const p = paramByName(m[1].trim(), flag);
  if (plausible) return [p, parseParamQuantity(p, m[2], `${flag} ${p.name}`, (u) => `${p.name}=${m[2].trim()}${u}`).value];
  return [p, parseQuantity(m[2], p.quantity, p.bareUnit, `${flag} ${p.name}`).value];
}

/** `H_appl=25,j_DC=0.25mA@loss<0.15,epochs=10`: learning rates, then end conditions. */
function parseStage(text: string, fitted: Set<string>, flag: string): Stage {
  const [rates, cond] = text.split("@");
  const stage: Stage = { lr: {} };
  for (const part of rates.split(",").filter((s) => s.trim() !== "")) {
    const [p, v] = parseAssign(part, flag);
    if (!fitted.has(p.name)) throw new UsageError(`${flag}: ${p.name} is not in --fit`);
    if (!(v > 0)) throw new UsageError(`${flag}: learning rate of ${p.name} must be > 0`);
    stage.lr[p.name] = v;
  }
  if (Object.keys(stage.lr).length === 0) throw new UsageError(`${flag}: '${text}' names no learning rate (e.g. H_appl=25)`);
  for (const c of (cond ?? "").split(",").filter((s) => s.trim() !== "")) {
    let m: RegExpExecArray | null;
    if ((m = /^\s*loss\s*<\s*(\S+)\s*$/.exec(c)) && Number(m[1]) > 0) stage.untilLoss = Number(m[1]);
    else if ((m = /^\s*epochs\s*=\s*(\d+)\s*$/.exec(c))) stage.epochs = Number(m[1]);
    else throw new UsageError(`${flag}: unknown stage condition '${c}' (accepted: loss<X, epochs=N)`);
  }
  return stage;
}

/** What a sysid command line asks for: a fit of teacher files (or measured data), or of a frequency table. */
export type SysidFlags = { kind: "teacher"; settings: SysidSettings } | { kind: "spectrum"; settings: SpectrumSysidSettings };

/** `given`: whether a flag was on the command line (not a default). */
export function sysidSettingsFromFlags(
  files: string[],
  opts: Record<string, string | string[] | boolean | undefined>,
  given: (flag: string) => boolean,
): SysidFlags {
  const { str, list } = optionReader(opts);
  // ---- settings (every flag checked before any file is read)
  const names = str("fit")!
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError("--fit: name at least one parameter");
  const specs = names.map((n) => paramByName(n, "--fit"));
  if (new Set(names).size !== names.length) throw new UsageError("--fit: a parameter is named twice");
  checkIdentifiable(names);
  const figureNotes: string[] = [];
  const figures = { export: exportOptions(opts, figureNotes), components: parseComponents(str("components")!) };
  for (const n of figureNotes) note(n);
  const ranges = rangesFor(names, list("range"));
  const inits = new Map<string, number>();
  for (const r of list("init")) {
    const [p, v] = parseAssign(r, "--init", true);
    inits.set(p.name, v);
  }
  const params: FitParam[] = specs.map((p) => {
    const range = ranges.get(p.name)!;
    const start = inits.get(p.name) ?? (range[0] + range[1]) / 2;
    if (!(start >= range[0] && start <= range[1])) throw new UsageError(`--init: ${p.name} = ${start} lies outside its range ${range[0]}:${range[1]}`);
    return { spec: p, range, start };
  });
  for (const n of inits.keys()) if (!names.includes(n)) throw new UsageError(`--init: ${n} is not in --fit`);
  for (const n of names) if (opts[n] !== undefined) throw new UsageError(`--${n}: ${n} is fitted; give its start with --init ${n}=VALUE`);
  if (str("spectrum") !== undefined) {
    if (files.length) throw new UsageError(`--spectrum fits a frequency table; drop the teacher file(s) ${files.join(", ")}`);
    return { kind: "spectrum", settings: spectrumSettingsFromFlags(str("spectrum")!, params, opts, given("washout")) };
  }
  if (files.length === 0) throw new UsageError("missing teacher file (or --spectrum TABLE for a frequency table)");
  const epochs = intFlag(str("epochs")!, "--epochs", 0);
  const lrScale = Number(str("lr-scale"));
  if (!(lrScale > 0)) throw new UsageError(`--lr-scale: must be a number > 0 (got '${str("lr-scale")}')`);
  const lrOverride = new Map<string, number>();
  for (const r of list("lr")) {
    const [p, v] = parseAssign(r, "--lr");
    if (!names.includes(p.name)) throw new UsageError(`--lr: ${p.name} is not in --fit`);
    if (!(v > 0)) throw new UsageError(`--lr: learning rate of ${p.name} must be > 0`);
    lrOverride.set(p.name, v);
  }
  const fitted = new Set(names);
  const stages: Stage[] = list("stage").length
    ? list("stage").map((s) => parseStage(s, fitted, "--stage"))
    : [{ lr: Object.fromEntries(params.map((p) => [p.spec.name, lrOverride.get(p.spec.name) ?? lrScale * (p.range[1] - p.range[0])])) }];
  for (const s of stages) s.epochs = s.epochs ?? epochs;
  const mode = choiceFlag<GradientMode>(str("gradient")!, "--gradient", ["dual", "adjoint"]);
  const refineMethod = choiceFlag<Refinement>(str("refine")!, "--refine", ["lm", "none"]);
  const tol = (k: string) => {
    const v = Number(str(k));
    if (!(v >= 0 && v < 1)) throw new UsageError(`--${k}: must be a number in [0, 1) (got '${str(k)}')`);
    return v;
  };
  const lmOpts = { ftol: tol("ftol"), xtol: tol("xtol"), gtol: tol("gtol"), maxIterations: intFlag(str("max-iterations")!, "--max-iterations", 1) };
  let sigma: number | undefined;
  if (str("sigma") !== undefined) {
    sigma = Number(str("sigma"));
    if (!(sigma > 0 && Number.isFinite(sigma)))
      throw new UsageError(`--sigma: must be a number > 0 (the noise standard deviation of m_x; got '${str("sigma")}')`);
  }
  const starts = intFlag(str("starts")!, "--starts", 1, 10000);
  const seed = intFlag(str("seed")!, "--seed", 0, 2 ** 32 - 1);
  const maxFailures = intFlag(str("max-failures")!, "--max-failures", 1);
  const patience = intFlag(str("patience")!, "--patience", 0);
  const minImprovement = Number(str("min-improvement"));
  if (!(minImprovement >= 0 && minImprovement < 1)) throw new UsageError(`--min-improvement: must be a fraction in [0, 1) (got '${str("min-improvement")}')`);
  const batchText = str("batch")!;
  const batchFlag = batchText === "all" ? Infinity : intFlag(batchText, "--batch", 1);
  const many = files.length > 1;
  if (many && opts.history) throw new UsageError("--history: one file only (several teachers were given)");
  if (many && str("plot") !== undefined) throw new UsageError("--plot: one file only (several teachers were given)");
  if (files.filter((f) => f === "-").length > 1) throw new UsageError("- (stdin) can be given once");
  if (str("report") === "-" && opts.json) throw new UsageError("--report -: stdout already carries --json; write the report to a file");
  if (str("report") === "-" && many)
    throw new UsageError("--report -: stdout carries one row per file when several files are given; write the report to a file");
  // fixed-parameter flags and --threads: checked here, before any file is read; the rest of the teacher flags where a teacher is read (per file)
  const flagNotes: string[] = [];
  paramsFromOptions(opts, flagNotes);
  const threads = str("threads") !== undefined ? intFlag(str("threads")!, "--threads", 1, 64) : Math.min(2, os.availableParallelism());
  const jobs = str("jobs") !== undefined ? intFlag(str("jobs")!, "--jobs", 1, 64) : Math.min(files.length, threads);
  return {
    kind: "teacher",
    settings: {
      files,
      teacher: parsed(() => teacherSettingsFromFlags(opts)),
      signal: str("signal"),
      m0Given: str("m0") !== undefined,
      measuredFlag: measuredFlagGiven(opts, given),
      measured: parsed(() => measuredSettingsFromFlags(opts, given)),
      out: str("out"),
      history: str("history"),
      report: str("report"),
      plot: str("plot"),
      json: Boolean(opts.json),
      names,
      params,
      figures,
      epochs,
      lrScale,
      stages,
      mode,
      refine: refineMethod,
      lm: lmOpts,
      sigma,
      starts,
      seed,
      maxFailures,
      patience,
      minImprovement,
      batch: batchFlag,
      threads,
      jobs,
    },
  };
}

/** --spectrum TABLE: the frequency-table fit's flags (--washout defaults to 40 ns there unless given; --threads to the cores, at most 2). */
function spectrumSettingsFromFlags(file: string, params: FitParam[], opts: Record<string, unknown>, washoutGiven: boolean): SpectrumSysidSettings {
  const { str } = optionReader(opts);
  const notes: string[] = [];
  const base = paramsFromOptions(opts, notes);
  const dtS = timeFlag(str("dt")!, "--dt", notes);
  const washoutS = washoutGiven ? timeFlag(str("washout")!, "--washout", notes, false) : 40e-9;
  const windowS = timeFlag(str("spectrum-window")!, "--spectrum-window", notes);
  const threads = str("threads") !== undefined ? intFlag(str("threads")!, "--threads", 1, 64) : Math.min(2, os.availableParallelism());
  const maxIterations = str("max-iterations") !== undefined ? intFlag(str("max-iterations")!, "--max-iterations", 1) : 100;
  const temperatureK = str("temperature") !== undefined ? temperatureFlag(str("temperature")!, "--temperature", notes) : undefined;
  return { file, params, base, dtS, washoutS, windowS, threads, maxIterations, temperatureK, notes, out: str("out"), json: Boolean(opts.json) };
}
