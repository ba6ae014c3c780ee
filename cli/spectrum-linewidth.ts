/**
 * The weak-noise linewidth of the oscillator through the core
 * (core-rs/src/linewidth.rs): phase diffusion of the noise-free limit cycle
 * under the simulator's thermal field, via the cycle's phase response curve.
 * FWHM = D / pi [Hz] with D = (q/2) <|G^T Z|^2> [rad^2/s], q = 2 alpha kB T /
 * (gamma M V) the thermal field's intensity [Oe^2 s], Z the phase response
 * [rad per unit m], G = dF/dh the LLG's field-to-torque Jacobian. Its
 * derivatives by parameters: central differences in the core (relative step
 * 1e-4) of this deterministic, smooth computation (a few ms each), agreeing
 * with a five-point stencil to 1e-7 (core-rs/tests/linewidth.rs); dual numbers
 * would need second-order tangents through the monodromy and the adjoint.
 */
import { Core, core } from "./core.js";
import { N_PARAMS } from "./model.js";

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

/** D / Gamma above which a point is flagged: the phase diffuses by more than 0.1 rad^2 while the amplitude relaxes. */
export const WEAK_NOISE_LIMIT = 0.1;

export const LINEWIDTH_GRADIENT =
  "central differences (relative step 1e-4) of the phase-response-curve linewidth, computed in the core; it is deterministic and smooth, a few ms per evaluation, and agrees with a five-point stencil to 1e-7";

/** The PRC linewidth at `temperatureK` from the section point with m_z = `zStart` (e.g. the theory's cone). Throws if there is no stable cycle. */
export function prcLinewidth(params: Float64Array, temperatureK: number, fit: number[], zStart: number, stepsPerPeriod = 1024, c: Core = core()): PrcLinewidth {
  const p = c.f64(N_PARAMS);
  const f = c.i32(Math.max(1, fit.length));
  const out = c.f64(9 + 2 * fit.length);
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
      dfwhm: o.slice(9, 9 + n),
      df: o.slice(9 + n, 9 + 2 * n),
    };
  } finally {
    for (const b of [p, f, out]) b.free();
  }
}
