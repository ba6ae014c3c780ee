/**
 * Closed-form theory (theory.rs) and the noise-free steady state with its
 * dual-number derivatives (steady.rs).
 */
import { Core, core } from "./wasm.js";
import { SIZE } from "./codes.js";

/** [threshold current (A), <m_z>, f (Hz), a_s per ampere (Oe/A)] at `params`. */
export function theoryAt(params: Float64Array, c: Core = core()): Float64Array {
  const p = c.f64(SIZE.n_params);
  const out = c.f64(SIZE.theory_out);
  try {
    p.view().set(params);
    c.check(c.exports.stoopt_theory(p.ptr, out.ptr), "theory");
    return out.view().slice();
  } finally {
    p.free();
    out.free();
  }
}

export interface SteadyRaw {
  f_Hz: number;
  mz: number;
  crossings: number;
  amplitude: number;
  df: number[];
  dmz: number[];
}

/** RK4 from `m0` for `washoutSteps`, then a window of `windowSteps`; derivatives by the parameter slots `fit`. */
export function steadyStateAt(
  params: Float64Array,
  fit: number[],
  m0: ArrayLike<number>,
  dtS: number,
  washoutSteps: number,
  windowSteps: number,
  c: Core = core(),
): SteadyRaw {
  const p = c.f64(SIZE.n_params);
  const f = c.i32(Math.max(1, fit.length));
  const m = c.f64(3);
  const k = SIZE.steady_out_fixed;
  const out = c.f64(k + 2 * fit.length);
  try {
    p.view().set(params);
    f.view().set(fit);
    m.view().set(Array.from(m0));
    c.check(c.exports.stoopt_steady_state(p.ptr, f.ptr, fit.length, dtS, washoutSteps, windowSteps, m.ptr, out.ptr), "steady state");
    const o = Array.from(out.view());
    return { f_Hz: o[0], mz: o[1], crossings: o[2], amplitude: o[3], df: o.slice(k, k + fit.length), dmz: o.slice(k + fit.length, k + 2 * fit.length) };
  } finally {
    for (const b of [p, f, m, out]) b.free();
  }
}
