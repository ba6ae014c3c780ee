/**
 * The one place the wasm core is loaded: a typed interface for its flat
 * extern "C" exports (core-rs/src/abi.rs), buffers allocated in wasm memory
 * with views made fresh after every call that may grow memory, and the
 * writer of the `#[repr(C)]` argument structs. Only files in cli/core/ use
 * this module's exports, pointers and buffers (test/boundary.test.ts); the
 * rest of the CLI holds a `Core` and the typed handles of cli/core/.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { RuntimeFailure } from "../errors.js";
import { LAYOUTS, StructName, structLayout } from "./codes.js";

export const ABI_VERSION = 11;

export interface CoreExports {
  memory: WebAssembly.Memory;
  stoopt_abi_version(): number;
  stoopt_alloc(bytes: number): number;
  stoopt_free(ptr: number, bytes: number): void;
  stoopt_last_error_len(): number;
  stoopt_last_error_ptr(): number;
  stoopt_rng_init(seed: bigint, firstStream: bigint, n: number, out: number): number;
  stoopt_random_unit_vectors(rng: number, n: number, out: number): number;
  stoopt_simulate(args: number): number;
  stoopt_theory(params: number, out: number): number;
  stoopt_steady_state(params: number, fit: number, nFit: number, dtS: number, washoutSteps: number, windowSteps: number, m0: number, out: number): number;
  stoopt_sysid_eval(args: number): number;
  stoopt_sysid_windows(args: number): number;
  stoopt_describe(out: number, cap: number): number;
  stoopt_table1(out: number): void;
  // STO network (core-rs/src/abi.rs, section stoopt_net_*)
  stoopt_net_new(precision: number, n: number, nIn: number, nOut: number, steps: number, maxBatch: number, x0Norm: number): number;
  stoopt_net_free(net: number): void;
  stoopt_net_step(net: number, args: number): number;
  stoopt_rng_fill(seed: bigint, stream: bigint, kind: number, lo: number, hi: number, n: number, out: number): number;
  stoopt_peak_flops(precision: number, iters: number, out: number): number;
  stoopt_net_trajectory(net: number, image: number, out: number): number;
  stoopt_net_flops(n: number, nIn: number, nOut: number, steps: number, want: number, x0Norm: number, out: number): number;
  stoopt_lanes_new(precision: number, nIn: number, maxBatch: number, maxRows: number): number;
  stoopt_lanes_free(lanes: number): void;
  stoopt_lanes_load(lanes: number, images: number, batch: number, nIn: number): number;
  stoopt_lanes_x0(lanes: number, w: number, rows: number, nIn: number, out: number): number;
  stoopt_lanes_outer(lanes: number, lam: number, rows: number, nIn: number, out: number, ldo: number): number;
  stoopt_rng_new(seed: bigint, stream: bigint): number;
  stoopt_rng_free(rng: number): void;
  stoopt_rng_draw(rng: number, kind: number, a: number, b: number, n: number, out: number): number;
  stoopt_adam_new(precision: number, n: number, slots: number): number;
  stoopt_adam_free(adam: number): void;
  stoopt_adam_buffer(adam: number, which: number): number;
  stoopt_adam_groups(adam: number, groups: number, nGroups: number): number;
  stoopt_adam_t(adam: number, set: number): number;
  stoopt_adam_step(adam: number, used: number): number;
  // STO reservoir (core-rs/src/abi.rs, section stoopt_res_*; all f64)
  stoopt_res_new(n: number, k: number, sub: number, holds: number, every: number, feat: number, wCp: number): number;
  stoopt_res_free(res: number): void;
  stoopt_res_state_words(res: number): number;
  stoopt_res_forward(res: number, params: number, dtS: number, cmOe: number, theta: number, u: number, m0: number, feats: number): number;
  stoopt_res_backward(res: number, params: number, dtS: number, cmOe: number, theta: number, u: number, gFeat: number, grad: number): number;
  stoopt_res_flops_per_step(n: number): number;
  stoopt_ridge_gram(x: number, f: number, t0: number, t1: number, y: number, nOut: number, gram: number, xty: number): number;
  stoopt_ridge_solve(gram: number, xty: number, f: number, nOut: number, lambda: number, w: number): number;
  stoopt_ridge_predict(x: number, f: number, t0: number, t1: number, w: number, nOut: number, yhat: number): number;
  stoopt_readout_loss(args: number): number;
  stoopt_esn_run(n: number, w: number, wIn: number, bias: number, rho: number, sigma: number, t: number, u: number, x: number): number;
  // linewidth (core-rs/src/linewidth.rs)
  stoopt_linewidth(params: number, temperatureK: number, fit: number, nFit: number, zStart: number, stepsPerPeriod: number, out: number): number;
}

/** Path of the committed module, relative to this file (dist/cli/core/ or cli/core/). */
export function wasmPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../../wasm/stoopt_core.wasm"), path.resolve(here, "../../../wasm/stoopt_core.wasm")];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new RuntimeFailure(`wasm core not found (looked in ${candidates.join(", ")}); run 'npm run build:wasm'`);
}

