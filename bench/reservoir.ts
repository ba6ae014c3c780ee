/**
 * `stoopt reservoir` training epoch on the NARMA10 setups of the results table
 * (4200 holds, all features, every physical parameter and W_in trained):
 * N = 50 coupled STOs with current input and 100 ps holds (2 RK4 steps of
 * 50 ps), the same with field input and 500 ps holds (10 steps), and one STO
 * with 50 virtual nodes (2.5 ns holds, 50 steps). One epoch = the
 * adjoint pass (each checkpointed segment recomputed, then reversed), the
 * Adam step, and the forward pass with the ridge readout re-solved for the
 * 15 regularizations. Work per epoch: holds x RK4 steps x STOs. Printed,
 * never asserted (shared machines).
 */
import { core } from "../cli/core/wasm.js";
import { resFlopsPerStep } from "../cli/core/reservoir.js";
import { setQuiet } from "../cli/log.js";
import { defaultParams } from "../cli/model.js";
import { ReservoirSettings, runSto } from "../cli/reservoir/run.js";

export function narmaSettings(n: number, virtual: number, holdS: number, epochs: number, inputMode: "field" | "current"): ReservoirSettings {
  const length = 4200;
  const sub = Math.round(holdS / 50e-12 / virtual);
  return {
    task: "narma10",
    model: "sto",
    horizons: [1],
    mcDelays: 1,
    length,
    washout: 200,
    train: 2000,
    val: 1000,
    test: 1000,
    seed: "1",
    n,
    virtual,
    feat: "all",
    inputMode,
    dtS: 50e-12,
    holdS,
    sub,
    cmOe: 10,
    hAppl0Oe: 1750,
    jDc0A: 5e-3,
    alpha0: 0.0055,
    inField0Oe: 1000,
    inCurrent0A: 2e-3,
    tune: ["happl", "jdc", "alpha", "scale", "win"],
    epochs,
    lr: { happl: 5, jdc: 5e-5, alpha: 2e-4, field: 20, current: 5e-5, win: 0.02 },
    checkpointEvery: Math.max(1, Math.round(Math.sqrt((3 * length) / (20 * sub * virtual)))),
    params: Array.from(defaultParams()),
    lambdas: Array.from({ length: 15 }, (_, i) => 10 ** (i - 14)),
  };
}

export interface ReservoirBenchRow {
  setup: string;
  epochS: number;
  stepsXStos: number;
  gflopPerS: number;
}

export async function reservoirBench(): Promise<ReservoirBenchRow[]> {
  setQuiet(true);
  const c = core();
  const rows: ReservoirBenchRow[] = [];
  for (const [n, k, hold, mode] of [
    [50, 1, 100e-12, "current"],
    [50, 1, 500e-12, "field"],
    [1, 50, 2500e-12, "field"],
  ] as [number, number, number, "field" | "current"][]) {
    const s = narmaSettings(n, k, hold, 2, mode);
    const r = await runSto(s);
    const epochS = Math.min(...r.history.slice(1).map((h) => h.epoch_s));
    const steps = s.length * s.sub * s.virtual;
    // forward 1x, adjoint recompute 1x, adjoint ~3x the forward's work
    const flops = 5 * steps * resFlopsPerStep(c, n);
    rows.push({
      setup: `N=${n}${k > 1 ? ` x ${k} virtual` : ""}, ${mode} input, ${s.length} holds x ${s.sub * s.virtual} RK4 steps`,
      epochS,
      stepsXStos: steps * n,
      gflopPerS: flops / epochS / 1e9,
    });
  }
  setQuiet(false);
  return rows;
}

export function reservoirBenchTable(rows: ReservoirBenchRow[]): string {
  const lines = [
    "\n## reservoir: one NARMA10 training epoch (adjoint with checkpointing + Adam + forward with ridge readout), 1 thread\n",
    "| setup | work per epoch (holds x RK4 steps x STOs) | s per epoch | approx. GFLOP/s (5 x forward work) |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.setup} | ${(r.stepsXStos / 1e6).toFixed(2)} M | ${r.epochS.toFixed(2)} | ${r.gflopPerS.toFixed(2)} |`),
  ];
  return lines.join("\n");
}
