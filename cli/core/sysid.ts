/**
 * A system-identification problem resident in one core's memory
 * (sysid.rs): the trial grids, the compared signal and the initial states,
 * evaluated for loss parts and gradients (`eval`, teacher m_x) or for
 * per-window blocks of a measured signal y = offset + amplitude m_x
 * (`windows`, the windows evaluator).
 */
import { Buf, Core, Struct, core } from "./wasm.js";
import { SIZE, SYSID_MODE } from "./codes.js";

export type SysidMode = keyof typeof SYSID_MODE;

/** Sums over compared samples; the loss is sumAbs / count. */
export interface Parts {
  sumAbs: number;
  count: number;
  sumSq: number;
  grad: number[];
  jtj: number[][];
  /** J^T r = sum over compared samples of r * d m_x/d theta, r = student - teacher m_x (dual mode; zeros otherwise) */
  jtr: number[];
}

/** Offsets into one window's block of sums (sysid.rs `Block`; its length checked against the core by test/codes.test.ts). */
export interface BlockLayout {
  len: number;
  /** G = fitted parameters + offset + amplitude */
  g: number;
  w: number;
  /** d sum|r| / d g */
  ga: number;
  /** J_g^T r */
  gr: number;
  /** J_g^T J_g (G x G) */
  gg: number;
  wa: number;
  wr: number;
  /** J_w^T J_w (W x W) */
  ww: number;
  /** J_w^T J_g (W x G) */
  wg: number;
}

export function blockLayout(nFit: number, chart: boolean): BlockLayout {
  const g = nFit + 2;
  const w = chart ? 2 : 0;
  const ga = 3;
  const gr = ga + g;
  const gg = gr + g;
  const wa = gg + g * g;
  const wr = wa + w;
  const ww = wr + w;
  const wg = ww + w * w;
  return { len: wg + w * g, g, w, ga, gr, gg, wa, wr, ww, wg };
}

/**
 * The sum of two evaluations over disjoint trial sets: how the pieces of one
 * selection (main thread, pool workers) are reduced before the optimizer
 * sees the gradient. (Gradients of worker slices that go straight to the
 * optimizer, MNIST's, are summed by the optimizer's step: core-rs/src/adam.rs.)
 */
export function addParts(a: Parts, b: Parts): Parts {
  return {
    sumAbs: a.sumAbs + b.sumAbs,
    count: a.count + b.count,
    sumSq: a.sumSq + b.sumSq,
    grad: a.grad.map((g, i) => g + b.grad[i]),
    jtj: a.jtj.map((row, i) => row.map((v, j) => v + b.jtj[i][j])),
    jtr: a.jtr.map((v, i) => v + b.jtr[i]),
  };
}

export interface SysidData {
  /** trial i owns samples offsets[i]..offsets[i+1] */
  offsets: Uint32Array;
  t_s: Float64Array;
  /** the compared signal: teacher m_x, or the measured y */
  y: Float64Array;
  /** initial states (3 per trial); for windows given per request instead */
  m0?: Float64Array;
}

export class SysidProblem {
  readonly nTrials: number;
  readonly totalSamples: number;
  private readonly bufs: {
    offsets: Buf<Int32Array>;
    t: Buf<Float64Array>;
    y: Buf<Float64Array>;
    m0: Buf<Float64Array>;
    chart?: Buf<Float64Array>;
    params: Buf<Float64Array>;
    fit: Buf<Int32Array>;
    sel: Buf<Int32Array>;
    out: Buf<Float64Array>;
    blocks?: Buf<Float64Array>;
  };
  private readonly args: Struct<"SysidArgs">;

