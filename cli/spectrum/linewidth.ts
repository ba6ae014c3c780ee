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
export { prcLinewidth } from "../core/linewidth.js";
export type { PrcLinewidth } from "../core/linewidth.js";

/** D / Gamma above which a point is flagged: the phase diffuses by more than 0.1 rad^2 while the amplitude relaxes. */
export const WEAK_NOISE_LIMIT = 0.1;

export const LINEWIDTH_GRADIENT =
  "central differences (relative step 1e-4) of the phase-response-curve linewidth, computed in the core; it is deterministic and smooth, a few ms per evaluation, and agrees with a five-point stencil to 1e-7";
