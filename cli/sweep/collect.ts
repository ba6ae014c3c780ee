/**
 * `stoopt sweep collect DIR`: one table from the finished cells of a sweep, the mean
 * and standard deviation (sample, n - 1) over one axis (by default `seed`) per
 * combination of the other axes; CSV, Markdown and a figure with error bars.
 */
import path from "node:path";
import { UsageError } from "../errors.js";
import { num, csv } from "../render/text.js";
import { errorBarFigure } from "../render/figures/figures.js";
import type { Figure } from "../render/figures/export.js";
import { adapterFor, Metrics } from "./adapters.js";
import { cellStatus, readCell } from "./cell.js";
import { cellDirs, readSweep } from "./run.js";
import type { Value } from "./spec.js";

export interface Row {
  /** the cell values that define the row (every axis but `over`) */
  key: Record<string, Value>;
  /** cells in the row, and how many of them are finished */
  cells: number;
  n: number;
  stats: Record<string, { mean: number; std: number | null }>;
}

export interface Collected {
  command: string;
  axes: string[];
  over: string | null;
  metrics: string[];
  rows: Row[];
  unfinished: string[];
}

export function meanStd(xs: number[]): { mean: number; std: number | null } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: null };
  const v = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1);
  return { mean, std: Math.sqrt(v) };
}

export function collectSweep(dir: string, overFlag?: string): Collected {
  const dirs = cellDirs(dir);
  const cells = dirs.map((d) => ({ dir: d, cell: readCell(d) }));
  const command = cells[0].cell.command;
  const other = cells.find((c) => c.cell.command !== command);
  if (other) throw new UsageError(`${other.dir}: a cell of stoopt ${other.cell.command} in a sweep of stoopt ${command}`);
  const adapter = adapterFor(command)!;
  const fromSweep = readSweep(dir)?.axes.map(([a]) => a) ?? [];
  const axes = [...fromSweep];
  for (const c of cells) for (const a of Object.keys(c.cell.values)) if (!axes.includes(a)) axes.push(a);
  let over: string | null = null;
  if (overFlag !== undefined) {
    if (!axes.includes(overFlag)) throw new UsageError(`--over: '${overFlag}' is not an axis of this sweep (axes: ${axes.join(", ") || "none"})`);
    over = overFlag;
  } else if (axes.includes("seed")) over = "seed";
  const keyAxes = axes.filter((a) => a !== over);
  const rows = new Map<string, { key: Record<string, Value>; cells: number; values: Metrics[] }>();
  const unfinished: string[] = [];
  const metricNames: string[] = [];
  for (const c of cells) {
    const key = Object.fromEntries(keyAxes.map((a) => [a, c.cell.values[a]]));
    const id = JSON.stringify(keyAxes.map((a) => c.cell.values[a]));
    if (!rows.has(id)) rows.set(id, { key, cells: 0, values: [] });
    const row = rows.get(id)!;
    row.cells++;
    const m = cellStatus(c.dir).state === "done" ? adapter.metrics(c.dir) : undefined;
    if (!m) {
      unfinished.push(path.basename(c.dir));
      continue;
    }
    for (const k of Object.keys(m)) if (!metricNames.includes(k)) metricNames.push(k);
    row.values.push(m);
  }
  if (metricNames.length === 0 && unfinished.length === cells.length)
    throw new UsageError(`${dir}: no cell is finished yet (see 'stoopt sweep status ${dir}')`);
  if (metricNames.length === 0) throw new UsageError(`${dir}: stoopt ${command} runs give no numbers to tabulate`);
  const out: Row[] = [...rows.values()].map((r) => ({
    key: r.key,
    cells: r.cells,
    n: r.values.length,
    stats: Object.fromEntries(
      metricNames.map((m) => {
        const xs = r.values.map((v) => v[m]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
        return [m, xs.length ? meanStd(xs) : { mean: NaN, std: null }];
      }),
    ),
  }));
  return { command, axes: keyAxes, over, metrics: metricNames, rows: out, unfinished };
}

export function collectedCsv(c: Collected): string {
  const cols = [...c.axes, "n", "cells", ...c.metrics.flatMap((m) => [`${m}_mean`, `${m}_std`])];
  return csv(
    cols,
    c.rows.map((r) => ({
      ...r.key,
      n: r.n,
      cells: r.cells,
      ...Object.fromEntries(
        c.metrics.flatMap((m) => [
          [`${m}_mean`, r.stats[m].mean],
          [`${m}_std`, r.stats[m].std ?? NaN],
        ]),
      ),
    })),
  );
}

export function collectedMarkdown(c: Collected): string {
  const over = c.over ? ` over ${c.over}` : "";
  const head = [...c.axes, "n", ...c.metrics.map((m) => `${m} (mean ± std${over})`)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of c.rows) {
    const cells = c.metrics.map((m) => {
      const s = r.stats[m];
      if (!Number.isFinite(s.mean)) return "";
      return s.std === null ? num(s.mean, 4) : `${num(s.mean, 4)} ± ${num(s.std, 2)}`;
    });
    lines.push(`| ${[...c.axes.map((a) => String(r.key[a])), r.cells > r.n ? `${r.n} of ${r.cells}` : String(r.n), ...cells].join(" | ")} |`);
  }
  return lines.join("\n") + "\n";
}

/** `test_accuracy_pct` -> `test accuracy [%]`: the unit in the name becomes the axis title's. */
function titleWithUnit(metric: string): string {
  const units: [RegExp, string][] = [
    [/_pct$/, "%"],
    [/_s$/, "s"],
    [/_Oe$/, "Oe"],
    [/_A$/, "A"],
  ];
  for (const [re, u] of units) if (re.test(metric)) return `${metric.replace(re, "").replace(/_/g, " ")} [${u}]`;
  return `${metric.replace(/_/g, " ")} [1]`;
}

/** The metric against the first axis, one series per combination of the others, +-1 std bars. */
export function collectedFigure(c: Collected, metric: string): Figure {
  if (!c.metrics.includes(metric)) throw new UsageError(`--metric: '${metric}' is not among the collected numbers (${c.metrics.join(", ")})`);
  const [xAxis, ...rest] = c.axes;
  const label = (r: Row) => rest.map((a) => `${a} = ${r.key[a]}`).join(", ");
  return errorBarFigure({
    name: "figure",
    title: `${metric}: mean ± 1 std${c.over ? ` over ${c.over}` : ""} (stoopt ${c.command})`,
    xTitle: xAxis ?? "run",
    yTitle: titleWithUnit(metric),
    seriesTitle: rest.join(", ") || undefined,
    points: c.rows.map((r) => ({ x: xAxis ? String(r.key[xAxis]) : "run", series: label(r), mean: r.stats[metric].mean, std: r.stats[metric].std, n: r.n })),
  });
}
