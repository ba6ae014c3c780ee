/** Rendering of `stoopt sweep status` and `sweep collect` on stderr. */
import path from "node:path";
import { table } from "./text.js";
import type { SweepCollected, SweepStatus } from "../run/sweep.js";

export function statusTable(st: SweepStatus): string {
  return (
    table(
      ["cell", "state", "detail"],
      st.cells.map((c) => [c.name, c.state, c.detail]),
    ) +
    `${st.cells.length} cells: ${Object.entries(st.counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ")}`
  );
}

export function collectSummary(c: SweepCollected, dir: string): string {
  return (
    c.markdown +
    (c.unfinished.length ? `not finished, left out: ${c.unfinished.join(", ")}\n` : "") +
    `wrote ${path.join(dir, "table.{csv,md}")}, ${path.join(dir, "figure.svg")}`
  );
}
