/**
 * The scalar model parameters (paper Table I), in the core's ABI order
 * (core-rs/src/params.rs PARAM_NAMES). Internal units are CGS, current in A.
 * The values of Table I are the core's (`Params::paper`, read through
 * cli/core/params.ts the first time a default is asked for); this file adds
 * units, descriptions, bounds and the CLI's ranges.
 */
import { CURRENT, DIMENSIONLESS, FIELD, GYROMAGNETIC, LENGTH, MAGNETIZATION, Parsed, Quantity, parseQuantity } from "./io/units.js";
import { UsageError } from "./errors.js";
import { PARAM_SLOT } from "./core/codes.js";
import { tableI } from "./core/params.js";

export interface ParamSpec {
  name: string;
  /** index in the core's parameter array */
  index: number;
  quantity: Quantity;
  /** unit a bare number on the command line is read in */
  bareUnit: string;
  /** unit values are reported in */
  unit: string;
  defaultValue: number;
  description: string;
  /** physical bounds (open interval), internal units */
  lower: number;
  upper: number;
  /** default fitting range for sysid (paper's ranges where it gives them) */
  range?: [number, number];
  /**
   * largest plausible magnitude (internal units): a bare number beyond it is
   * refused as probably in the wrong unit (an explicit unit overrides; a
   * dimensionless parameter has no unit to give, so its limit is absolute)
   */
  plausible?: number;
}

const SPECS: Omit<ParamSpec, "defaultValue">[] = [
  {
    name: "gamma",
    index: PARAM_SLOT.gamma,
    quantity: GYROMAGNETIC,
    bareUnit: "rad/(Oe s)",
    unit: "rad/(Oe s)",
    description: "gyromagnetic ratio",
    lower: 0,
    upper: Infinity,
  },
  {
    name: "H_appl",
    index: PARAM_SLOT.H_appl,
    quantity: FIELD,
    bareUnit: "Oe",
    unit: "Oe",
    description: "applied field along z",
    lower: -Infinity,
    upper: Infinity,
    range: [1500, 2000],
    plausible: 1e5,
  },
  {
    name: "M",
    index: PARAM_SLOT.M,
    quantity: MAGNETIZATION,
    bareUnit: "emu/cm3",
    unit: "emu/cm3",
    description: "saturation magnetization",
    lower: 0,
    upper: Infinity,
    plausible: 1e4,
  },
  {
    name: "H_K",
    index: PARAM_SLOT.H_K,
    quantity: FIELD,
    bareUnit: "Oe",
    unit: "Oe",
    description: "interfacial anisotropy field",
    lower: -Infinity,
    upper: Infinity,
    plausible: 1e5,
  },
  {
    name: "d",
    index: PARAM_SLOT.d,
    quantity: LENGTH,
    bareUnit: "cm",
    unit: "cm",
    description: "free-layer thickness",
    lower: 0,
    upper: Infinity,
    plausible: 1e-4,
  },
  {
    name: "R",
    index: PARAM_SLOT.R,
    quantity: LENGTH,
    bareUnit: "cm",
    unit: "cm",
    description: "free-layer radius",
    lower: 0,
    upper: Infinity,
    plausible: 1e-3,
  },
  {
    name: "eta",
    index: PARAM_SLOT.eta,
    quantity: DIMENSIONLESS,
    bareUnit: "",
    unit: "",
    description: "spin polarization",
    lower: -Infinity,
    upper: Infinity,
  },
  {
    name: "lambda",
    index: PARAM_SLOT.lambda,
    quantity: DIMENSIONLESS,
    bareUnit: "",
    unit: "",
    description: "spin-transfer torque asymmetry",
    lower: -1,
    upper: 1,
  },
  {
    name: "j_DC",
    index: PARAM_SLOT.j_DC,
    quantity: CURRENT,
    bareUnit: "A",
    unit: "A",
    description: "current",
    lower: -Infinity,
    upper: Infinity,
    range: [2.5e-3, 7.5e-3],
    plausible: 0.1,
  },
  {
    name: "alpha",
    index: PARAM_SLOT.alpha,
    quantity: DIMENSIONLESS,
    bareUnit: "",
    unit: "",
    description: "Gilbert damping",
    lower: 0,
    upper: Infinity,
    range: [0.001, 0.01],
    plausible: 1,
  },
];

