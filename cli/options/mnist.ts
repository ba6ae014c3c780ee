/** Flags of `stoopt mnist` into the network's configuration (cli/network/config.ts); the run is cli/run/mnist.ts. */
import { UsageError } from "../errors.js";
import { checkCount, U32_MAX } from "../limits.js";
import { defaultParams, PARAMS, parseParamValue } from "../model.js";
import { choiceFlag, FlagValues, intFlag, numberFlag, seedFlag, timeFlag } from "./parse.js";
import { NetConfig, parseTune, Precision, RANGES, X0Norm } from "../network/config.js";
import { integerRatio } from "../simulator.js";
import type { Dataset } from "../idx.js";

/** --resume DIR: refuse flags given on the command line that contradict the checkpoint; --epochs may extend the run. */
export function checkAgainstCheckpoint(opts: FlagValues, explicit: (flag: string) => boolean, cfg: NetConfig, dir: string): void {
  const str = (k: string) => opts[k] as string;
  if (explicit("n") && intFlag(str("n"), "--n", 1) !== cfg.n) throw new UsageError(`--resume ${dir}: the checkpoint has N = ${cfg.n}, not ${str("n")}`);
  if (explicit("tune") && parseTune(str("tune")).name !== cfg.tune)
    throw new UsageError(`--resume ${dir}: the checkpoint was trained with --tune ${cfg.tune}, not ${str("tune")}`);
  if (explicit("cm") && numberFlag(str("cm"), "--cm") !== cfg.cmOe)
    throw new UsageError(`--resume ${dir}: the checkpoint has CM = ${cfg.cmOe}, not ${str("cm")}`);
  if (explicit("precision") && str("precision") !== cfg.precision)
    throw new UsageError(`--resume ${dir}: the checkpoint is ${cfg.precision}, not ${str("precision")}`);
  if (explicit("x0Norm") && str("x0Norm") !== (cfg.x0Norm ?? "unit"))
    throw new UsageError(`--resume ${dir}: the checkpoint was trained with --x0-norm ${cfg.x0Norm ?? "unit"}, not ${str("x0Norm")}`);
  if (explicit("epochs")) cfg.epochs = intFlag(str("epochs"), "--epochs", 1);
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

export function startFromFlags(opts: FlagValues, notes: string[]): StartSettings {
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

/** The new run's configuration: the rest of the flags, checked against the data (--val, the image size). */
export function netConfigFromFlags(opts: FlagValues, st: StartSettings, data: Dataset): NetConfig {
  const str = (k: string) => opts[k] as string;
  return {
    n: intFlag(str("n"), "--n", 1, 5000),
    nIn: data.rows * data.cols,
    nOut: 10,
    cmOe: numberFlag(str("cm"), "--cm"),
    dtS: st.dtS,
    steps: st.steps,
    tune: st.tune.name,
    groups: st.tune.groups,
    precision: st.precision,
    x0Norm: st.x0Norm,
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
    hAppl0: st.hAppl0,
    jDc0: st.jDc0,
    alpha0: st.alpha0,
    params: Array.from(defaultParams()),
    trainLimit: opts.trainLimit !== undefined ? intFlag(str("trainLimit"), "--train-limit", 1) : data.train.count,
    testLimit: opts.testLimit !== undefined ? intFlag(str("testLimit"), "--test-limit", 1) : data.test.count,
    val: intFlag(str("val"), "--val", 0, data.train.count - 1),
  };
}
