/** Parsers shared by the commands' flags. */
import { UsageError } from "../errors.js";
import { parseQuantity, Quantity, TIME, TEMPERATURE } from "../io/units.js";

/** A quantity flag: bare numbers in `bareUnit`; records the assumption in `notes`. */
export function quantityFlag(text: string, q: Quantity, bareUnit: string, flag: string, notes: string[]): number {
  const r = parseQuantity(text, q, bareUnit, flag);
  if (r.assumed !== undefined) notes.push(`${flag} ${text} read as ${text} ${r.assumed}`);
  return r.value;
}

export function timeFlag(text: string, flag: string, notes: string[], positive = true): number {
  const v = quantityFlag(text, TIME, "ns", flag, notes);
  if (positive ? !(v > 0) : !(v >= 0)) throw new UsageError(`${flag}: must be ${positive ? "> 0" : ">= 0"} (got ${text})`);
  return v;
}

export function temperatureFlag(text: string, flag: string, notes: string[]): number {
  const v = quantityFlag(text, TEMPERATURE, "K", flag, notes);
  if (!(v >= 0)) throw new UsageError(`${flag}: temperature must be >= 0 K (got ${text})`);
  return v;
}

/**
 * A whole number from `min` to `max`. Any numeric spelling is read (`1e3`,
 * `2.0`), so that a value past the limit is reported as past the limit
 * (`--epochs 1e300`: "above the limit"), not as "not a whole number".
 */
export function intFlag(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
  if (Number.isNaN(v)) throw new UsageError(`${flag}: '${text}' is not a whole number`);
  if (v > max) throw new UsageError(`${flag}: ${t} is out of range (above the limit of ${max})`);
  if (v < min) throw new UsageError(`${flag}: ${t} is out of range (below the minimum of ${min})`);
  if (!Number.isInteger(v)) throw new UsageError(`${flag}: '${text}' is not a whole number`);
  return v;
}

export function seedFlag(text: string, flag: string): bigint {
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`${flag}: '${text}' is not a whole number from 0 to 2^64-1`);
  const v = BigInt(text.trim());
  if (v >= 1n << 64n) throw new UsageError(`${flag}: ${text} is larger than 2^64-1`);
  return v;
}

export function choiceFlag<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${flag}: '${text}' is not one of ${choices.join(", ")}`);
  return text as T;
}

/** `mx,my,mz`, normalized. */
export function vectorFlag(text: string, flag: string): [number, number, number] {
  const parts = text.split(",").map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag}: expected three numbers 'mx,my,mz' (got '${text}')`);
  const n = Math.hypot(v[0], v[1], v[2]);
  if (!(n > 0)) throw new UsageError(`${flag}: the zero vector has no direction`);
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** A repeatable flag's values. */
export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Read commander's option values by their flag names (kebab-case to camelCase). */
export function optionReader(opts: Record<string, unknown>) {
  const key = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return {
    str: (k: string) => opts[key(k)] as string | undefined,
    list: (k: string) => (opts[key(k)] as string[] | undefined) ?? [],
    flag: (k: string) => Boolean(opts[key(k)]),
  };
}

/** Option values as commander parsed them (camelCase keys). */
export type FlagValues = Record<string, string | boolean | undefined>;

/** A number >= `min` (any numeric spelling). */
export function numberFlag(text: string, flag: string, min = 0): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < min) throw new UsageError(`${flag}: '${text}' is not a number >= ${min}`);
  return v;
}

/**
 * A group of settings parsed from the flags up front, or the usage error its
 * flags gave. The run raises the error (`settled`) where it first needs the
 * group, which is where the flags were always read: messages keep their order,
 * and sysid on several files still reports a teacher flag's error per file.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function parsed<T>(parse: () => T): Parsed<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The settings, or the error their flags gave. */
export function settled<T>(p: Parsed<T>): T {
  if (!p.ok) throw p.error;
  return p.value;
}
