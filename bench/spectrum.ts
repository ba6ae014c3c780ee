/** Time of a 21-point current sweep of `stoopt spectrum` (2.5-7.5 mA, 100 ns washout + 20 ns window each, noise-free RK4, analysis included). */
import { defaultParams } from "../cli/model.js";
import { parseSweep } from "../cli/spectrum/sweep.js";
import { runSweep } from "../cli/run/spectrum.js";
import { SpectrumPool } from "../cli/spectrum/pool.js";

export async function spectrumBench(): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  for (const threads of [1, 2]) {
    const pool = new SpectrumPool(threads);
    try {
      const r = await runSweep(
        {
          base: defaultParams(),
          axes: [parseSweep("j_DC=2.5mA:7.5mA:0.25mA")],
          point: {
            scheme: "rk4",
            dtS: 0.5e-12,
            sampleS: 10e-12,
            durationS: 20e-9,
            washoutS: 100e-9,
            maxWashoutS: 100e-9,
            chunkS: 5e-9,
            settleTol: 1e-3,
            temperatureK: 0,
            trials: 1,
            seed: 1n,
            window: "hann",
            overlap: 0.5,
          },
          threshold: false,
          growthS: 30e-9,
        },
        pool,
      );
      const steps = r.points.length * (120e-9 / 0.5e-12);
      rows.push([threads, r.points.length, r.time_s.toFixed(2), (steps / r.time_s / 1e6).toFixed(1)]);
    } finally {
      await pool.close();
    }
  }
  return rows;
}
