/**
 * Typed access to the core's reservoir (core-rs/src/reservoir.rs): the driven
 * STO network with its checkpointed adjoint, the ridge readout and the ESN.
 * Large arrays (features, their gradient, targets) stay in wasm memory.
 */
import { Buf, Core, Struct } from "./wasm.js";
import { FEAT } from "./codes.js";
import { Optimizer } from "./optimizer.js";

export type Feat = keyof typeof FEAT;

export interface StoShape {
  n: number;
  /** virtual nodes per hold */
  k: number;
  /** RK4 steps per virtual node */
  sub: number;
  holds: number;
  /** checkpoint interval in holds */
  every: number;
  feat: Feat;
}

/** Packed parameter vector layout (reservoir.rs): H_appl (N), j_DC, alpha, s_f, s_c, W_in (K x N). */
export function thetaLayout(n: number, k: number) {
  return {
    happl: [0, n] as [number, number],
    jdc: n,
    alpha: n + 1,
    sf: n + 2,
    sc: n + 3,
    win: [n + 4, n + 4 + k * n] as [number, number],
    total: n + 4 + k * n,
  };
}

/** Floating-point operations of one forward RK4 step of N coupled STOs (reservoir.rs). */
export function resFlopsPerStep(c: Core, n: number): number {
  return c.exports.stoopt_res_flops_per_step(n);
}

export function featuresPerHold(s: StoShape): number {
  return s.k * (s.feat === "all" ? 3 * s.n : s.n);
}

/** A readout problem over features X (T x F) and targets Y (T x nOut) held in wasm memory. */
export class Problem {
  readonly x: Buf<Float64Array>;
  readonly y: Buf<Float64Array>;
  readonly g: Buf<Float64Array>;
  constructor(
    readonly c: Core,
    readonly holds: number,
    readonly f: number,
    readonly nOut: number,
    y: Float64Array,
  ) {
    this.x = c.f64(holds * f);
    this.g = c.f64(holds * f);
    this.y = c.f64(holds * nOut);
    this.y.view().set(y);
  }

  /** Ridge weights ((F+1) x nOut) on rows [t0, t1) for each lambda. */
  solve(t0: number, t1: number, lambdas: number[]): (Float64Array | undefined)[] {
    const { c, f, nOut } = this;
    const f1 = f + 1;
    const gram = c.f64(f1 * f1);
    const xty = c.f64(f1 * nOut);
    const w = c.f64(f1 * nOut);
    try {
      c.check(c.exports.stoopt_ridge_gram(this.x.ptr, f, t0, t1, this.y.ptr, nOut, gram.ptr, xty.ptr), "ridge");
      return lambdas.map((lam) => (c.exports.stoopt_ridge_solve(gram.ptr, xty.ptr, f, nOut, lam, w.ptr) === 0 ? w.view().slice() : undefined));
    } finally {
      gram.free();
      xty.free();
      w.free();
    }
  }

  predict(w: Float64Array, t0: number, t1: number): Float64Array {
    const { c, f, nOut } = this;
    const wb = c.f64(w.length);
    const out = c.f64((t1 - t0) * nOut);
    try {
      wb.view().set(w);
      c.check(c.exports.stoopt_ridge_predict(this.x.ptr, f, t0, t1, wb.ptr, nOut, out.ptr), "readout");
      return out.view().slice();
    } finally {
      wb.free();
      out.free();
    }
  }

  /** Normalized readout loss on [t0, t1) for fixed W; its feature gradient goes to this.g. */
  lossAndGrad(w: Float64Array, lambda: number, t0: number, t1: number): number {
    const { c, f, nOut } = this;
    const wb = c.f64(w.length);
    const out = c.f64(1);
    try {
      wb.view().set(w);
      const args = new Struct(c, "ReadoutArgs").set({
        x: this.x.ptr,
        f,
        t_total: this.holds,
        t0,
        t1,
        y: this.y.ptr,
        n_out: nOut,
        w: wb.ptr,
        lambda,
        g: this.g.ptr,
        out: out.ptr,
      });
      try {
        c.check(c.exports.stoopt_readout_loss(args.ptr), "readout loss");
      } finally {
        args.free();
      }
      return out.view()[0];
    } finally {
      wb.free();
      out.free();
    }
  }

