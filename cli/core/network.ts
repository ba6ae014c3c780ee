/**
 * One STO network in one core's memory (network.rs): the handle with its
 * workspace, the weights, gradients, a batch of images and labels, and the
 * physics parameters. Used by the training workers (cli/network/worker.ts)
 * and by the single-image forward pass of supplement Fig. 8 (dynamics.ts).
 */
import { Buf, Core, Struct } from "./wasm.js";
import { PARAM_SLOT, PRECISION, SIZE, WANT, X0_NORM } from "./codes.js";

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

export class Network {
  private readonly net: number;
  private readonly wcp: Buf<Elem>;
  private readonly win: Buf<Elem>;
  private readonly wout: Buf<Elem>;
  private readonly happl: Buf<Elem>;
  private readonly gwin: Buf<Elem>;
  private readonly gwout: Buf<Elem>;
  private readonly ghappl: Buf<Elem>;
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
    this.win = make(L.win[1] - L.win[0]);
    this.wout = make(L.wout[1] - L.wout[0]);
    this.happl = make(shape.n);
    this.gwin = make(L.win[1] - L.win[0]);
    this.gwout = make(L.wout[1] - L.wout[0]);
    this.ghappl = make(shape.n);
    this.imagesBuf = c.u8(shape.maxBatch * shape.nIn);
    this.labelsBuf = c.u8(shape.maxBatch);
    this.params = c.f64(nParams);
    this.gphys = c.f64(SIZE.net_g_phys);
    this.stats = c.f64(SIZE.net_stats);
    this.args = new Struct(c, "NetStepArgs").set({
      params: this.params.ptr,
      w_cp: this.wcp.ptr,
      w_in: this.win.ptr,
      w_out: this.wout.ptr,
      h_appl: this.happl.ptr,
      images: this.imagesBuf.ptr,
      labels: this.labelsBuf.ptr,
      g_w_in: this.gwin.ptr,
      g_w_out: this.gwout.ptr,
      g_h_appl: this.ghappl.ptr,
      g_phys: this.gphys.ptr,
      stats: this.stats.ptr,
    });
  }

  /** Set the coupling matrix (N x N). */
  setCoupling(wcp: ArrayLike<number>): void {
    this.wcp.view().set(wcp);
  }

  /** Copy theta (W_in, W_out, H_appl, j_DC, alpha per `layout`) over the Table I parameters `base`. */
  load(theta: Elem, base: ArrayLike<number>): void {
    const L = this.layout;
    this.win.view().set(theta.subarray(L.win[0], L.win[1]));
    this.wout.view().set(theta.subarray(L.wout[0], L.wout[1]));
    this.happl.view().set(theta.subarray(L.happl[0], L.happl[1]));
    const p = Float64Array.from(base);
    p[PARAM_SLOT.j_DC] = theta[L.jdc];
    p[PARAM_SLOT.alpha] = theta[L.alpha];
    this.params.view().set(p);
  }

  /** The batch's image (maxBatch x nIn bytes) and label buffers (fresh views). */
  images(): Uint8Array {
    return this.imagesBuf.view();
  }
  labels(): Uint8Array {
    return this.labelsBuf.view();
  }

  /** One forward (and backward, as `want` asks) pass on the first `count` images. */
  step(dtS: number, cmOe: number, count: number, gradScale: number, want: number): { loss: number; correct: number } {
    this.args.set({ dt_s: dtS, cm_oe: cmOe, batch: count, grad_scale: gradScale, want });
    this.c.check(this.c.exports.stoopt_net_step(this.net, this.args.ptr), "network step");
    const s = this.stats.view();
    return { loss: s[0], correct: s[1] };
  }

  /** Copy the gradients of the last step that `want` asked for into `grad` (theta's layout). */
  gradientsInto(grad: Elem, want: number): void {
    const L = this.layout;
    if (wants(want, "win")) grad.set(this.gwin.view(), L.win[0]);
    if (wants(want, "wout")) grad.set(this.gwout.view(), L.wout[0]);
    if (wants(want, "phys")) {
      grad.set(this.ghappl.view(), L.happl[0]);
      const gp = this.gphys.view();
      grad[L.jdc] = gp[0];
      grad[L.alpha] = gp[1];
    }
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
    for (const b of [
      this.wcp,
      this.win,
      this.wout,
      this.happl,
      this.gwin,
      this.gwout,
      this.ghappl,
      this.imagesBuf,
      this.labelsBuf,
      this.params,
      this.gphys,
      this.stats,
    ])
      b.free();
    this.args.free();
    this.c.exports.stoopt_net_free(this.net);
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
