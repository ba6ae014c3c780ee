/** Flags of `stoopt simulate` into its settings (cli/run/simulate.ts), the step and sample counts checked (plan). */
import { paramsFromOptions } from "../model.js";
import { choiceFlag, intFlag, seedFlag, temperatureFlag, timeFlag, vectorFlag } from "./parse.js";
import { plan, Scheme, SimulationSpec } from "../simulator.js";
import type { SimulateSettings } from "../run/simulate.js";

/** The settings, and the unit assumptions of bare numbers to note before the work. */
export function simulateSettingsFromFlags(opts: Record<string, string>): { settings: SimulateSettings; notes: string[] } {
  const notes: string[] = [];
  const spec: SimulationSpec = {
    params: paramsFromOptions(opts, notes),
    scheme: choiceFlag<Scheme>(opts.scheme, "--scheme", ["rk4", "heun"]),
    dtS: timeFlag(opts.dt, "--dt", notes),
    temperatureK: temperatureFlag(opts.temperature, "--temperature", notes),
    seed: seedFlag(opts.seed, "--seed"),
    trials: intFlag(opts.trials, "--trials", 1),
    washoutS: timeFlag(opts.washout, "--washout", notes, false),
    sampleS: timeFlag(opts.sample, "--sample", notes),
    durationS: timeFlag(opts.duration, "--duration", notes, false),
    m0: opts.m0 !== undefined ? vectorFlag(opts.m0, "--m0") : undefined,
  };
  plan(spec);
  return { settings: { spec, output: opts.output }, notes };
}
