/**
 * Batched trials of one STO (simulate.rs): the parameters, each trial's
 * state and generator, and the recorded samples live in this handle's wasm
 * buffers.
 */
import { Buf, Core, Struct, core } from "./wasm.js";
import { SCHEME, SIZE } from "./codes.js";

export type Scheme = keyof typeof SCHEME;

export class Simulation {
  private readonly p: Buf<Float64Array>;
  private readonly m: Buf<Float64Array>;
  private readonly rng: Buf<BigUint64Array>;
  private out?: Buf<Float64Array>;
  /** the call's arguments, set once here and per call in `run` */
  private readonly args: Struct<"SimulateArgs">;

  /** Up to `maxTrials` trials of `params` with `scheme`, step `dtS` and temperature `temperatureK`. */
  constructor(
    params: Float64Array,
    readonly maxTrials: number,
    readonly scheme: Scheme,
    readonly dtS: number,
    readonly temperatureK: number,
    private readonly c: Core = core(),
  ) {
    this.p = c.f64(params.length);
    this.p.view().set(params);
    this.m = c.f64(3 * maxTrials);
    this.rng = c.u64(SIZE.rng_words * maxTrials);
    this.args = new Struct(c, "SimulateArgs").set({
      params: this.p.ptr,
      scheme: SCHEME[scheme],
      dt_s: dtS,
      temperature_k: temperatureK,
      m: this.m.ptr,
      rng: this.rng.ptr,
    });
  }

  /** Seed trials 0..n-1 with the streams firstStream, firstStream + 1, ... of `seed`. */
  seed(seed: bigint, firstStream: bigint, n: number): void {
    this.c.check(this.c.exports.stoopt_rng_init(seed, firstStream, n, this.rng.ptr), "rng");
  }

  /** Every one of the first `n` trials starts at `m0`. */
  setStates(m0: ArrayLike<number>, n: number): void {
    const mv = this.m.view();
    for (let i = 0; i < n; i++) mv.set(m0, 3 * i);
  }

  /** The first `n` trials start at uniformly random unit vectors from their generators. */
  randomStates(n: number): void {
    this.c.check(this.c.exports.stoopt_random_unit_vectors(this.rng.ptr, n, this.m.ptr), "initial state");
  }

  /** The current states, 3 per trial (a fresh view, valid until the next core call). */
  states(): Float64Array {
    return this.m.view();
  }

  /**
   * Advance the first `n` trials by `samples` x `stepsPerSample` steps. With
   * `record`, returns the states after every `stepsPerSample` steps,
   * [trial][sample][mx, my, mz] (a view valid until the next core call).
   */
  run(n: number, stepsPerSample: number, samples: number, record: boolean): Float64Array | undefined {
    let outPtr = 0;
    if (record) {
      const need = 3 * n * samples;
      if (!this.out || this.out.length < need) {
        this.out?.free();
        this.out = undefined;
        this.out = this.c.f64(need);
      }
      outPtr = this.out.ptr;
    }
    this.args.set({ n_trials: n, steps_per_sample: stepsPerSample, n_samples: samples, out: outPtr });
    this.c.check(this.c.exports.stoopt_simulate(this.args.ptr), "simulate");
    return record ? this.out!.view().subarray(0, 3 * n * samples) : undefined;
  }

  free(): void {
    for (const b of [this.p, this.m, this.rng, this.out]) b?.free();
    this.args.free();
  }
}
