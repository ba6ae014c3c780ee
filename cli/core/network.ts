/**
 * One STO network in one core's memory (network.rs): the handle with its
 * workspace, the weights, gradients, a batch of images and labels, and the
 * physics parameters. Used by the training workers (cli/network/worker.ts)
 * and by the single-image forward pass of supplement Fig. 8 (dynamics.ts).
 */
import { Buf, Core, Struct } from "./wasm.js";
import { PARAM_SLOT, PRECISION, SIZE, WANT, X0_NORM } from "./codes.js";
import type { Optimizer } from "./optimizer.js";

type Elem = Float32Array | Float64Array;
export type Precision = keyof typeof PRECISION;
export type X0Norm = keyof typeof X0_NORM;
export type GradGroup = keyof typeof WANT;

/** `want` bits of a set of gradient groups. */
export function wantBits(groups: readonly GradGroup[]): number {
  return groups.reduce((b, g) => b | WANT[g], 0);
}
/** Whether `want` asks for the gradient of `group`. */
export function wants(want: number, group: GradGroup): boolean {
  return (want & WANT[group]) !== 0;
}

export interface NetShape {
  n: number;
  nIn: number;
  nOut: number;
  steps: number;
  maxBatch: number;
  precision: Precision;
  /** absent in checkpoints from before the option: "unit" */
  x0Norm?: X0Norm;
}

/** Where W_in, W_out, H_appl, j_DC and alpha sit in theta. */
export interface ThetaLayout {
  win: [number, number];
  wout: [number, number];
  happl: [number, number];
  jdc: number;
  alpha: number;
}

/**
 * Where a network's weights and gradients live when they are not its own: an
 * optimizer's theta (read by every step, updated in place by the optimizer)
 * and its gradient slot `slot` (written by every step), both in theta's
 * layout, in the same core. No copies between the step and the update.
 */
export interface NetworkBinding {
  optimizer: Optimizer;
  slot: number;
}

export class Network {
  private readonly net: number;
  private readonly wcp: Buf<Elem>;
  /** W_in, W_out, H_appl and their gradients: own buffers, or parts of an optimizer's (`bound`) */
  private readonly weights: { win: Buf<Elem>; wout: Buf<Elem>; happl: Buf<Elem>; gwin: Buf<Elem>; gwout: Buf<Elem>; ghappl: Buf<Elem> } | undefined;
  private readonly imagesBuf: Buf<Uint8Array>;
  private readonly labelsBuf: Buf<Uint8Array>;
  private readonly params: Buf<Float64Array>;
  private readonly gphys: Buf<Float64Array>;
  private readonly stats: Buf<Float64Array>;
  private readonly args: Struct<"NetStepArgs">;

  constructor(
    private readonly c: Core,
    readonly shape: NetShape,
    readonly layout: ThetaLayout,
    nParams: number,
    private readonly bound?: NetworkBinding,
  ) {
    const make = shape.precision === "f32" ? (n: number): Buf<Elem> => c.f32(n) : (n: number): Buf<Elem> => c.f64(n);
    this.net = c.exports.stoopt_net_new(
      PRECISION[shape.precision],
      shape.n,
      shape.nIn,
      shape.nOut,
      shape.steps,
      shape.maxBatch,
      X0_NORM[shape.x0Norm ?? "unit"],
    );
    if (this.net === 0) c.check(1, "network");
    const L = layout;
    this.wcp = make(shape.n * shape.n);
    let at: { win: number; wout: number; happl: number; gwin: number; gwout: number; ghappl: number };
    if (bound) {
      const o = bound.optimizer;
      if (o.core !== c || o.precision !== shape.precision || o.n < L.alpha + 1)
        throw new Error("internal error: a network bound to an optimizer of another core, precision or size");
      const elem = shape.precision === "f32" ? 4 : 8;
      const th = o.address(0);
      const gr = o.address(3 + bound.slot);
      at = {
        win: th + elem * L.win[0],
        wout: th + elem * L.wout[0],
        happl: th + elem * L.happl[0],
        gwin: gr + elem * L.win[0],
        gwout: gr + elem * L.wout[0],
        ghappl: gr + elem * L.happl[0],
      };
    } else {
      this.weights = {
        win: make(L.win[1] - L.win[0]),
        wout: make(L.wout[1] - L.wout[0]),
        happl: make(shape.n),
        gwin: make(L.win[1] - L.win[0]),
        gwout: make(L.wout[1] - L.wout[0]),
        ghappl: make(shape.n),
      };
      const w = this.weights;
      at = { win: w.win.ptr, wout: w.wout.ptr, happl: w.happl.ptr, gwin: w.gwin.ptr, gwout: w.gwout.ptr, ghappl: w.ghappl.ptr };
    }
    this.imagesBuf = c.u8(shape.maxBatch * shape.nIn);
    this.labelsBuf = c.u8(shape.maxBatch);
    this.params = c.f64(nParams);
    this.gphys = c.f64(SIZE.net_g_phys);
    this.stats = c.f64(SIZE.net_stats);
    this.args = new Struct(c, "NetStepArgs").set({
      params: this.params.ptr,
      w_cp: this.wcp.ptr,
      w_in: at.win,
      w_out: at.wout,
      h_appl: at.happl,
      images: this.imagesBuf.ptr,
      labels: this.labelsBuf.ptr,
      g_w_in: at.gwin,
      g_w_out: at.gwout,
      g_h_appl: at.ghappl,
      g_phys: this.gphys.ptr,
      stats: this.stats.ptr,
    });
  }