  /**
   * Held-out readout loss: ridge weights fitted on rows [a, m) at `lambda`, the loss
   * sum_o |X w_o - y_o|^2 / (n var y_o) on rows [m, b). Its gradient with respect to
   * every feature goes to this.g: on [m, b) directly, on [a, m) through the ridge solution
   * (w = A^-1 X^T y, A = X^T X + lambda I without the bias: with z_o = A^-1 dL/dw_o,
   * dL/dX_t = sum_o z_o (y_to - x_t w_o) - (x_t z_o) w_o). Undefined if not solvable.
   */
  heldOutLossAndGrad(lambda: number, a: number, m: number, b: number): number | undefined {
    const { c, f, nOut } = this;
    const f1 = f + 1;
    const gram = c.f64(f1 * f1);
    const xty = c.f64(f1 * nOut);
    const w = c.f64(f1 * nOut);
    const z = c.f64(f1 * nOut);
    try {
      c.check(c.exports.stoopt_ridge_gram(this.x.ptr, f, a, m, this.y.ptr, nOut, gram.ptr, xty.ptr), "ridge");
      if (c.exports.stoopt_ridge_solve(gram.ptr, xty.ptr, f, nOut, lambda, w.ptr) !== 0) return undefined;
      const x = this.x.view();
      const y = this.y.view();
      const W = w.view().slice();
      const n = b - m;
      const scale = new Float64Array(nOut);
      for (let o = 0; o < nOut; o++) {
        let mu = 0;
        for (let t = m; t < b; t++) mu += y[t * nOut + o];
        mu /= n;
        let v = 0;
        for (let t = m; t < b; t++) v += (y[t * nOut + o] - mu) ** 2;
        v /= n;
        scale[o] = 1 / (n * (v > 0 ? v : 1));
      }
      const out = (t: number, ww: Float64Array, o: number) => {
        let s = ww[f * nOut + o];
        for (let j = 0; j < f; j++) s += x[t * f + j] * ww[j * nOut + o];
        return s;
      };
      const g = this.g.view();
      g.fill(0);
      const gw = new Float64Array(f1 * nOut);
      let loss = 0;
      for (let t = m; t < b; t++) {
        for (let o = 0; o < nOut; o++) {
          const r = out(t, W, o) - y[t * nOut + o];
          loss += r * r * scale[o];
          const d = 2 * r * scale[o];
          for (let j = 0; j < f; j++) {
            g[t * f + j] += d * W[j * nOut + o];
            gw[j * nOut + o] += d * x[t * f + j];
          }
          gw[f * nOut + o] += d;
        }
      }
      const gwb = xty; // reuse: right-hand side A z = dL/dw
      gwb.view().set(gw);
      c.check(c.exports.stoopt_ridge_solve(gram.ptr, gwb.ptr, f, nOut, lambda, z.ptr), "ridge (held-out gradient)");
      const Z = z.view().slice();
      for (let t = a; t < m; t++) {
        for (let o = 0; o < nOut; o++) {
          const res = y[t * nOut + o] - out(t, W, o);
          const xz = out(t, Z, o);
          for (let j = 0; j < f; j++) g[t * f + j] += Z[j * nOut + o] * res - xz * W[j * nOut + o];
        }
      }
      return loss;
    } finally {
      gram.free();
      xty.free();
      w.free();
      z.free();
    }
  }

  /**
   * Centre every feature column and scale it to unit variance over rows [t0, t1); every
   * row is transformed with those statistics. Returns the scales (1 for a column with no
   * variance). The ridge readout then has the same regularization whatever the scale of
   * the physics' response (a small input field gives small features).
   */
  standardize(t0: number, t1: number): Float64Array {
    const { f, holds } = this;
    const x = this.x.view();
    const n = t1 - t0;
    const sd = new Float64Array(f);
    for (let j = 0; j < f; j++) {
      let mu = 0;
      for (let t = t0; t < t1; t++) mu += x[t * f + j];
      mu /= n;
      let v = 0;
      for (let t = t0; t < t1; t++) v += (x[t * f + j] - mu) ** 2;
      const s = Math.sqrt(v / n);
      sd[j] = s > 1e-12 ? s : 1;
      for (let t = 0; t < holds; t++) x[t * f + j] = (x[t * f + j] - mu) / sd[j];
    }
    return sd;
  }

  /** Chain rule through `standardize` (same rows, its scales): this.g w.r.t. the standardized features -> w.r.t. the raw ones. this.x must still hold the standardized features; this.g must vanish outside [t0, t1). */
  standardizeBackward(t0: number, t1: number, sd: Float64Array): void {
    const { f } = this;
    const x = this.x.view();
    const g = this.g.view();
    const n = t1 - t0;
    for (let j = 0; j < f; j++) {
      let mg = 0;
      let mgx = 0;
      for (let t = t0; t < t1; t++) {
        mg += g[t * f + j];
        mgx += g[t * f + j] * x[t * f + j];
      }
      mg /= n;
      mgx /= n;
      for (let t = t0; t < t1; t++) g[t * f + j] = (g[t * f + j] - mg - x[t * f + j] * mgx) / sd[j];
    }
  }

