/**
 * One network's buffers in one core's wasm memory: the handle, weights,
 * gradients, a batch of images and labels, and the physics parameters.
 * Used by the training workers and by the single-image forward pass of
 * supplement Fig. 8 (dynamics.ts).
 */
import { Buf, Core } from "../core.js";
import { Layout, Precision, PRECISION_CODE, X0_NORM_CODE, X0Norm } from "./config.js";

type Elem = Float32Array | Float64Array;

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

export class NetBuffers {
  readonly net: number;
  readonly wcp: Buf<Elem>;
  readonly win: Buf<Elem>;
  readonly wout: Buf<Elem>;
  readonly happl: Buf<Elem>;
  readonly gwin: Buf<Elem>;
  readonly gwout: Buf<Elem>;
  readonly ghappl: Buf<Elem>;
  readonly images: Buf<Uint8Array>;
  readonly labels: Buf<Uint8Array>;
  readonly params: Buf<Float64Array>;
  readonly gphys: Buf<Float64Array>;
  readonly stats: Buf<Float64Array>;

  constructor(
    private readonly c: Core,
    readonly shape: NetShape,
    readonly layout: Layout,
    nParams: number,
  ) {
    const make = shape.precision === "f32" ? (n: number): Buf<Elem> => c.f32(n) : (n: number): Buf<Elem> => c.f64(n);
    this.net = c.exports.stoopt_net_new(
      PRECISION_CODE[shape.precision],
      shape.n,
      shape.nIn,
      shape.nOut,
      shape.steps,
      shape.maxBatch,
      X0_NORM_CODE[shape.x0Norm ?? "unit"],
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
    this.images = c.u8(shape.maxBatch * shape.nIn);
    this.labels = c.u8(shape.maxBatch);
    this.params = c.f64(nParams);
    this.gphys = c.f64(2);
    this.stats = c.f64(2);
  }

  /** Copy theta (W_in, W_out, H_appl, j_DC, alpha per `layout`) over the Table I parameters `base`. */
  load(theta: Elem, base: ArrayLike<number>): void {
    const L = this.layout;
    this.win.view().set(theta.subarray(L.win[0], L.win[1]));
    this.wout.view().set(theta.subarray(L.wout[0], L.wout[1]));
    this.happl.view().set(theta.subarray(L.happl[0], L.happl[1]));
    const p = Float64Array.from(base);
    p[8] = theta[L.jdc];
    p[9] = theta[L.alpha];
    this.params.view().set(p);
  }

  /** stoopt_net_step on the first `count` images and labels of the buffers. */
  step(dtS: number, cmOe: number, count: number, gradScale: number, want: number): { loss: number; correct: number } {
    const c = this.c;
    c.check(
      c.exports.stoopt_net_step(
        this.net,
        this.params.ptr,
        dtS,
        cmOe,
        this.wcp.ptr,
        this.win.ptr,
        this.wout.ptr,
        this.happl.ptr,
        this.images.ptr,
        this.labels.ptr,
        count,
        gradScale,
        want,
        this.gwin.ptr,
        this.gwout.ptr,
        this.ghappl.ptr,
        this.gphys.ptr,
        this.stats.ptr,
      ),
      "network step",
    );
    const s = this.stats.view();
    return { loss: s[0], correct: s[1] };
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
      this.images,
      this.labels,
      this.params,
      this.gphys,
      this.stats,
    ])
      b.free();
    this.c.exports.stoopt_net_free(this.net);
  }
}
