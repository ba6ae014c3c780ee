/**
 * cli/core/codes.ts against the running core: every code, slot, size,
 * constant, Table I value and argument-struct layout the TypeScript side
 * uses is the one `stoopt_describe` (core-rs/src/codes.rs) reports.
 */
import { describe, expect, it } from "vitest";
import { Core } from "../cli/core/wasm.js";
import {
  CONSTANT,
  FEAT,
  LAYOUTS,
  PARAM_NAMES,
  PARAM_SLOT,
  PRECISION,
  RNG_KIND,
  SCHEME,
  SIZE,
  SYSID_MODE,
  WANT,
  X0_NORM,
  structLayout,
} from "../cli/core/codes.js";
import { tableI } from "../cli/core/params.js";
import { blockLayout } from "../cli/core/sysid.js";
import { PARAMS, defaultParams } from "../cli/model.js";

const c = new Core();
const rows = c
  .describe()
  .split("\n")
  .filter(Boolean)
  .map((l) => l.split("\t"));
const table = (name: string): Record<string, string> => Object.fromEntries(rows.filter((r) => r[0] === name).map((r) => [r[1], r[2]]));
const numbers = (name: string): Record<string, number> => Object.fromEntries(Object.entries(table(name)).map(([k, v]) => [k, Number(v)]));

describe("ABI codes: cli/core/codes.ts is what the core accepts", () => {
  it.each([
    ["scheme", SCHEME],
    ["precision", PRECISION],
    ["sysid_mode", SYSID_MODE],
    ["x0_norm", X0_NORM],
    ["feat", FEAT],
    ["rng_kind", RNG_KIND],
    ["want", WANT],
    ["size", SIZE],
    ["constant", CONSTANT],
  ])("%s", (name, mirror) => {
    expect(numbers(name)).toEqual(mirror);
  });

  it("parameter slots", () => {
    expect(numbers("param_slot")).toEqual(PARAM_SLOT);
    expect(Object.keys(table("param_slot"))).toEqual([...PARAM_NAMES]);
    for (const p of PARAMS) expect(p.index).toBe(PARAM_SLOT[p.name as keyof typeof PARAM_SLOT]);
  });

  it("Table I is the core's, and model.ts's defaults are read from it", () => {
    const t = numbers("table_i");
    expect(Array.from(tableI())).toEqual(PARAM_NAMES.map((n) => t[n]));
    expect(Array.from(defaultParams())).toEqual(Array.from(tableI()));
  });

  it("sysid window block lengths", () => {
    const t = numbers("block_len");
    expect(Object.keys(t).length).toBe(2 * (SIZE.n_params + 1));
    for (const [k, len] of Object.entries(t)) {
      const [nFit, w] = k.split(".").map(Number);
      expect(blockLayout(nFit, w === 2).len).toBe(len);
    }
  });

  it.each(Object.keys(LAYOUTS) as (keyof typeof LAYOUTS)[])("layout of %s", (name) => {
    const mine = structLayout(name);
    expect(Number(table("struct_size")[name])).toBe(mine.size);
    const fields = Object.fromEntries(
      Object.entries(table("struct_field"))
        .filter(([k]) => k.startsWith(`${name}.`))
        .map(([k, v]) => [k.slice(name.length + 1), Number(v)]),
    );
    expect(fields).toEqual(Object.fromEntries(Object.entries(mine.fields).map(([k, f]) => [k, f.offset])));
  });
});
