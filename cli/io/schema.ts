/**
 * Result files read back (by `stoopt plot`, `landscape --result`) are checked
 * against the schema of what the commands write, before anything is drawn:
 * a missing or mistyped field is one line naming the file and the field
 * (exit 2), never a TypeError or NaN axes.
 */
import { UsageError } from "../errors.js";
import { PARAMS } from "../model.js";

export type Schema =
  | "number" // finite
  | "number|null" // finite, or null (JSON of a non-finite value)
  | "int"
  | "string"
  | "any"
  | { pair: true } // [lo, hi], finite, lo < hi
  | { array: Schema; min?: number }
  | { object: Record<string, Schema>; optional?: string[] }
  | { record: Schema; keys?: readonly string[]; min?: number };

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + "..." : v)}`;
  if (typeof v === "object") return "an object";
  return typeof v === "number" ? String(v) : typeof v;
}

/** Throw a UsageError naming `file` and the first field that does not match. */
export function validate(value: unknown, schema: Schema, file: string, at = ""): void {
  const fail = (want: string) => {
    throw new UsageError(
      `${file}: ${at === "" ? "the file" : `field '${at}'`} ${value === undefined ? "is missing" : `is ${describeValue(value)}`}; expected ${want}`,
    );
  };
  const sub = (k: string | number) => (typeof k === "number" ? `${at}[${k}]` : at === "" ? k : `${at}.${k}`);
  if (schema === "any") return;
  if (schema === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) fail("a finite number");
  } else if (schema === "number|null") {
    if (value !== null && (typeof value !== "number" || !Number.isFinite(value))) fail("a number or null");
  } else if (schema === "int") {
    if (!Number.isInteger(value)) fail("a whole number");
  } else if (schema === "string") {
    if (typeof value !== "string") fail("a string");
  } else if ("pair" in schema) {
    if (!Array.isArray(value) || value.length !== 2 || !value.every((x) => typeof x === "number" && Number.isFinite(x)) || !(value[0] < value[1]))
      fail("[min, max] with min < max");
  } else if ("array" in schema) {
    if (!Array.isArray(value)) fail("an array");
    const a = value as unknown[];
    if (a.length < (schema.min ?? 0)) fail(`an array of at least ${schema.min} entries`);
    a.forEach((x, i) => validate(x, schema.array, file, sub(i)));
  } else if ("object" in schema) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail("an object");
    const o = value as Record<string, unknown>;
    for (const [k, s] of Object.entries(schema.object)) {
      if (o[k] === undefined && schema.optional?.includes(k)) continue;
      validate(o[k], s, file, sub(k));
    }
  } else {
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail("an object");
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length < (schema.min ?? 0)) fail(`an object with at least ${schema.min} entries`);
    for (const [k, v] of Object.entries(o)) {
      if (schema.keys && !schema.keys.includes(k)) throw new UsageError(`${file}: field '${sub(k)}': '${k}' is not one of ${schema.keys.join(", ")}`);
      validate(v, schema.record, file, sub(k));
    }
  }
}

const PARAM_NAMES = PARAMS.map((p) => p.name);

/** What `stoopt sysid -o` writes, as far as it is read back. */
export const SYSID_RESULT: Schema = {
  object: {
    command: "string",
    input: { object: { file: "string", sha256: "string" }, optional: ["sha256"] },
    settings: {
      object: { dt_s: "number", washout_s: "number", scale: "number", fixed: { record: { object: { value: "number" } }, keys: PARAM_NAMES } },
      optional: ["scale"],
    },
    fit: {
      record: { object: { value: "number", start: "number", unit: "string", range: { pair: true }, true: "number" }, optional: ["true"] },
      keys: PARAM_NAMES,
      min: 1,
    },
    history: { array: { object: { start: "int", epoch: "number", loss: "number|null", values: { record: "number|null", keys: PARAM_NAMES } } } },
    best_start: "int",
  },
  optional: ["best_start"],
};

/** landscape.json */
export const LANDSCAPE_RESULT: Schema = {
  object: {
    command: "string",
    x: { object: { name: "string", range: { pair: true }, n: "int" } },
    y: { object: { name: "string", range: { pair: true }, n: "int" } },
    loss: { array: "number|null" },
  },
};

/** result.json of `stoopt mnist --out` */
export const MNIST_RESULT: Schema = {
  object: {
    command: "string",
    config: { object: { tune: "string", cmOe: "number" } },
    history: {
      array: {
        object: {
          epoch: "number",
          train_accuracy: "number",
          test_accuracy: "number",
          val_accuracy: "number|null",
          h_appl_mean_oe: "number",
          h_appl_var_oe2: "number",
          j_dc_a: "number",
          alpha: "number",
        },
        optional: ["val_accuracy"],
      },
      min: 1,
    },
  },
};
