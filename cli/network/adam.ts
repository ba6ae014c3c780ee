/**
 * Adam (Kingma & Ba) as PyTorch implements it: m = b1 m + (1-b1) g,
 * v = b2 v + (1-b2) g^2, theta -= lr/(1-b1^t) m / (sqrt(v/(1-b2^t)) + eps),
 * over a range of the flat parameter vector, with the gradient summed over
 * the workers' slots.
 */
import { ADAM } from "./config.js";

export type Vec = Float32Array | Float64Array;

export function adamRange(theta: Vec, m: Vec, v: Vec, grads: Vec[], lo: number, hi: number, lr: number, t: number): void {
  const { beta1: b1, beta2: b2, eps } = ADAM;
  const c1 = 1 - Math.pow(b1, t);
  const c2 = 1 - Math.pow(b2, t);
  const a = lr / c1;
  const s2 = 1 / Math.sqrt(c2);
  const g0 = grads[0];
  const g1 = grads.length > 1 ? grads[1] : undefined;
  for (let i = lo; i < hi; i++) {
    let g = g0[i];
    if (g1) g += g1[i];
    for (let w = 2; w < grads.length; w++) g += grads[w][i];
    const mi = b1 * m[i] + (1 - b1) * g;
    const vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    theta[i] -= (a * mi) / (Math.sqrt(vi) * s2 + eps);
  }
}
