/**
 * What a sweep knows about each command it runs: where the command writes into a
 * cell folder, how to tell from those files that the run is finished or how far it
 * got, how to resume it, and which numbers `sweep collect` tabulates. Read from the
 * commands' own output files only.
 */
import fs from "node:fs";
import path from "node:path";

export interface Progress {
  /** the run's own outputs say it is finished */
  done: boolean;
  /** there is something a resume can continue from */
  partial: boolean;
  /** e.g. "3/15 epochs" */
  detail: string;
}

/** A number `sweep collect` tabulates; the unit is in the name. */
export type Metrics = Record<string, number>;

export interface Adapter {
  command: string;
  /** flags the sweep sets per cell (refused in a spec) */
  owned: string[];
  ownedWhy: string;
  /** the command's positional arguments are input files (checked before the sweep runs) */
  fileArguments?: boolean;
  /** flags that put the command's outputs into the cell folder */
  outArgs(cell: string): string[];
  /** the command line that continues a partial run, or undefined if the command starts over */
  resumeArgs?(cell: string, threads: number): string[];
  progress(cell: string): Progress;
  metrics(cell: string): Metrics | undefined;
  /** the metric `sweep collect` draws by default */
  figureMetric?: string;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);

const mnist: Adapter = {
  command: "mnist",
  owned: ["out", "resume"],
  ownedWhy: "each cell writes into its own folder and resumes from it",
  outArgs: (cell) => ["--out", cell],
  resumeArgs: (cell, threads) => ["--resume", cell, "--threads", String(threads)],
  progress(cell) {
    const r = readJson(path.join(cell, "result.json"));
    const cfg = r?.config as { epochs?: number } | undefined;
    const done = num(r?.epochs_done) ?? 0;
    const total = num(cfg?.epochs);
    const partial = fs.existsSync(path.join(cell, "checkpoint.bin"));
    return {
      done: total !== undefined && done >= total && partial,
      partial,
      detail: total !== undefined ? `${done}/${total} epochs` : partial ? "checkpoint" : "",
    };
  },
  metrics(cell) {
    if (!this.progress(cell).done) return undefined;
    const r = readJson(path.join(cell, "result.json"))!;
    const h = r.history as { test_accuracy: number; train_accuracy: number; val_accuracy?: number | null; wall_s: number }[];
    const last = h[h.length - 1];
    const m: Metrics = { test_accuracy_pct: 100 * last.test_accuracy, train_accuracy_pct: 100 * last.train_accuracy };
    if (typeof last.val_accuracy === "number") m.val_accuracy_pct = 100 * last.val_accuracy;
    m.wall_s = last.wall_s;
    return m;
  },
  figureMetric: "test_accuracy_pct",
};

/** Units of the fitted parameters as they appear in names (Oe, A, ...). */
function unitSuffix(u: unknown): string {
  const s = typeof u === "string" ? u.replace(/[^A-Za-z0-9]+/g, "") : "";
  return s ? `_${s}` : "";
}

const sysid: Adapter = {
  command: "sysid",
  owned: ["out"],
  ownedWhy: "each cell writes result.json into its own folder",
  fileArguments: true,
  outArgs: (cell) => ["--out", path.join(cell, "result.json")],
  progress(cell) {
    const r = readJson(path.join(cell, "result.json"));
    return { done: r?.status === "ok", partial: false, detail: r ? String(r.status) : "" };
  },
  metrics(cell) {
    const r = readJson(path.join(cell, "result.json"));
    if (r?.status !== "ok") return undefined;
    const m: Metrics = { loss: num(r.loss) ?? NaN };
    for (const [k, v] of Object.entries(r.fit as Record<string, { value: number; unit?: string; true?: number }>)) {
      m[`${k}${unitSuffix(v.unit)}`] = v.value;
      if (typeof v.true === "number") m[`${k}_error${unitSuffix(v.unit)}`] = v.value - v.true;
    }
    m.time_s = num(r.time_s) ?? NaN;
    return m;
  },
  figureMetric: "loss",
};

const landscape: Adapter = {
  command: "landscape",
  owned: ["out"],
  ownedWhy: "each cell writes landscape.{csv,json,svg} into its own folder",
  fileArguments: true,
  outArgs: (cell) => ["--out", cell],
  progress(cell) {
    const done = fs.existsSync(path.join(cell, "landscape.json"));
    return { done, partial: false, detail: "" };
  },
  metrics(cell) {
    const r = readJson(path.join(cell, "landscape.json"));
    const min = r?.minimum as Record<string, number> | undefined;
    if (!min) return undefined;
    return Object.fromEntries(Object.entries(min).map(([k, v]) => [k === "loss" ? "min_loss" : `argmin_${k}`, v]));
  },
  figureMetric: "min_loss",
};

const simulate: Adapter = {
  command: "simulate",
  owned: ["output"],
  ownedWhy: "each cell writes teacher.csv into its own folder",
  outArgs: (cell) => ["--output", path.join(cell, "teacher.csv")],
  progress(cell) {
    return { done: fs.existsSync(path.join(cell, "teacher.csv")) && fs.existsSync(path.join(cell, "teacher.csv.json")), partial: false, detail: "" };
  },
  metrics: () => undefined,
};

const ADAPTERS = [mnist, sysid, landscape, simulate];
export const SWEEPABLE = ADAPTERS.map((a) => a.command);

export function adapterFor(command: string): Adapter | undefined {
  return ADAPTERS.find((a) => a.command === command);
}
