/**
 * The oscillator's closed-form theory and noise-free steady state, through
 * the core (core-rs/src/theory.rs, core-rs/src/steady.rs): one home for the
 * threshold formula and the orbit-averaged energy balance.
 */
import { Core, core } from "./core/wasm.js";
import { SteadyRaw, steadyStateAt, theoryAt } from "./core/theory.js";

export interface Theory {
  /** threshold current of the linear-stability formula [A] (NaN where undefined) */
  threshold_A: number;
  /** <m_z> and frequency of the orbit-averaged energy balance (NaN below threshold) */
  mz: number;
  f_Hz: number;
  /** spin-torque field per ampere [Oe/A] */
  a_s_Oe_per_A: number;
}

export function theory(params: Float64Array, c: Core = core()): Theory {
  const o = theoryAt(params, c);
  return { threshold_A: o[0], mz: o[1], f_Hz: o[2], a_s_Oe_per_A: o[3] };
}

/** A point on the theory's cone (m_z of the energy balance), or a 0.3 rad tilt from +z below threshold. */
export function startOnCone(params: Float64Array, c: Core = core()): [number, number, number] {
  const th = theory(params, c);
  const mz = Number.isFinite(th.mz) ? th.mz : Math.cos(0.3);
  return [Math.sqrt(1 - mz * mz), 0, mz];
}

/** The noise-free steady state: f, <m_z>, crossings, peak-to-peak m_x, and their derivatives by the fitted parameters in their order. */
export type SteadyState = SteadyRaw;

export interface SteadySettings {
  dtS: number;
  washoutSteps: number;
  windowSteps: number;
}

/** Noise-free RK4 from `m0`: frequency (interpolated crossings) and <m_z> with dual-number derivatives by `fit` (parameter indices). */
export function steadyState(params: Float64Array, fit: number[], m0: [number, number, number], s: SteadySettings, c: Core = core()): SteadyState {
  return steadyStateAt(params, fit, m0, s.dtS, s.washoutSteps, s.windowSteps, c);
}
