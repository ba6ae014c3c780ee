/**
 * The core's seeded generator (noise.rs: xoshiro256++ seeded by SplitMix64
 * from (seed, stream)), the one source of reproducible random numbers:
 * thermal noise, initial states, network initialization and shuffling,
 * sysid's shuffling and multi-start placement, bootstrap resampling.
 */
import { Core, core } from "./wasm.js";
import { RNG_KIND } from "./codes.js";

export type RngKind = keyof typeof RNG_KIND;

const u64 = (x: bigint | number): bigint => BigInt.asUintN(64, typeof x === "bigint" ? x : BigInt(Math.trunc(x)));

/** `n` numbers of a fresh generator (seed, stream): uniform in [a, b), or normal with mean a and standard deviation b. */
export function rngFill(c: Core, seed: bigint | number, stream: bigint | number, kind: RngKind, a: number, b: number, n: number): Float64Array {
  const buf = c.f64(n);
  try {
    c.check(c.exports.stoopt_rng_fill(u64(seed), u64(stream), RNG_KIND[kind], a, b, n, buf.ptr), "random numbers");
    return buf.view().slice();
  } finally {
    buf.free();
  }
}

/** A generator owned by this handle; `free()` releases it. */
export class Rng {
  private readonly handle: number;
  constructor(
    seed: bigint | number,
    stream: bigint | number,
    private readonly c: Core = core(),
  ) {
    this.handle = c.exports.stoopt_rng_new(u64(seed), u64(stream));
  }
  /** The next `n` numbers (kind as `rngFill`). */
  draw(kind: RngKind, a: number, b: number, n: number): Float64Array {
    const buf = this.c.f64(n);
    try {
      this.c.check(this.c.exports.stoopt_rng_draw(this.handle, RNG_KIND[kind], a, b, n, buf.ptr), "random numbers");
      return buf.view().slice();
    } finally {
      buf.free();
    }
  }
  free(): void {
    this.c.exports.stoopt_rng_free(this.handle);
  }
}

const release = new FinalizationRegistry<Rng>((r) => r.free());

/**
 * Uniform numbers in [0, 1) from generator (seed, stream), one per call
 * (drawn from the core in blocks; the sequence is the generator's own).
 */
export function uniformSource(seed: bigint | number, stream: bigint | number = 0n, c: Core = core()): () => number {
  const rng = new Rng(seed, stream, c);
  let block: Float64Array = new Float64Array(0);
  let k = 0;
  const next = (): number => {
    if (k >= block.length) {
      block = rng.draw("uniform", 0, 1, 64);
      k = 0;
    }
    return block[k++];
  };
  release.register(next, rng);
  return next;
}

/** Uniform numbers in [0, 1) for a numeric seed (stream 0): the seeded source of sysid, the benches and the examples. */
export function prng(seed: number): () => number {
  return uniformSource(seed, 0n);
}