let cachedModule: WebAssembly.Module | undefined;

export function wasmModule(): WebAssembly.Module {
  if (!cachedModule) cachedModule = new WebAssembly.Module(readFileSync(wasmPath()));
  return cachedModule;
}

/** A wasm-memory buffer of f64 or u64; `view()` is always a fresh view. */
export class Buf<
  T extends Float64Array | BigUint64Array | Float32Array | Int32Array | Uint8Array = Float64Array | BigUint64Array | Float32Array | Int32Array | Uint8Array,
> {
  constructor(
    private readonly core: Core,
    readonly ptr: number,
    readonly length: number,
    private readonly make: (b: ArrayBuffer, off: number, n: number) => T,
    private readonly bytesPer: number,
  ) {}
  view(): T {
    return this.make(this.core.exports.memory.buffer, this.ptr, this.length);
  }
  get bytes(): number {
    return this.length * this.bytesPer;
  }
  free(): void {
    this.core.exports.stoopt_free(this.ptr, Math.max(this.bytes, 1));
  }
}

export class Core {
  readonly exports: CoreExports;
  constructor(module: WebAssembly.Module = wasmModule()) {
    const instance = new WebAssembly.Instance(module, {});
    this.exports = instance.exports as unknown as CoreExports;
    const v = this.exports.stoopt_abi_version();
    if (v !== ABI_VERSION) throw new RuntimeFailure(`wasm core ABI version ${v}, CLI expects ${ABI_VERSION}; rebuild with 'npm run build:wasm'`);
  }

  f64(n: number): Buf<Float64Array> {
    return new Buf(this, this.exports.stoopt_alloc(Math.max(8 * n, 1)), n, (b, o, k) => new Float64Array(b, o, k), 8);
  }
  f32(n: number): Buf<Float32Array> {
    return new Buf(this, this.exports.stoopt_alloc(Math.max(4 * n, 1)), n, (b, o, k) => new Float32Array(b, o, k), 4);
  }
  u64(n: number): Buf<BigUint64Array> {
    return new Buf(this, this.exports.stoopt_alloc(Math.max(8 * n, 1)), n, (b, o, k) => new BigUint64Array(b, o, k), 8);
  }
  u8(n: number): Buf<Uint8Array> {
    return new Buf(this, this.exports.stoopt_alloc(Math.max(n, 1)), n, (b, o, k) => new Uint8Array(b, o, k), 1);
  }
  i32(n: number): Buf<Int32Array> {
    return new Buf(this, this.exports.stoopt_alloc(Math.max(4 * n, 1)), n, (b, o, k) => new Int32Array(b, o, k), 4);
  }

  /** The core's description of its codes, Table I and struct layouts (core-rs/src/codes.rs). */
  describe(): string {
    const n = this.exports.stoopt_describe(0, 0);
    const b = this.u8(n);
    try {
      this.exports.stoopt_describe(b.ptr, n);
      return new TextDecoder().decode(b.view());
    } finally {
      b.free();
    }
  }

  /** Throw the core's last error if `status` is not 0. */
  check(status: number, what: string): void {
    if (status === 0) return;
    const len = this.exports.stoopt_last_error_len();
    const ptr = this.exports.stoopt_last_error_ptr();
    const msg = new TextDecoder().decode(new Uint8Array(this.exports.memory.buffer, ptr, len));
    throw new RuntimeFailure(`${what}: ${msg}`);
  }
}

/**
 * A `#[repr(C)]` argument struct (abi.rs) in wasm memory: fields set by name
 * at the offsets of codes.ts LAYOUTS (checked against the core by
 * test/codes.test.ts), then passed by `ptr`.
 */
export class Struct<N extends StructName> {
  private readonly buf: Buf<Uint8Array>;
  private readonly layout: ReturnType<typeof structLayout>;
  constructor(
    core: Core,
    readonly name: N,
  ) {
    this.layout = structLayout(name);
    this.buf = core.u8(this.layout.size);
  }
  get ptr(): number {
    return this.buf.ptr;
  }
  /** Set fields; numbers for f64/u32/usize fields, buffer addresses (or 0) for pointer fields. */
  set(fields: Partial<Record<(typeof LAYOUTS)[N][number][0], number>>): this {
    const v = this.buf.view();
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    for (const [name, value] of Object.entries(fields) as [string, number][]) {
      const f = this.layout.fields[name];
      if (!f) throw new RuntimeFailure(`internal error: ${this.name} has no field ${name}`);
      if (f.kind === "f64") dv.setFloat64(f.offset, value, true);
      else dv.setUint32(f.offset, value >>> 0, true);
    }
    return this;
  }
  free(): void {
    this.buf.free();
  }
}

let shared: Core | undefined;

/**
 * A worker thread's own instance becomes its thread's `core()` (so that the
 * handles made without an explicit core, e.g. an optimizer, share it rather
 * than compiling the module again).
 */
export function adoptCore(c: Core): void {
  shared = c;
}

/** The process-wide core instance (workers make their own). */
export function core(): Core {
  if (!shared) shared = new Core();
  return shared;
}
