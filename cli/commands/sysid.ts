/** `stoopt sysid`: fit model parameters to teacher trajectories (paper eq. 4, Fig. 2-3). Flags into settings; the work is cli/run/sysid.ts (teacher files, measured data) and cli/run/sysid-spectrum.ts (--spectrum). */
import { Command } from "commander";
import os from "node:os";
import { PARAMS, ParamSpec, paramByName, paramsFromOptions, parseParamQuantity } from "../model.js";
import { choiceFlag, collect, intFlag, optionReader } from "../options/parse.js";
import { addFixedParamOptions, addTeacherOptions, rangesFor } from "../options/teacher.js";
import { addMeasuredOptions } from "../options/measured.js";
import { addFigureOptions, exportOptions, parseComponents } from "../options/figures.js";
import { parseQuantity } from "../units.js";
import { UsageError } from "../errors.js";
import { checkIdentifiable, FitParam, GradientMode, Refinement, Stage, UNCERTAINTY_METHOD } from "../sysid.js";
import { LOSS_TEXT } from "../render/sysid.js";
import { note } from "../log.js";

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

export function sysidCommand(): Command {
  const cmd = new Command("sysid")
    .description("Fit model parameters to teacher trajectories m_x(t): the paper's Adam on eq. 4, then Levenberg-Marquardt")
    .usage("<teacher.csv|-> [more.csv ...] --fit NAMES [options]")
    .argument(
      "[teacher...]",
      "teacher CSV (trial,t,mx,my,mz as written by 'stoopt simulate'), or - for stdin; several files are fitted one by one (one row each)",
    )
    .option(
      "--spectrum <table>",
      "instead of teachers: fit steady-state frequencies in TABLE (CSV: f_Hz and parameter columns such as j_DC_A, H_appl_Oe, as 'stoopt spectrum --sweep' writes; optional f_err_Hz) by Levenberg-Marquardt (see README)",
    )
    .option(
      "--spectrum-window <time>",
      "--spectrum: window over which the model's frequency is measured after --washout (default there 40 ns) (bare number: ns)",
      "20ns",
    )
    .option("--temperature <T>", "--spectrum: also fit linewidth_Hz: weak-noise linewidth at T, gradient by central differences (README)")
    .requiredOption("--fit <names>", `comma-separated parameters to fit (any of ${PARAMS.map((p) => p.name).join(", ")})`)
    .option(
      "--range <name=min:max>",
      "fitting range (repeatable; units allowed, e.g. j_DC=2.5mA:7.5mA). Defaults: H_appl 1500:2000 Oe, j_DC 2.5:7.5 mA, alpha 0.001:0.01 (the paper's); others must be given",
      collect,
    )
    .option("--init <name=value>", "start value (repeatable); default: the middle of the range", collect)
    .option("--epochs <n>", "Adam epochs per stage (one epoch = every trial once); 0 skips Adam (Levenberg-Marquardt from the start points)", "20")
    .option("--batch <n>", "trials per Adam step (mini-batch); 'all' for full batch", "10")
    .option("--lr-scale <x>", "learning rate = x * range width (the paper: 0.1)", "0.1")
    .option("--lr <name=value>", "learning rate of one parameter, in its unit per step (repeatable; overrides --lr-scale)", collect)
    .option(
      "--stage <spec>",
      "a stage of a staged schedule (repeatable, run in order): 'H_appl=25@loss<0.15' then 'H_appl=2.5,j_DC=2.5e-4' (learning rates, then end conditions loss<X and/or epochs=N)",
      collect,
    )
    .option(
      "--gradient <mode>",
      "Adam's gradients: dual (forward-mode dual numbers, one tangent per fitted parameter) or adjoint (discrete adjoint of RK4, cost independent of the number of parameters); the refinement and the uncertainties always use the duals",
      "dual",
    )
    .option(
      "--refine <method>",
      "after Adam: lm (Levenberg-Marquardt on the sum of squared residuals, from the best point, until a tolerance is met) or none (return Adam's best eq. 4 point)",
      "lm",
    )
    .option("--ftol <x>", "refinement stops when the relative reduction of the sum of squares (actual and predicted) is <= x", "1e-10")
    .option("--xtol <x>", "refinement stops when the scaled step is <= x times the scaled parameter vector", "1e-10")
    .option("--gtol <x>", "refinement stops when the largest cosine between the residuals and a Jacobian column is <= x", "1e-10")
    .option("--max-iterations <n>", "refinement gives up (status not_converged) after n iterations", "200")
    .option(
      "--sigma <x>",
      "noise standard deviation of the teacher's m_x, if known: chi-square is sum (r/sigma)^2 and the covariance uses it; default: estimated from the residuals",
    )
    .option(
      "--starts <k>",
      "run K starts (the first at --init or the middle, the others spread over the ranges by a seeded Latin hypercube) and keep the best",
      "1",
    )
    .option("--seed <n>", "seed for mini-batch shuffling and start placement", "1")
    .option("--max-failures <n>", "stop after this many consecutive non-finite steps (exit 1, best parameters kept)", "8")
    .option("--jobs <n>", "files fitted at the same time when several are given (each with --threads / jobs worker threads); default: min(files, threads)")
    .option("-o, --out <file>", "write the full result as JSON (atomically); with several files, JSON Lines (one result or error per line)")
    .option("--history <file>", "write the per-epoch history as CSV (atomically; one file only)")
    .option("--report <file>", "write a text report in the layout of lmfit's fit_report (- for stdout; several files: one after another)")
    .option("--json", "print the result as JSON on stdout (several files: one JSON line per file)")
    .option("--plot <dir>", "also draw the figures of 'stoopt plot' (loss, parameters, teacher vs student) into DIR (one file only)")
    .option(
      "--components <list>",
      "--plot: magnetization components of the teacher-vs-student figures (mx, the default, what the loss compares; mx,my,mz or all)",
      "mx",
    );
  addFigureOptions(cmd, "--plot");
  addTeacherOptions(cmd);
  addMeasuredOptions(cmd);
  addFixedParamOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Loss: ${LOSS_TEXT}.
Phase 1 is the paper's Adam on eq. 4; phase 2 (--refine lm, default) minimizes the sum of squares by
Levenberg-Marquardt from the evaluated point with the lowest sum of squares. The returned point is the
best evaluated one in the objective the run minimizes; both loss and sum of squares are reported.
Status: ok (converged: ftol, xtol or gtol), at_bound (a parameter ends on its range: exit 0, warning),
not_converged (max iterations, stalled, or --refine none: exit 0, warning), failed (exit 1), interrupted (130 on SIGINT, 143 on SIGTERM).
Fixed parameters: a flag, else the teacher's sidecar (FILE.json from 'stoopt simulate', with a note when it
differs from the default), else the default; the result's "parameters" lists each with its source.
Units: values in the result are in each parameter's unit (Oe, A, cm, emu/cm3, rad/(Oe s), 1). A bare number
implausible in its unit (--j_DC 5 = 5 A) is refused with the likely unit; give the unit to insist (5A).
The result JSON: schemas/sysid-result.schema.json (fit.<name>.{value, unit, start, uncertainty, stderr,
relative_error, range, at_bound}, statistics, correlation, convergence, warnings, parameters, loss).
Uncertainty: ${UNCERTAINTY_METHOD}.
Measured data (m_x only, or a voltage column with --signal): each window's initial state, offset and amplitude
are fitted with the parameters by Levenberg-Marquardt (--m0, --window, --stride, --offset, --amplitude,
--uncertainty bootstrap); README "Fitting measured data".

