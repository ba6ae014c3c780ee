/** `stoopt sysid`: fit model parameters to teacher trajectories (paper eq. 4, Fig. 2-3). */
import { Command } from "commander";
import fs from "node:fs";
import { PARAMS, ParamSpec, paramByName } from "../model.js";
import { choiceFlag, intFlag } from "../options.js";
import { parseQuantity } from "../units.js";
import { EXIT_INTERRUPTED, EXIT_RUNTIME, UsageError } from "../errors.js";
import { checkIdentifiable, EpochRecord, FitEvent, FitParam, fitOnce, GradientMode, Stage, StartResult, startPoints, uncertainty, UNCERTAINTY_METHOD } from "../sysid.js";
import { addFixedParamOptions, addTeacherOptions, collect, makeEvaluator, optionReader, rangesFor, readTeacherData, teacherArrays } from "./common.js";
import { addMeasuredOptions, runMeasured } from "./sysid-measured.js";
import { checkTimeAxis } from "../measured.js";
import { info, note, paint, progress } from "../log.js";
import { csv, num, table, toJson, writeJson } from "../render.js";
import { writeFileAtomic } from "../output.js";
import { plotSysid } from "./plot.js";

/** `name=value`, value with units. */
function parseAssign(text: string, flag: string): [ParamSpec, number] {
  const m = /^([^=]+)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected NAME=VALUE, got '${text}'`);
  const p = paramByName(m[1].trim(), flag);
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

/** True parameter values from a `stoopt simulate` sidecar (FILE.json), if there is one. */
function sidecarTruth(file: string): Record<string, number> | undefined {
  if (file === "-") return undefined;
  try {
    const meta = JSON.parse(fs.readFileSync(`${file}.json`, "utf8"));
    if (meta?.command !== "simulate" || typeof meta.parameters !== "object") return undefined;
    return Object.fromEntries(Object.entries(meta.parameters as Record<string, { value: number }>).map(([k, v]) => [k, v.value]));
  } catch {
    return undefined;
  }
}

export function sysidCommand(): Command {
  const cmd = new Command("sysid")
    .description("Fit model parameters to teacher trajectories m_x(t) by gradient descent (paper eq. 4)")
    .usage("<teacher.csv|-> --fit NAMES [options]")
    .argument("<teacher>", "teacher CSV (trial,t,mx,my,mz as written by 'stoopt simulate'), or - for stdin")
    .requiredOption("--fit <names>", `comma-separated parameters to fit (any of ${PARAMS.map((p) => p.name).join(", ")})`)
    .option("--range <name=min:max>", "fitting range (repeatable; units allowed, e.g. j_DC=2.5mA:7.5mA). Defaults: H_appl 1500:2000 Oe, j_DC 2.5:7.5 mA, alpha 0.001:0.01 (the paper's); others must be given", collect)
    .option("--init <name=value>", "start value (repeatable); default: the middle of the range", collect)
    .option("--epochs <n>", "epochs per stage (one epoch = every trial once)", "20")
    .option("--batch <n>", "trials per Adam step (mini-batch); 'all' for full batch", "10")
    .option("--lr-scale <x>", "learning rate = x * range width (the paper: 0.1)", "0.1")
    .option("--lr <name=value>", "learning rate of one parameter, in its unit per step (repeatable; overrides --lr-scale)", collect)
    .option("--stage <spec>", "a stage of a staged schedule (repeatable, run in order): 'H_appl=25@loss<0.15' then 'H_appl=2.5,j_DC=2.5e-4' (learning rates, then end conditions loss<X and/or epochs=N)", collect)
    .option("--gradient <mode>", "dual: forward-mode dual numbers (one tangent per fitted parameter; gives the Gauss-Newton uncertainty); adjoint: discrete adjoint of RK4 (cost independent of the number of parameters)", "dual")
    .option("--starts <k>", "run K starts (the first at --init or the middle, the others spread over the ranges by a seeded Latin hypercube) and keep the lowest loss", "1")
    .option("--seed <n>", "seed for mini-batch shuffling and start placement", "1")
    .option("--max-failures <n>", "stop after this many consecutive non-finite steps (exit 1, best parameters kept)", "8")
    .option("-o, --out <file>", "write the full result as JSON (atomically)")
    .option("--history <file>", "write the per-epoch history as CSV (atomically)")
    .option("--json", "print the result as JSON on stdout")
    .option("--plot <dir>", "also draw the figures of 'stoopt plot' (loss, parameters, teacher vs student) into DIR");
  addTeacherOptions(cmd);
  addMeasuredOptions(cmd);
  addFixedParamOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Units: values in the result are in each parameter's unit (Oe, A, cm, emu/cm3, rad/(Oe s), 1).
The result JSON has fit.<name>.{value, unit, start, uncertainty, range} and loss (eq. 4).
Uncertainty: ${UNCERTAINTY_METHOD}.

Examples:
  stoopt simulate --H_appl 1820 --trials 20 --washout 100ns | stoopt sysid - --fit H_appl --json | jq .fit.H_appl.value
  stoopt sysid teacher.csv --fit H_appl,j_DC --starts 8 -o fit.json
  stoopt sysid teacher.csv --fit H_appl,j_DC --stage 'H_appl=25@loss<0.15,epochs=40' --stage 'H_appl=2.5,j_DC=2.5e-4'`,
  );
  cmd.action(async (file: string, opts: Record<string, string | string[] | boolean | undefined>) => {
    const t0 = Date.now();
    const { str, list } = optionReader(opts);
    // ---- settings
    const names = str("fit")!.split(",").map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw new UsageError("--fit: name at least one parameter");
    const specs = names.map((n) => paramByName(n, "--fit"));
    if (new Set(names).size !== names.length) throw new UsageError("--fit: a parameter is named twice");
    checkIdentifiable(names);
    const ranges = rangesFor(names, list("range"));
    const inits = new Map<string, number>();
    for (const r of list("init")) {
      const [p, v] = parseAssign(r, "--init");
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
    const epochs = intFlag(str("epochs")!, "--epochs", 1);
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
    const starts = intFlag(str("starts")!, "--starts", 1, 10000);
    const seed = intFlag(str("seed")!, "--seed", 0, 2 ** 32 - 1);
    const maxFailures = intFlag(str("max-failures")!, "--max-failures", 1);
    const batchText = str("batch")!;
    const batchFlag = batchText === "all" ? Infinity : intFlag(batchText, "--batch", 1);
    // ---- data
    const signal = str("signal");
    const raw = await readTeacherData(file, opts, signal);
    checkTimeAxis(raw.data.trials, raw.dtS, raw.data.file, raw.data.timeName);
    const hasState = raw.data.hasMy && raw.data.hasMz && signal === undefined;
    const measuredFlags = ["signal", "offset", "amplitude", "stride"].some((k) => str(k) !== undefined) || str("m0") === "fit" || str("uncertainty") === "bootstrap" || cmd.getOptionValueSource("window") === "cli";
    const implicit = !hasState && signal === undefined && str("m0") === undefined;
    if (measuredFlags || !hasState) {
      const why = implicit ? `the teacher has no full state: a student that starts from the teacher's state needs columns my and mz, so each window's initial state is fitted (--m0 fit)` : undefined;
      await runMeasured({ file, cmd, opts, str, loaded: raw, names, params, starts, seed, truth: sidecarTruth(file), t0, why });
      return;
    }
    const loaded = { ...raw, arrays: teacherArrays(raw.data) };
    const { data, arrays, base, dtS, washoutS, threads } = loaded;
    const nTrials = arrays.labels.length;
    const batch = Math.min(batchFlag, nTrials);
    const ev = makeEvaluator(loaded);
    // SIGINT: finish the current step, write what there is, exit 130
    let interrupted = false;
    const onSigint = () => {
      if (interrupted) process.exit(EXIT_INTERRUPTED);
      interrupted = true;
      note("interrupted: stopping after the current step (Ctrl-C again to abort)");
    };
    process.on("SIGINT", onSigint);
    const events: FitEvent[] = [];
    const history: EpochRecord[] = [];
    const results: StartResult[] = [];
    const totalEpochs = starts * stages.reduce((s, st) => s + (st.epochs ?? 0), 0);
    const bar = progress(totalEpochs, "sysid");
    let done = 0;
    try {
      const points = startPoints(params, starts, seed);
      for (let s = 0; s < points.length && !interrupted; s++) {
        const r = await fitOnce(ev, nTrials, { base, params, stages, mode, batch, seed, maxFailures, shouldStop: () => interrupted, onEpoch: () => bar.update(++done) }, s, points[s], events, history);
        results.push(r);
      }
      bar.stop();
      // the lowest finite loss; if every start failed, the first start's values are reported
      const best = results.reduce<StartResult | undefined>((b, r) => (!b || (Number.isFinite(r.loss) && !(r.loss >= b.loss)) ? r : b), undefined);
      if (!best) throw new UsageError("interrupted before the first epoch finished");
      const sigma = Number.isFinite(best.loss) ? await uncertainty(ev, nTrials, base, params, best.values).catch(() => params.map(() => NaN)) : params.map(() => NaN);
      const truth = sidecarTruth(file);
      const status = interrupted ? "interrupted" : results.every((r) => r.status === "failed") ? "failed" : "ok";
      const result = {
        stoopt: "0.1.0",
        command: "sysid",
        status,
        input: { file, sha256: data.sha256, trials: nTrials, samples: arrays.t_s.length, truncated: data.truncated },
        settings: {
          fit: names,
          dt_s: dtS,
          washout_s: washoutS,
          epochs,
          batch,
          gradient: mode,
          starts,
          seed,
          lr_scale: lrScale,
          max_failures: maxFailures,
          threads,
          scale: Number(str("scale")),
          stages,
          fixed: Object.fromEntries(PARAMS.filter((p) => !fitted.has(p.name)).map((p) => [p.name, { value: base[p.index], unit: p.unit }])),
        },
        fit: Object.fromEntries(
          params.map((p, i) => [
            p.spec.name,
            { value: best.values[p.spec.name], unit: p.spec.unit, start: best.startValues[p.spec.name], uncertainty: Number.isFinite(sigma[i]) ? sigma[i] : null, range: p.range, ...(truth ? { true: truth[p.spec.name] } : {}) },
          ]),
        ),
        loss: best.loss,
        epochs: best.epochs,
        best_start: best.start,
        time_s: (Date.now() - t0) / 1000,
        uncertainty_method: UNCERTAINTY_METHOD,
        starts: results,
        events,
        history,
      };
      // ---- render
      if (opts.out) writeJson(str("out")!, result, "--out");
      if (opts.history) {
        const cols = ["start", "stage", "epoch", "loss", ...names.map((n) => n), ...names.map((n) => `lr_${n}`)];
        writeFileAtomic(str("history")!, csv(cols, history.map((h) => ({ start: h.start, stage: h.stage, epoch: h.epoch, loss: h.loss, ...h.values, ...Object.fromEntries(Object.entries(h.lr).map(([k, v]) => [`lr_${k}`, v])) }))), "--history");
      }
      const c = paint();
      info(
        "\n" +
          table(
            ["parameter", "start", "fitted", "uncertainty", "range", "unit", ...(truth ? ["true"] : [])],
            params.map((p, i) => [p.spec.name, num(best.startValues[p.spec.name]), c.bold(num(best.values[p.spec.name], 7)), num(sigma[i], 3), `${num(p.range[0])}:${num(p.range[1])}`, p.spec.unit || "1", ...(truth ? [num(truth[p.spec.name])] : [])]),
          ) +
          `loss ${num(best.loss, 5)} (eq. 4) | ${best.epochs} epochs | start ${best.start + 1} of ${results.length} | ${((Date.now() - t0) / 1000).toFixed(1)} s | ${mode} gradients | ${nTrials} trials` +
          (events.some((e) => e.kind === "nonfinite_step_rejected") ? ` | ${events.filter((e) => e.kind === "nonfinite_step_rejected").length} non-finite steps rejected` : "") +
          (status !== "ok" ? ` | ${c.yellow(status)}` : ""),
      );
      if (opts.json) process.stdout.write(toJson(result));
      if (str("plot") !== undefined) {
        const files = await plotSysid(JSON.parse(toJson(result)), str("plot")!, { trial: 0 });
        info(`wrote ${files.join(", ")}`);
      }
      if (status === "interrupted") process.exitCode = EXIT_INTERRUPTED;
      else if (status === "failed") process.exitCode = EXIT_RUNTIME;
    } finally {
      process.off("SIGINT", onSigint);
      await ev.close();
    }
  });
  return cmd;
}

