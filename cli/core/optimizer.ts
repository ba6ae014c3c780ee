/**
 * The one optimizer (core-rs/src/adam.rs): Adam with a learning rate and a
 * range per parameter, given as groups of consecutive parameters. The
 * handle owns theta, m, v, the step counter t and one gradient slot per
 * worker in wasm memory; `step` sums the slots (the one place where the
 * gradients of worker slices are reduced) and updates every group. Used by
 * sysid (cli/fit/sysid.ts), the MNIST trainer (cli/network/trainer.ts) and the
 * reservoir trainer (cli/reservoir/run.ts).
 */
import { Buf, Core, core } from "./wasm.js";
import { PRECISION } from "./codes.js";

export type Precision = keyof typeof PRECISION;
export type Vec = Float32Array | Float64Array;

/** Parameters [start, end) share learning rate `lr` and the range [lo, hi] (+-Infinity for none). */
export interface Group {
  start: number;
  end: number;
  lr: number;
  lo?: number;
  hi?: number;
}

/** A copy of the moments and the step counter (to undo a rejected step). */
export interface OptimizerState {
  t: number;
  m: Vec;
  v: Vec;
}

export class Optimizer {
  private readonly handle: number;
  private readonly groups: Buf<Float64Array>;

  /** `n` parameters of `precision`, `slots` gradient slots (at least one). */
  constructor(
    readonly precision: Precision,
    readonly n: number,
    readonly slots = 1,
    private readonly c: Core = core(),
  ) {
    this.handle = c.exports.stoopt_adam_new(PRECISION[precision], n, Math.max(1, slots));
    if (this.handle === 0) c.check(1, "optimizer");
    this.groups = c.f64(5 * 16);
  }

  /** The core this optimizer lives in. */
  get core(): Core {
    return this.c;
  }
  /** Address of buffer `which` (0 theta, 1 m, 2 v, 3 + k slot k) in the core's memory: for cli/core/network.ts, which binds a network's weights and gradients to it. */
  address(which: number): number {
    const ptr = this.c.exports.stoopt_adam_buffer(this.handle, which);
    if (ptr === 0) throw new Error(`internal error: optimizer buffer ${which}`);
    return ptr;
  }
  private view(which: number): Vec {
    const ptr = this.address(which);
    const buf = this.c.exports.memory.buffer;
    return this.precision === "f32" ? new Float32Array(buf, ptr, this.n) : new Float64Array(buf, ptr, this.n);
  }
  /** The parameters (a view, valid until the next core call that may grow memory). */
  theta(): Vec {
    return this.view(0);
  }
  m(): Vec {
    return this.view(1);
  }
  v(): Vec {
    return this.view(2);
  }
  /** Gradient slot `k` (one per worker); the step uses the sum of the first `used`. */
  slot(k: number): Vec {
    if (k < 0 || k >= Math.max(1, this.slots)) throw new Error(`internal error: optimizer slot ${k} of ${this.slots}`);
    return this.view(3 + k);
  }
  /** Steps taken so far. */
  get t(): number {
    return this.c.exports.stoopt_adam_t(this.handle, -1);
  }
  set t(t: number) {
    this.c.exports.stoopt_adam_t(this.handle, t);
  }

  /** Load theta, m, v and t (from a checkpoint or a caller's state). */
  load(s: { theta?: ArrayLike<number>; m?: ArrayLike<number>; v?: ArrayLike<number>; t?: number }): void {
    if (s.theta) this.theta().set(s.theta);
    if (s.m) this.m().set(s.m);
    if (s.v) this.v().set(s.v);
    if (s.t !== undefined) this.t = s.t;
  }

  /** The groups the next steps update (parameters in no group are left as they are). */
  setGroups(groups: Group[]): void {
    let buf = this.groups;
    const big = groups.length > 16 ? this.c.f64(5 * groups.length) : undefined;
    if (big) buf = big;
    try {
      const v = buf.view();
      groups.forEach((g, k) => v.set([g.start, g.end, g.lr, g.lo ?? -Infinity, g.hi ?? Infinity], 5 * k));
      this.c.check(this.c.exports.stoopt_adam_groups(this.handle, buf.ptr, groups.length), "optimizer groups");
    } finally {
      big?.free();
    }
  }

  /** One Adam step (t + 1) on every group with the gradient the sum of the first `used` slots. */
  step(used = 1): void {
    this.c.check(this.c.exports.stoopt_adam_step(this.handle, used), "optimizer step");
  }

  snapshot(): OptimizerState {
    return { t: this.t, m: this.m().slice(), v: this.v().slice() };
  }
  restore(s: OptimizerState): void {
    this.load(s);
  }

  free(): void {
    this.c.exports.stoopt_adam_free(this.handle);
    this.groups.free();
  }
}