/** The specs with `defaultValue` the core's Table I value. */
export const PARAMS: ParamSpec[] = SPECS.map((spec) =>
  Object.defineProperty({ ...spec } as ParamSpec, "defaultValue", { get: () => tableI()[spec.index], enumerable: true }),
);

export const N_PARAMS = PARAMS.length;

export function paramByName(name: string, where: string): ParamSpec {
  const p = PARAMS.find((q) => q.name === name);
  if (!p) throw new UsageError(`${where}: unknown parameter '${name}' (known: ${PARAMS.map((q) => q.name).join(", ")})`);
  return p;
}

export function defaultParams(): Float64Array {
  return Float64Array.from(PARAMS.map((p) => p.defaultValue));
}

/** Check a value against the parameter's physical bounds. */
export function checkBounds(p: ParamSpec, v: number, where: string): void {
  if (!(v > p.lower && v < p.upper)) {
    const lo = Number.isFinite(p.lower) ? `> ${p.lower}` : "";
    const hi = Number.isFinite(p.upper) ? `< ${p.upper}` : "";
    throw new UsageError(
      `${where}: ${p.name} = ${v} is outside its physical bounds (${[lo, hi].filter(Boolean).join(" and ")} ${p.unit})`.replace(/ \)$/, ")"),
    );
  }
}

export function parseParamValue(p: ParamSpec, text: string, where: string, notes?: string[]): number {
  const r = parseParamQuantity(p, text, where);
  if (r.assumed !== undefined && notes) notes.push(`${where} ${text} read as ${text} ${r.assumed}`);
  checkBounds(p, r.value, where);
  return r.value;
}

/**
 * The unit a bare number was probably meant in: the suffix that brings it
 * within the plausible magnitude, closest (in log) to the default value.
 */
export function likelyUnit(p: ParamSpec, bare: number): string | undefined {
  if (p.plausible === undefined || bare === 0) return undefined;
  let best: { unit: string; dist: number } | undefined;
  for (const [unit, f] of Object.entries(p.quantity.suffixes)) {
    const v = Math.abs(bare * f);
    if (unit === p.bareUnit || !(v <= p.plausible)) continue;
    const dist = Math.abs(Math.log(v / Math.abs(p.defaultValue)));
    if (!best || dist < best.dist) best = { unit, dist };
  }
  return best?.unit;
}

/**
 * A parameter value from the command line, refused if a bare number is
 * implausible in the bare unit (`--j_DC 5` would be 5 A): the message names
 * the likely unit. `hint(unit)` words the suggestion (default `<number><unit>`).
 */
export function parseParamQuantity(p: ParamSpec, text: string, where: string, hint?: (unit: string) => string): Parsed {
  const r = parseQuantity(text, p.quantity, p.bareUnit, where);
  const bare = r.assumed !== undefined || p.quantity.unit === "";
  if (bare && p.plausible !== undefined && Math.abs(r.value) > p.plausible && Number.isFinite(r.value)) {
    const number = text.trim();
    const kind = p.description;
    if (p.quantity.unit === "") throw new UsageError(`${where}: ${p.name} = ${number} is implausible for the ${kind} (expected below ${p.plausible})`);
    const u = likelyUnit(p, Number(number));
    const suggestion = u ? `; did you mean ${hint ? hint(u) : `${number}${u}`}?` : "";
    throw new UsageError(
      `${where}: ${number} read as ${number} ${p.bareUnit} is implausible for the ${kind} (|${p.name}| <= ${p.plausible} ${p.unit} expected)${suggestion} (give the unit explicitly, e.g. ${number}${p.bareUnit}, to use it as is)`,
    );
  }
  return r;
}

/** Commander option flag for a parameter, e.g. `--H_appl <value>`. */
export function paramFlag(p: ParamSpec): string {
  return `--${p.name} <value>`;
}

/** The options object key commander uses for a parameter flag. */
export function paramOptionKey(p: ParamSpec): string {
  return p.name;
}

export function paramHelp(p: ParamSpec): string {
  const u = p.unit ? ` [${p.unit}]` : "";
  return `${p.description}${u} (default ${p.defaultValue}${p.unit ? " " + p.unit : ""})`;
}

/** Read every parameter flag present in `opts` over the defaults. */
export function paramsFromOptions(opts: Record<string, unknown>, notes: string[]): Float64Array {
  const values = defaultParams();
  for (const p of PARAMS) {
    const v = opts[paramOptionKey(p)];
    if (typeof v === "string") values[p.index] = parseParamValue(p, v, `--${p.name}`, notes);
  }
  return values;
}
