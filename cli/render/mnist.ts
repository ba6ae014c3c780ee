/** Rendering of the network commands' results as text: eval's line, mnist's per-epoch line. */
import type { EvalResult } from "../run/eval.js";

/** `stoopt eval` without --json. */
export function evalLine(r: EvalResult): string {
  return `test accuracy ${(100 * r.accuracy).toFixed(2)} % (${r.correct} of ${r.total}), loss ${r.loss.toFixed(4)}\n`;
}