  /** Set the coupling matrix (N x N). */
  setCoupling(wcp: ArrayLike<number>): void {
    this.wcp.view().set(wcp);
  }

  /** Copy theta (W_in, W_out, H_appl, j_DC, alpha per `layout`) over the Table I parameters `base` (a network with its own weights). */
  load(theta: Elem, base: ArrayLike<number>): void {
    const w = this.weights;
    if (!w) throw new Error("internal error: load() on a network bound to an optimizer (use loadScalars)");
    const L = this.layout;
    w.win.view().set(theta.subarray(L.win[0], L.win[1]));
    w.wout.view().set(theta.subarray(L.wout[0], L.wout[1]));
    w.happl.view().set(theta.subarray(L.happl[0], L.happl[1]));
    this.setScalars(theta[L.jdc], theta[L.alpha], base);
  }

  /** A bound network: j_DC and alpha from the optimizer's theta over the Table I parameters `base` (W_in, W_out and H_appl are read in place). */
  loadScalars(base: ArrayLike<number>): void {
    if (!this.bound) throw new Error("internal error: loadScalars() on a network with its own weights (use load)");
    const th = this.bound.optimizer.theta();
    this.setScalars(th[this.layout.jdc], th[this.layout.alpha], base);
  }

  private setScalars(jdc: number, alpha: number, base: ArrayLike<number>): void {
    const p = this.params.view();
    p.set(base);
    p[PARAM_SLOT.j_DC] = jdc;
    p[PARAM_SLOT.alpha] = alpha;
  }

  /** The batch's image (maxBatch x nIn bytes) and label buffers (fresh views). */
  images(): Uint8Array {
    return this.imagesBuf.view();
  }
  labels(): Uint8Array {
    return this.labelsBuf.view();
  }

  /**
   * One forward (and backward, as `want` asks) pass on the first `count`
   * images; with `split`, x(0) taken from `split.x0` instead of W_in u
   * and/or dL/dx(0) written to `split.lamv` instead of the W_in gradient
   * (network.rs `Split`: the products with W_in done by rows, `ImageLanes`).
   */
  step(
    dtS: number,
    cmOe: number,
    count: number,
    gradScale: number,
    want: number,
    split?: { x0?: LaneRows; lamv?: LaneRows },
  ): { loss: number; correct: number } {
    this.args.set({ dt_s: dtS, cm_oe: cmOe, batch: count, grad_scale: gradScale, want, x0: split?.x0?.address ?? 0, lamv: split?.lamv?.address ?? 0 });
    this.c.check(this.c.exports.stoopt_net_step(this.net, this.args.ptr), "network step");
    const s = this.stats.view();
    return { loss: s[0], correct: s[1] };
  }

  /** Copy the gradients of the last step that `want` asked for into `grad` (theta's layout; a network with its own weights). */
  gradientsInto(grad: Elem, want: number): void {
    const w = this.weights;
    if (!w) throw new Error("internal error: gradientsInto() on a network bound to an optimizer (use finishGradients)");
    const L = this.layout;
    if (wants(want, "win")) grad.set(w.gwin.view(), L.win[0]);
    if (wants(want, "wout")) grad.set(w.gwout.view(), L.wout[0]);
    if (wants(want, "phys")) {
      grad.set(w.ghappl.view(), L.happl[0]);
      this.scalarGradientsInto(grad);
    }
  }

  /** A bound network: the j_DC and alpha gradients of the last step into its slot (the rest is there already). */
  finishGradients(want: number): void {
    if (!this.bound) throw new Error("internal error: finishGradients() on a network with its own weights (use gradientsInto)");
    if (wants(want, "phys")) this.scalarGradientsInto(this.bound.optimizer.slot(this.bound.slot));
  }

  private scalarGradientsInto(grad: Elem): void {
    const gp = this.gphys.view();
    grad[this.layout.jdc] = gp[0];
    grad[this.layout.alpha] = gp[1];
  }

  /** The states of image `image` of the last step at every RK4 step: (steps + 1) x 3N, [step][c N + i]. */
  trajectory(image: number): Float64Array {
    const out = this.c.f64((this.shape.steps + 1) * 3 * this.shape.n);
    try {
      this.c.check(this.c.exports.stoopt_net_trajectory(this.net, image, out.ptr), "network trajectory");
      return out.view().slice();
    } finally {
      out.free();
    }
  }

  free(): void {
    const w = this.weights;
    for (const b of [
      this.wcp,
      this.imagesBuf,
      this.labelsBuf,
      this.params,
      this.gphys,
      this.stats,
      ...(w ? [w.win, w.wout, w.happl, w.gwin, w.gwout, w.ghappl] : []),
    ])
      b.free();
    this.args.free();
    this.c.exports.stoopt_net_free(this.net);
  }
}

