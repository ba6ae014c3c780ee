/**
 * The optimizer: theta and Adam's m, v live in the main thread's wasm
 * memory; after every batch the workers' gradient slots are copied in and
 * stoopt_adam (core-rs/src/adam.rs) updates each trainable range with its
 * learning rate and physical range, then theta is published to the workers.
 */
import { Buf, Core } from "../core.js";
import { ADAM, Precision, PRECISION_CODE } from "./config.js";

export type Vec = Float32Array | Float64Array;

export class Optimizer {
  private readonly make: (n: number) => Buf<Vec>;
  readonly theta: Buf<Vec>;
  readonly m: Buf<Vec>;
  readonly v: Buf<Vec>;
  private readonly g: Buf<Vec>[];
  private readonly hyper: Buf<Float64Array>;
  private readonly bytes: number;

  constructor(
    private readonly c: Core,
    private readonly precision: Precision,
    theta: Vec,
    m: Vec,
    v: Vec,
    slots: number,
  ) {
    this.make = precision === "f32" ? (n) => c.f32(n) : (n) => c.f64(n);
    this.bytes = precision === "f32" ? 4 : 8;
    const n = theta.length;
    this.theta = this.make(n);
    this.m = this.make(n);
    this.v = this.make(n);
    this.theta.view().set(theta);
    this.m.view().set(m);
    this.v.view().set(v);
    this.g = [];
    for (let i = 0; i < Math.min(slots, 2); i++) this.g.push(this.make(n));
    this.hyper = c.f64(7);
  }

  /** Copy the range [lo, hi) of each worker's gradient slot in (at most two slots used). */
  loadGradients(slots: Vec[], ranges: [number, number][]): void {
    if (slots.length > 2) {
      // sum extra slots into the second
      for (const [lo, hi] of ranges) {
        const acc = Float64Array.from(slots[1].subarray(lo, hi));
        for (let s = 2; s < slots.length; s++) {
          const x = slots[s];
          for (let i = lo; i < hi; i++) acc[i - lo] += x[i];
        }
        this.g[1].view().set(acc, lo);
      }
    }
    for (let s = 0; s < Math.min(slots.length, 2); s++) {
      if (s === 1 && slots.length > 2) continue;
      const dst = this.g[s].view();
      for (const [lo, hi] of ranges) dst.set(slots[s].subarray(lo, hi), lo);
    }
    this.slotsUsed = Math.min(slots.length, 2);
  }
  private slotsUsed = 1;

  /** One Adam step on [lo, hi) with learning rate `lr`, step `t`, clipped to [clipLo, clipHi]. */
  step(lo: number, hi: number, lr: number, t: number, clipLo = -Infinity, clipHi = Infinity): void {
    if (hi <= lo) return;
    this.hyper.view().set([lr, ADAM.beta1, ADAM.beta2, ADAM.eps, t, clipLo, clipHi]);
    const off = lo * this.bytes;
    const g1 = this.slotsUsed > 1 ? this.g[1].ptr + off : 0;
    this.c.check(
      this.c.exports.stoopt_adam(
        PRECISION_CODE[this.precision],
        hi - lo,
        this.theta.ptr + off,
        this.m.ptr + off,
        this.v.ptr + off,
        this.g[0].ptr + off,
        g1,
        this.hyper.ptr,
      ),
      "adam",
    );
  }

  /** Copies of theta, m, v (for checkpoints). */
  snapshot(): { theta: Vec; m: Vec; v: Vec } {
    return { theta: this.theta.view().slice(), m: this.m.view().slice(), v: this.v.view().slice() };
  }

  free(): void {
    for (const b of [this.theta, this.m, this.v, ...this.g]) b.free();
    this.hyper.free();
  }
}
