/**
 * The coupled-STO network's settings (paper eq. 5-8, supplement) and the
 * layout of its trainable parameters. Every choice the paper leaves open is
 * a named default here, echoed by `stoopt mnist --help` and the README.
 */
import { UsageError } from "../errors.js";
import { PARAMS } from "../model.js";
import type { Precision, X0Norm } from "../core/network.js";

export type { Precision };

/**
 * How x(0) = W_in u becomes each STO's initial magnetization (core-rs
 * network.rs `X0Norm`): "unit" normalizes every 3-vector to |m| = 1 and
 * restores |m| = 1 after every RK4 step (the paper's text); "raw" keeps
 * m(0) = W_in u and never renormalizes.
 */
export type { X0Norm };

export type Group = "win" | "wout" | "phys";
export const GROUPS: readonly Group[] = ["win", "wout", "phys"];

/** Table II's six tuning cases, by name. */
export const TUNE_CASES: Record<string, Group[]> = {
  full: ["win", "wout", "phys"],
  "win,wout": ["win", "wout"],
  "win,phys": ["win", "phys"],
  win: ["win"],
  "wout,phys": ["wout", "phys"],
  wout: ["wout"],
};

/** `full` or a comma list of win, wout, phys, in canonical order. */
export function parseTune(text: string, flag = "--tune"): { name: string; groups: Group[] } {
  if (text === "full") return { name: "full", groups: TUNE_CASES.full };
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of parts)
    if (!(GROUPS as readonly string[]).includes(p)) throw new UsageError(`${flag}: '${p}' is not one of full, win, wout, phys (e.g. --tune win,phys)`);
  const groups = GROUPS.filter((g) => parts.includes(g));
  if (groups.length === 0) throw new UsageError(`${flag}: nothing to tune`);
  const name = groups.length === 3 ? "full" : groups.join(",");
  return { name, groups };
}

export interface LearningRates {
  win: number;
  wout: number;
  happl: number;
  jdc: number;
  alpha: number;
  /** factor applied after every epoch */
  decay: number;
}

/** The supplement's learning rates (Adam, decay 0.85 per epoch). */
export const PAPER_LR: LearningRates = { win: 1e-3, wout: 1e-3, happl: 1.0, jdc: 1e-6, alpha: 1e-6, decay: 0.85 };

export interface NetConfig {
  n: number;
  nIn: number;
  nOut: number;
  cmOe: number;
  dtS: number;
  steps: number;
  tune: string;
  groups: Group[];
  precision: Precision;
  /** absent in checkpoints from before the option: "unit" */
  x0Norm?: X0Norm;
  seed: bigint;
  batch: number;
  epochs: number;
  lr: LearningRates;
  /** initial H_appl of every STO [Oe], j_DC [A], alpha */
  hAppl0: number;
  jDc0: number;
  alpha0: number;
  /** Table I parameters in core ABI order (H_appl, j_DC, alpha overridden per call) */
  params: number[];
  /** images used: training (<= 60000) and test (<= 10000) */
  trainLimit: number;
  testLimit: number;
  /**
   * validation images: the last `val` images of the training file, held out
   * (never trained on) and evaluated after every epoch; 0 = none. Absent in
   * checkpoints written before the option existed (read as 0).
   */
  val?: number;
}

/** Physical ranges kept during training (the paper's fitting ranges, Table I units). */
export const RANGES = {
  happl: PARAMS.find((p) => p.name === "H_appl")!.range!,
  jdc: PARAMS.find((p) => p.name === "j_DC")!.range!,
  alpha: PARAMS.find((p) => p.name === "alpha")!.range!,
};

/** Offsets of the groups in the flat parameter vector theta. */
export interface Layout {
  win: [number, number];
  wout: [number, number];
  happl: [number, number];
  jdc: number;
  alpha: number;
  total: number;
}

export function layout(n: number, nIn: number, nOut: number): Layout {
  const a = 3 * n * nIn;
  const b = a + nOut * (3 * n + 1);
  const c = b + n;
  return { win: [0, a], wout: [a, b], happl: [b, c], jdc: c, alpha: c + 1, total: c + 2 };
}

/** Random streams of the one --seed. */
export const STREAM = { coupling: 1n, win: 2n, wout: 3n, shuffle: 1000n } as const;

/** bits for stoopt_net_step's `want` (cli/core/codes.ts WANT) */
export { wantBits } from "../core/network.js";