/**
 * Rows of lane vectors in wasm memory (network.rs `Split`): x(0) = W_in u
 * or dL/dx(0) of a batch, `rows` rows of ceil(batch / L) vectors of L lanes
 * (L = 4 for f32, 2 for f64), stored as numbers row by row.
 */
export class LaneRows {
  private readonly buf: Buf<Elem>;
  /** lanes per vector */
  readonly lanes: number;
  constructor(
    c: Core,
    readonly precision: Precision,
    readonly rows: number,
    maxBatch: number,
  ) {
    this.lanes = precision === "f32" ? 4 : 2;
    const n = rows * Math.ceil(maxBatch / this.lanes) * this.lanes;
    this.buf = precision === "f32" ? c.f32(n) : c.f64(n);
  }
  /** For cli/core: the buffer's address. */
  get address(): number {
    return this.buf.ptr;
  }
  /** Numbers per row for a batch of `count` images. */
  rowLength(count: number): number {
    return Math.ceil(count / this.lanes) * this.lanes;
  }
  /** Rows [lo, hi) for a batch of `count` images (a fresh view). */
  view(lo: number, hi: number, count: number): Elem {
    const k = this.rowLength(count);
    return this.buf.view().subarray(lo * k, hi * k);
  }
  free(): void {
    this.buf.free();
  }
}

/**
 * A batch of images in lanes (network.rs `ImageLanes`), for the two
 * products with W_in done by rows (up to `maxRows` at a time): rows of x(0)
 * = W_in u from rows of an optimizer's theta, and rows of the W_in gradient
 * into an optimizer's gradient slot (bit-identical to the network step's own
 * products).
 */
export class ImageLanes {
  private readonly h: number;
  private readonly images: Buf<Uint8Array>;
  private readonly elem: number;
  /** images in the loaded batch */
  count = 0;
  constructor(
    private readonly c: Core,
    readonly precision: Precision,
    readonly nIn: number,
    readonly maxBatch: number,
    maxRows: number,
  ) {
    this.h = c.exports.stoopt_lanes_new(PRECISION[precision], nIn, maxBatch, maxRows);
    if (this.h === 0) c.check(1, "image lanes");
    this.images = c.u8(nIn * maxBatch);
    this.elem = precision === "f32" ? 4 : 8;
  }

  /** The wasm-side image buffer (count x nIn bytes) to fill before `load(count)` (a fresh view). */
  imageBuffer(): Uint8Array {
    return this.images.view();
  }
  /** Put the first `count` images of `imageBuffer()` into lanes. */
  load(count: number): void {
    this.c.check(this.c.exports.stoopt_lanes_load(this.h, this.images.ptr, count, this.nIn), "image lanes");
    this.count = count;
  }

  /** Rows [lo, hi) of x(0) = W_in u, W_in from `opt`'s theta (layout `L`), into the same rows of `out`. */
  x0Rows(opt: Optimizer, L: ThetaLayout, lo: number, hi: number, out: LaneRows): void {
    const w = opt.address(0) + this.elem * (L.win[0] + lo * this.nIn);
    const o = out.address + this.elem * lo * out.rowLength(this.count);
    this.c.check(this.c.exports.stoopt_lanes_x0(this.h, w, hi - lo, this.nIn, o), "x(0) rows");
  }

  /** Rows [lo, hi) of the W_in gradient from the same rows of dL/dx(0) `lamv`, into `opt`'s gradient slot `slot` (layout `L`). */
  outerRows(lamv: LaneRows, lo: number, hi: number, opt: Optimizer, slot: number, L: ThetaLayout): void {
    const lam = lamv.address + this.elem * lo * lamv.rowLength(this.count);
    const o = opt.address(3 + slot) + this.elem * (L.win[0] + lo * this.nIn);
    this.c.check(this.c.exports.stoopt_lanes_outer(this.h, lam, hi - lo, this.nIn, o, this.nIn), "W_in gradient rows");
  }

  free(): void {
    this.images.free();
    this.c.exports.stoopt_lanes_free(this.h);
  }
}

/** Floating-point operations per image of one step with `want` (network.rs flops_per_image). */
export function netFlopsPerImage(c: Core, n: number, nIn: number, nOut: number, steps: number, want: number, x0Norm: X0Norm = "unit"): number {
  const out = c.f64(1);
  try {
    c.check(c.exports.stoopt_net_flops(n, nIn, nOut, steps, want, X0_NORM[x0Norm], out.ptr), "network flops");
    return out.view()[0];
  } finally {
    out.free();
  }
}

/** The SIMD peak kernel of gemm.rs for `precision`: [flops, checksum]. */
export function peakKernel(c: Core, precision: Precision, iters: number): [number, number] {
  const out = c.f64(2);
  try {
    c.check(c.exports.stoopt_peak_flops(PRECISION[precision], iters, out.ptr), "peak");
    const o = out.view();
    return [o[0], o[1]];
  } finally {
    out.free();
  }
}