  targets(t0: number, t1: number): Float64Array {
    return this.y.view().slice(t0 * this.nOut, t1 * this.nOut);
  }

  free(): void {
    this.x.free();
    this.y.free();
    this.g.free();
  }
}

/** The driven STO reservoir (one core object) writing its features into a Problem. */
export class StoEngine {
  private readonly handle: number;
  private readonly params: Buf<Float64Array>;
  private readonly theta: Buf<Float64Array>;
  private readonly grad: Buf<Float64Array>;
  private readonly u: Buf<Float64Array>;
  private readonly m0: Buf<Float64Array>;
  constructor(
    readonly c: Core,
    readonly shape: StoShape,
    wcp: Float64Array,
    params: Float64Array,
    readonly dtS: number,
    readonly cmOe: number,
    u: Float64Array,
    m0: Float64Array,
  ) {
    const w = c.f64(wcp.length);
    w.view().set(wcp);
    this.handle = c.exports.stoopt_res_new(shape.n, shape.k, shape.sub, shape.holds, shape.every, FEAT[shape.feat], w.ptr);
    w.free();
    if (this.handle === 0) c.check(1, "reservoir");
    this.params = c.f64(params.length);
    this.params.view().set(params);
    const L = thetaLayout(shape.n, shape.k);
    this.theta = c.f64(L.total);
    this.grad = c.f64(L.total);
    this.u = c.f64(shape.holds);
    this.u.view().set(u);
    this.m0 = c.f64(3 * shape.n);
    this.m0.view().set(m0);
  }

  /** f64 numbers of integration state the core keeps (checkpoints + one segment). */
  stateWords(): number {
    return this.c.exports.stoopt_res_state_words(this.handle);
  }

  forward(theta: Float64Array, p: Problem): void {
    this.theta.view().set(theta);
    this.c.check(
      this.c.exports.stoopt_res_forward(this.handle, this.params.ptr, this.dtS, this.cmOe, this.theta.ptr, this.u.ptr, this.m0.ptr, p.x.ptr),
      "reservoir forward pass",
    );
  }

  /** Gradient of sum(p.g .* features) after `forward` with the same theta. */
  backward(theta: Float64Array, p: Problem): Float64Array {
    this.theta.view().set(theta);
    this.c.check(
      this.c.exports.stoopt_res_backward(this.handle, this.params.ptr, this.dtS, this.cmOe, this.theta.ptr, this.u.ptr, p.g.ptr, this.grad.ptr),
      "reservoir adjoint",
    );
    return this.grad.view().slice();
  }

  free(): void {
    this.c.exports.stoopt_res_free(this.handle);
    for (const b of [this.params, this.theta, this.grad, this.u, this.m0]) b.free();
  }
}

/** ESN states into p.x: x_t = tanh(rho W x_{t-1} + sigma w_in u_t + b). */
export function esnRun(
  c: Core,
  n: number,
  w: Float64Array,
  wIn: Float64Array,
  bias: Float64Array,
  rho: number,
  sigma: number,
  u: Float64Array,
  p: Problem,
): void {
  const bufs = [w, wIn, bias, u].map((a) => {
    const b = c.f64(a.length);
    b.view().set(a);
    return b;
  });
  try {
    c.check(c.exports.stoopt_esn_run(n, bufs[0].ptr, bufs[1].ptr, bufs[2].ptr, rho, sigma, u.length, bufs[3].ptr, p.x.ptr), "ESN");
  } finally {
    bufs.forEach((b) => b.free());
  }
}

/** The reservoir trainer's use of the one optimizer (optimizer.ts): state kept by the caller, copied in and out. */
export class Adam {
  private readonly opt: Optimizer;
  constructor(
    readonly c: Core,
    n: number,
  ) {
    this.opt = new Optimizer("f64", n, 1, c);
  }
  /** One step at step counter `t` on every group with a non-zero rate; theta, m, v are updated in place. */
  step(
    theta: Float64Array,
    m: Float64Array,
    v: Float64Array,
    grad: Float64Array,
    t: number,
    groups: { range: [number, number]; lr: number; lo: number; hi: number }[],
  ): void {
    this.opt.load({ theta, m, v, t: t - 1 });
    this.opt.slot(0).set(grad);
    this.opt.setGroups(
      groups.filter((g) => g.range[1] > g.range[0] && g.lr !== 0).map((g) => ({ start: g.range[0], end: g.range[1], lr: g.lr, lo: g.lo, hi: g.hi })),
    );
    this.opt.step();
    theta.set(this.opt.theta());
    m.set(this.opt.m());
    v.set(this.opt.v());
  }
  free(): void {
    this.opt.free();
  }
}
