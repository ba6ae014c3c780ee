/** Flags of `stoopt eval` into its settings (cli/run/eval.ts). */
import { intFlag } from "./parse.js";
import type { EvalSettings } from "../run/eval.js";

export function evalSettingsFromFlags(checkpoint: string, opts: { data?: string; threads: string }): EvalSettings {
  return { checkpoint, data: opts.data, threads: intFlag(opts.threads, "--threads", 1, 64) };
}
