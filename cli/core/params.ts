/**
 * Table I of the paper as the core defines it (core-rs/src/params.rs
 * `Params::paper`), read once from the module when first needed (so that
 * commands that never use it do not load the wasm module).
 */
import { core } from "./wasm.js";
import { SIZE } from "./codes.js";

let table: Float64Array | undefined;

/** Table I values in slot order (codes.ts PARAM_SLOT). */
export function tableI(): Float64Array {
  if (!table) {
    const c = core();
    const b = c.f64(SIZE.n_params);
    try {
      c.exports.stoopt_table1(b.ptr);
      table = b.view().slice();
    } finally {
      b.free();
    }
  }
  return table;
}
