/** `stoopt sysid`: fit model parameters to teacher trajectories (paper eq. 4, Fig. 2-3). The flags' parser is cli/options/sysid.ts; the work is cli/run/sysid.ts (teacher files, measured data) and cli/run/sysid-spectrum.ts (--spectrum). */
import { Command } from "commander";
import { PARAMS } from "../model.js";
import { collect } from "../options/parse.js";
import { addFixedParamOptions, addTeacherOptions } from "../options/teacher.js";
import { addMeasuredOptions } from "../options/measured.js";
import { addFigureOptions } from "../options/figures.js";
import { sysidSettingsFromFlags } from "../options/sysid.js";
import { UNCERTAINTY_METHOD } from "../fit/sysid.js";
import { LOSS_TEXT } from "../render/sysid.js";

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
    .option(
      "--patience <n>",
      "with --refine lm: Adam hands over to Levenberg-Marquardt once the loss on all the data has improved by less than --min-improvement in n epochs in a row (--epochs stays the most it runs); 0 runs every epoch (the paper's schedule)",
      "2",
    )
    .option("--min-improvement <x>", "relative improvement of the loss that counts as progress for --patience", "0.1")
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
    const flags = sysidSettingsFromFlags(files, opts, (k) => cmd.getOptionValueSource(k) === "cli");
    if (flags.kind === "spectrum") {
      const { runSpectrumFit } = await import("../run/sysid-spectrum.js");
      await runSpectrumFit(flags.settings);
      return;
    }
    const { runSysid } = await import("../run/sysid.js");
    await runSysid(flags.settings);
  });
  return cmd;
}