Examples:
  stoopt simulate --H_appl 1820 --trials 20 --washout 100ns | stoopt sysid - --fit H_appl --json | jq .fit.H_appl.value
  stoopt sysid teacher.csv --fit H_appl,j_DC,alpha --starts 4 --report -
  stoopt sysid runs/*.csv --fit H_appl,j_DC --json > fits.jsonl
  stoopt sysid scope.csv --signal V_mV --fit H_appl --uncertainty bootstrap   # measured voltage: README "Fitting measured data"
  stoopt sysid teacher.csv --fit H_appl,j_DC --stage 'H_appl=25@loss<0.15,epochs=40' --stage 'H_appl=2.5,j_DC=2.5e-4'`,
  );
  cmd.action(async (files: string[], opts: Record<string, string | string[] | boolean | undefined>) => {
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
      const { runSpectrumFit } = await import("../run/sysid-spectrum.js");
      return runSpectrumFit(str("spectrum")!, params, opts, cmd.getOptionValueSource("washout") === "cli");
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
    const batchText = str("batch")!;
    const batchFlag = batchText === "all" ? Infinity : intFlag(batchText, "--batch", 1);
    const many = files.length > 1;
    if (many && opts.history) throw new UsageError("--history: one file only (several teachers were given)");
    if (many && str("plot") !== undefined) throw new UsageError("--plot: one file only (several teachers were given)");
    if (files.filter((f) => f === "-").length > 1) throw new UsageError("- (stdin) can be given once");
    if (str("report") === "-" && opts.json) throw new UsageError("--report -: stdout already carries --json; write the report to a file");
    if (str("report") === "-" && many)
      throw new UsageError("--report -: stdout carries one row per file when several files are given; write the report to a file");
    // fixed-parameter flags, --dt, --washout, --threads: checked once here (loadTeacher reads them again per file)
    const flagNotes: string[] = [];
    paramsFromOptions(opts, flagNotes);
    const threads = str("threads") !== undefined ? intFlag(str("threads")!, "--threads", 1, 64) : Math.min(2, os.availableParallelism());
    const jobs = str("jobs") !== undefined ? intFlag(str("jobs")!, "--jobs", 1, 64) : Math.min(files.length, threads);

    const { runSysid } = await import("../run/sysid.js");
    await runSysid({
      files,
      flags: opts,
      given: (k) => cmd.getOptionValueSource(k) === "cli",
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
      batch: batchFlag,
      threads,
      jobs,
    });
  });
  return cmd;
}
