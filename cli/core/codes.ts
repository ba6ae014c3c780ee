/**
 * Every code and slot that crosses the ABI, in one place. The definitions
 * are the core's (core-rs/src/codes.rs, `stoopt_describe`); this file
 * mirrors them so that they are usable without loading the wasm module,
 * and test/codes.test.ts checks each entry against the running core.
 * No other TypeScript file writes one of these numbers.
 */

/** Integration scheme of `stoopt_simulate` (simulate.rs Scheme). */
export const SCHEME = { rk4: 0, heun: 1 } as const;
/** Lane type of the network and the optimizer. */
export const PRECISION = { f32: 0, f64: 1 } as const;
/** Gradient mode of the sysid evaluations (sysid.rs Mode; "dual" is Mode::Forward). */
export const SYSID_MODE = { loss: 0, dual: 1, adjoint: 2 } as const;
/** How x(0) = W_in u becomes each STO's initial state (network.rs X0Norm). */
export const X0_NORM = { unit: 0, raw: 1 } as const;
/** Reservoir features (reservoir.rs Feat). */
export const FEAT = { all: 0, mx: 1, mz: 2 } as const;
/** Distributions of the core's RNG. */
export const RNG_KIND = { uniform: 0, normal: 1 } as const;
/** Bits of stoopt_net_step's `want`: which gradients to compute. */
export const WANT = { win: 1, wout: 2, phys: 4 } as const;

/** Parameter names in slot order (params.rs PARAM_NAMES). */
export const PARAM_NAMES = ["gamma", "H_appl", "M", "H_K", "d", "R", "eta", "lambda", "j_DC", "alpha"] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
/** Slot of each parameter in the core's parameter array (p[PARAM_SLOT.j_DC] is j_DC). */
export const PARAM_SLOT = Object.fromEntries(PARAM_NAMES.map((n, i) => [n, i])) as Record<ParamName, number>;

/** Sizes of fixed buffers. */
export const SIZE = {
  n_params: 10,
  /** u64 words of one generator's saved state */
  rng_words: 6,
  theory_out: 4,
  /** stoopt_steady_state writes this many f64 before the 2 n_fit derivatives */
  steady_out_fixed: 4,
  /** stoopt_linewidth writes this many f64 before the 2 n_fit derivatives */
  linewidth_out_fixed: 9,
  net_stats: 2,
  net_g_phys: 2,
} as const;

/** Physical constants (params.rs), CGS with the current in A. */
export const CONSTANT = { hbar_erg_s: 1.054571817e-27, e_charge_c: 1.602176634e-19, kb_erg_per_k: 1.380649e-16 } as const;

type FieldKind = "f64" | "u32" | "usize" | "ptr";
/** Fields of the `#[repr(C)]` argument structs (abi.rs), in declaration order. */
export const LAYOUTS = {
  NetStepArgs: [
    ["dt_s", "f64"],
    ["cm_oe", "f64"],
    ["grad_scale", "f64"],
    ["params", "ptr"],
    ["w_cp", "ptr"],
    ["w_in", "ptr"],
    ["w_out", "ptr"],
    ["h_appl", "ptr"],
    ["images", "ptr"],
    ["labels", "ptr"],
    ["batch", "usize"],
    ["want", "u32"],
    ["g_w_in", "ptr"],
    ["g_w_out", "ptr"],
    ["g_h_appl", "ptr"],
    ["g_phys", "ptr"],
    ["stats", "ptr"],
    ["x0", "ptr"],
    ["lamv", "ptr"],
  ],
  SysidArgs: [
    ["dt_s", "f64"],
    ["washout_s", "f64"],
    ["offset", "f64"],
    ["amplitude", "f64"],
    ["params", "ptr"],
    ["fit", "ptr"],
    ["n_fit", "usize"],
    ["mode", "u32"],
    ["n_trials", "usize"],
    ["offsets", "ptr"],
    ["t_s", "ptr"],
    ["y", "ptr"],
    ["m0", "ptr"],
    ["chart", "ptr"],
    ["sel", "ptr"],
    ["n_sel", "usize"],
    ["out", "ptr"],
    ["blocks", "ptr"],
    ["student", "ptr"],
  ],
  SimulateArgs: [
    ["dt_s", "f64"],
    ["temperature_k", "f64"],
    ["params", "ptr"],
    ["scheme", "u32"],
    ["n_trials", "usize"],
    ["m", "ptr"],
    ["rng", "ptr"],
    ["steps_per_sample", "usize"],
    ["n_samples", "usize"],
    ["out", "ptr"],
  ],
  ReadoutArgs: [
    ["lambda", "f64"],
    ["x", "ptr"],
    ["f", "usize"],
    ["t_total", "usize"],
    ["t0", "usize"],
    ["t1", "usize"],
    ["y", "ptr"],
    ["n_out", "usize"],
    ["w", "ptr"],
    ["g", "ptr"],
    ["out", "ptr"],
  ],
} as const satisfies Record<string, readonly (readonly [string, FieldKind])[]>;
export type StructName = keyof typeof LAYOUTS;

/** C layout on wasm32: f64 8 bytes aligned 8; u32, usize and pointers 4 bytes aligned 4. */
export function structLayout(name: StructName): { size: number; fields: Record<string, { offset: number; kind: FieldKind }> } {
  const fields: Record<string, { offset: number; kind: FieldKind }> = {};
  let off = 0;
  let align = 1;
  for (const [f, kind] of LAYOUTS[name] as readonly (readonly [string, FieldKind])[]) {
    const size = kind === "f64" ? 8 : 4;
    off = Math.ceil(off / size) * size;
    fields[f] = { offset: off, kind };
    off += size;
    align = Math.max(align, size);
  }
  return { size: Math.ceil(off / align) * align, fields };
}
