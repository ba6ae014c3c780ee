/**
 * Seeded initialization: the coupling matrix (Gaussian, scaled to spectral
 * radius 1 with a full nonsymmetric eigen-decomposition), W_in and W_out
 * (uniform +-1/sqrt(fan-in), PyTorch's nn.Linear default), the physical
 * parameters, and the per-epoch shuffle. Random numbers come from the core's
 * xoshiro256++ (bit-identical everywhere), one stream per use.
 */
import { createRequire } from "node:module";
import { Core } from "../core/wasm.js";
import { rngFill as coreRngFill, RngKind } from "../core/rng.js";
import { RuntimeFailure } from "../errors.js";
import { layout, NetConfig, STREAM } from "./config.js";

export function rngFill(c: Core, seed: bigint, stream: bigint, kind: RngKind, a: number, b: number, n: number): Float64Array {
  return coreRngFill(c, seed, stream, kind, a, b, n);
}

/** Largest |eigenvalue| of a square row-major matrix (complex eigenvalues included). */
/** ml-matrix loads (synchronously, its CommonJS build) the first time a radius is needed. */
let mlMatrixModule: typeof import("ml-matrix") | undefined;
function mlMatrix(): typeof import("ml-matrix") {
  mlMatrixModule ??= createRequire(import.meta.url)("ml-matrix") as typeof import("ml-matrix");
  return mlMatrixModule;
}

export function spectralRadius(a: Float64Array, n: number): number {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(a.subarray(i * n, (i + 1) * n)));
  const { EigenvalueDecomposition, Matrix } = mlMatrix();
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: false });
  let r = 0;
  for (let i = 0; i < n; i++) r = Math.max(r, Math.hypot(evd.realEigenvalues[i], evd.imaginaryEigenvalues[i]));
  if (!Number.isFinite(r)) throw new RuntimeFailure("spectral radius of the coupling matrix is not finite");
  return r;
}

/** w: N x N standard normal entries (diagonal included) divided by their spectral radius. */
export function couplingMatrix(c: Core, seed: bigint, n: number): Float64Array {
  const w = rngFill(c, seed, STREAM.coupling, "normal", 0, 1, n * n);
  const r = spectralRadius(w, n);
  for (let i = 0; i < w.length; i++) w[i] /= r;
  return w;
}

/** Initial theta (f64): W_in, W_out uniform +-1/sqrt(fan-in), H_appl, j_DC, alpha. */
export function initialTheta(c: Core, cfg: NetConfig): Float64Array {
  const L = layout(cfg.n, cfg.nIn, cfg.nOut);
  const th = new Float64Array(L.total);
  const a = 1 / Math.sqrt(cfg.nIn);
  th.set(rngFill(c, cfg.seed, STREAM.win, "uniform", -a, a, L.win[1] - L.win[0]), L.win[0]);
  const b = 1 / Math.sqrt(3 * cfg.n + 1);
  th.set(rngFill(c, cfg.seed, STREAM.wout, "uniform", -b, b, L.wout[1] - L.wout[0]), L.wout[0]);
  th.fill(cfg.hAppl0, L.happl[0], L.happl[1]);
  th[L.jdc] = cfg.jDc0;
  th[L.alpha] = cfg.alpha0;
  return th;
}

/** The training order of epoch `epoch` (0-based): Fisher-Yates with stream 1000 + epoch. */
export function epochOrder(c: Core, seed: bigint, epoch: number, count: number): Int32Array {
  const u = rngFill(c, seed, STREAM.shuffle + BigInt(epoch), "uniform", 0, 1, Math.max(count, 1));
  const p = new Int32Array(count);
  for (let i = 0; i < count; i++) p[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i] * (i + 1)));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
