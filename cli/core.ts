/**
 * The one place the wasm core is loaded. A typed interface for its flat
 * extern "C" exports (core-rs/src/abi.rs), buffers allocated in wasm memory,
 * and views made fresh after every call that may grow memory.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { RuntimeFailure } from "./errors.js";

export const ABI_VERSION = 8;
export const RNG_WORDS = 6;

export interface CoreExports {
  memory: WebAssembly.Memory;
  stoopt_abi_version(): number;
  stoopt_alloc(bytes: number): number;
  stoopt_free(ptr: number, bytes: number): void;
  stoopt_last_error_len(): number;
  stoopt_last_error_ptr(): number;
  stoopt_rng_init(seed: bigint, firstStream: bigint, n: number, out: number): number;
  stoopt_random_unit_vectors(rng: number, n: number, out: number): number;
  stoopt_simulate(
    params: number,
    scheme: number,
    dtS: number,
    temperatureK: number,
    nTrials: number,
    m: number,
    rng: number,
    stepsPerSample: number,
    nSamples: number,
    out: number,
  ): number;
  stoopt_theory(params: number, out: number): number;
  stoopt_steady_state(params: number, fit: number, nFit: number, dtS: number, washoutSteps: number, windowSteps: number, m0: number, out: number): number;
  stoopt_sysid_eval(
    params: number,
    fit: number,
    nFit: number,
    mode: number,
    dtS: number,
    washoutS: number,
    nTrials: number,
    offsets: number,
    tS: number,
    mx: number,
    m0: number,
    sel: number,
    nSel: number,
    out: number,
    student: number,
  ): number;
  stoopt_sysid_windows(
    params: number,
    fit: number,
    nFit: number,
    mode: number,
    dtS: number,
    washoutS: number,
    nTrials: number,
    offsets: number,
    tS: number,
    y: number,
    m0: number,
    chart: number,
    offset: number,
    amplitude: number,
    sel: number,
    nSel: number,
    blocks: number,
    student: number,
  ): number;
  // STO network (core-rs/src/abi.rs, section stoopt_net_*)
  stoopt_net_new(precision: number, n: number, nIn: number, nOut: number, steps: number, maxBatch: number, x0Norm: number): number;
  stoopt_net_free(net: number): void;
  stoopt_net_step(
    net: number,
    params: number,
    dtS: number,
    cmOe: number,
    wCp: number,
    wIn: number,
    wOut: number,
    hAppl: number,
    images: number,
    labels: number,
    batch: number,
    gradScale: number,
    want: number,
    gWIn: number,
    gWOut: number,
    gHAppl: number,
    gPhys: number,
    stats: number,
  ): number;
  stoopt_rng_fill(seed: bigint, stream: bigint, kind: number, lo: number, hi: number, n: number, out: number): number;
  stoopt_peak_flops(precision: number, iters: number, out: number): number;
  stoopt_net_trajectory(net: number, image: number, out: number): number;
  stoopt_net_flops(n: number, nIn: number, nOut: number, steps: number, want: number, x0Norm: number, out: number): number;
  stoopt_adam(precision: number, n: number, theta: number, m: number, v: number, g0: number, g1: number, hyper: number): number;
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
  stoopt_readout_loss(
    x: number,
    f: number,
    tTotal: number,
    t0: number,
    t1: number,
    y: number,
    nOut: number,
    w: number,
    lambda: number,
    g: number,
    out: number,
  ): number;
  stoopt_esn_run(n: number, w: number, wIn: number, bias: number, rho: number, sigma: number, t: number, u: number, x: number): number;
  // linewidth (core-rs/src/linewidth.rs)
  stoopt_linewidth(params: number, temperatureK: number, fit: number, nFit: number, zStart: number, stepsPerPeriod: number, out: number): number;
}

/** Path of the committed module, relative to this file (dist/cli/ or cli/). */
export function wasmPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../wasm/stoopt_core.wasm"), path.resolve(here, "../../wasm/stoopt_core.wasm")];
  for (const c of candidates) {
    try {
      readFileSync(c, { flag: "r" });
      return c;
    } catch {
      /* try next */
    }
  }
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

  /** Throw the core's last error if `status` is not 0. */
  check(status: number, what: string): void {
    if (status === 0) return;
    const len = this.exports.stoopt_last_error_len();
    const ptr = this.exports.stoopt_last_error_ptr();
    const msg = new TextDecoder().decode(new Uint8Array(this.exports.memory.buffer, ptr, len));
    throw new RuntimeFailure(`${what}: ${msg}`);
  }
}

let shared: Core | undefined;
/** The process-wide core instance (workers make their own). */
export function core(): Core {
  if (!shared) shared = new Core();
  return shared;
}
