/**
 * The weak-noise linewidth of the limit cycle (core-rs/src/linewidth.rs):
 * phase diffusion through the phase response curve, and its central-difference
 * derivatives by the fitted parameter slots. The physics is described in
 * cli/spectrum/linewidth.ts and linewidth.rs.
 */
import { Core, core } from "./wasm.js";
import { SIZE } from "./codes.js";

const K = SIZE.linewidth_out_fixed;

export interface PrcLinewidth {
  /** 1 / period of the noise-free cycle [Hz] */
  f_Hz: number;
  /** Lorentzian FWHM of m_x's line [Hz] */
  fwhm_Hz: number;
  /** phase diffusion D [rad^2/s] */
  diffusion: number;
  /** the cycle's nontrivial Floquet multiplier and the amplitude relaxation rate Gamma [1/s] */
  multiplier: number;
  relaxationRate: number;
  /** D / Gamma: the weak-noise reduction needs it << 1 */
  weakNoiseRatio: number;
  mz: number;
  periods: number;
  prcClosure: number;
  /** d FWHM / d theta and d f / d theta for the `fit` parameters (central differences) */
  dfwhm: number[];
  df: number[];
}

/** The PRC linewidth at `temperatureK` from the section point with m_z = `zStart` (e.g. the theory's cone). Throws if there is no stable cycle. */
export function prcLinewidth(params: Float64Array, temperatureK: number, fit: number[], zStart: number, stepsPerPeriod = 1024, c: Core = core()): PrcLinewidth {
  const p = c.f64(SIZE.n_params);
  const f = c.i32(Math.max(1, fit.length));
  const out = c.f64(K + 2 * fit.length);
  try {
    p.view().set(params);
    f.view().set(fit);
    c.check(c.exports.stoopt_linewidth(p.ptr, temperatureK, f.ptr, fit.length, zStart, stepsPerPeriod, out.ptr), "linewidth");
    const o = Array.from(out.view());
    const n = fit.length;
    return {
      f_Hz: o[0],
      fwhm_Hz: o[1],
      diffusion: o[2],
      multiplier: o[3],
      relaxationRate: o[4],
      weakNoiseRatio: o[5],
      mz: o[6],
      periods: o[7],
      prcClosure: o[8],
      dfwhm: o.slice(K, K + n),
      df: o.slice(K + n, K + 2 * n),
    };
  } finally {
    for (const b of [p, f, out]) b.free();
  }
}