  /** With `blockLen` > 0, room for the windows evaluator's blocks (`blockLen` f64 per trial) and charts. */
  constructor(
    data: SysidData,
    readonly dtS: number,
    readonly washoutS: number,
    blockLen = 0,
    private readonly c: Core = core(),
  ) {
    const n = SIZE.n_params;
    this.nTrials = data.offsets.length - 1;
    this.totalSamples = data.offsets[this.nTrials];
    this.bufs = {
      offsets: c.i32(data.offsets.length),
      t: c.f64(data.t_s.length),
      y: c.f64(data.y.length),
      m0: c.f64(3 * this.nTrials),
      params: c.f64(n),
      fit: c.i32(n),
      sel: c.i32(this.nTrials),
      out: c.f64(3 + 2 * n + n * n),
    };
    if (blockLen > 0) {
      this.bufs.chart = c.f64(2 * this.nTrials);
      this.bufs.blocks = c.f64(blockLen * this.nTrials);
    }
    const b = this.bufs;
    b.offsets.view().set(new Int32Array(data.offsets.buffer, data.offsets.byteOffset, data.offsets.length));
    b.t.view().set(data.t_s);
    b.y.view().set(data.y);
    if (data.m0) b.m0.view().set(data.m0);
    this.args = new Struct(c, "SysidArgs");
    this.args.set({
      dt_s: dtS,
      washout_s: washoutS,
      n_trials: this.nTrials,
      offsets: b.offsets.ptr,
      t_s: b.t.ptr,
      y: b.y.ptr,
      m0: b.m0.ptr,
      params: b.params.ptr,
      fit: b.fit.ptr,
      sel: b.sel.ptr,
      out: b.out.ptr,
      blocks: b.blocks?.ptr ?? 0,
      chart: 0,
      student: 0,
      offset: 0,
      amplitude: 1,
    });
  }

  private load(values: ArrayLike<number>, fit: number[], mode: SysidMode, sel: number[]): void {
    const b = this.bufs;
    b.params.view().set(values);
    b.fit.view().set(fit);
    b.sel.view().set(sel);
    this.args.set({ n_fit: fit.length, mode: SYSID_MODE[mode], n_sel: sel.length });
  }

  /** Loss parts (and gradient, as `mode` asks) over the trials `sel`; with `student`, also the student's state (3 per sample, loss mode). */
  eval(values: ArrayLike<number>, fit: number[], mode: SysidMode, sel: number[], student?: Float64Array): Parts {
    this.load(values, fit, mode, sel);
    const st = student ? this.c.f64(3 * this.totalSamples) : undefined;
    try {
      this.args.set({ student: st ? st.ptr : 0 });
      this.c.check(this.c.exports.stoopt_sysid_eval(this.args.ptr), "sysid");
      if (st && student) student.set(st.view());
    } finally {
      st?.free();
    }
    const o = this.bufs.out.view();
    const k = fit.length;
    return {
      sumAbs: o[0],
      count: o[1],
      sumSq: o[2],
      grad: Array.from(o.subarray(3, 3 + k)),
      jtj: Array.from({ length: k }, (_, a) => Array.from(o.subarray(3 + k + a * k, 3 + k + (a + 1) * k))),
      jtr: Array.from(o.subarray(3 + k + k * k, 3 + 2 * k + k * k)),
    };
  }

  /**
   * The windows evaluator: per-trial blocks (sysid.rs `Block`, `len` f64
   * each) of the trials `sel`, in that order, for initial states `m0` (3 per
   * trial) and, if `chart` is given, each window's initial state fitted in
   * its tangent-plane chart.
   */
  windows(
    req: {
      params: ArrayLike<number>;
      fit: number[];
      mode: SysidMode;
      sel: number[];
      m0: ArrayLike<number>;
      chart: ArrayLike<number> | null;
      offset: number;
      amplitude: number;
    },
    len: number,
    student?: Float64Array,
  ): Float64Array {
    const b = this.bufs;
    if (!b.blocks || !b.chart) throw new Error("internal error: SysidProblem made without blocks");
    this.load(req.params, req.fit, req.mode, req.sel);
    b.m0.view().set(req.m0);
    if (req.chart) b.chart.view().set(req.chart);
    const st = student ? this.c.f64(3 * this.totalSamples) : undefined;
    try {
      this.args.set({ chart: req.chart ? b.chart.ptr : 0, offset: req.offset, amplitude: req.amplitude, student: st ? st.ptr : 0 });
      this.c.check(this.c.exports.stoopt_sysid_windows(this.args.ptr), "sysid windows");
      if (st && student) student.set(st.view());
    } finally {
      st?.free();
    }
    const all = b.blocks.view();
    const out = new Float64Array(len * req.sel.length);
    req.sel.forEach((i, k) => out.set(all.subarray(i * len, (i + 1) * len), k * len));
    return out;
  }

  free(): void {
    for (const b of Object.values(this.bufs)) b?.free();
    this.args.free();
  }
}
