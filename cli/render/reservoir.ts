/** Rendering of a reservoir result as text (its figures: cli/render/figures/reservoir.ts). */
import type { RunResult } from "../reservoir/run.js";

/** The line on stderr at the end of a run. */
export function reservoirSummary(result: RunResult): string {
  const mc = result.memory_capacity !== undefined ? `, memory capacity ${result.memory_capacity.toFixed(2)}` : "";
  return `${result.model}: test NRMSE ${result.test_nrmse.map((v) => v.toFixed(4)).join(", ")} (${result.outputs.length > 4 ? "mean " + result.test_nrmse_mean.toFixed(4) : result.outputs.join(", ")})${mc}; epoch ${result.chosen_epoch} chosen on validation; lambda ${result.lambda}`;
}
