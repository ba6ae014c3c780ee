/**
 * Physical quantities on the command line: `5mA`, `0.5ns`, `1800Oe`.
 * Every quantity has one internal unit (CGS, current in A, time in s) and a
 * documented unit for bare numbers; the CLI says when it assumed one.
 */
import { UsageError } from "../errors.js";

export interface Quantity {
  /** what it measures, for messages */
  kind: string;
  /** internal unit, e.g. "Oe" */
  unit: string;
  /** suffix -> factor to the internal unit */
  suffixes: Record<string, number>;
}

const PI = Math.PI;

export const TIME: Quantity = { kind: "time", unit: "s", suffixes: { s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9, ps: 1e-12, fs: 1e-15 } };
export const FIELD: Quantity = {
  kind: "magnetic field",
  unit: "Oe",
  // mT and T are mu0 H; 1 A/m = 4 pi / 1000 Oe
  suffixes: { Oe: 1, kOe: 1e3, mT: 10, T: 1e4, "A/m": (4 * PI) / 1000, "kA/m": 4 * PI },
};
export const CURRENT: Quantity = { kind: "current", unit: "A", suffixes: { A: 1, mA: 1e-3, uA: 1e-6, µA: 1e-6 } };
export const TEMPERATURE: Quantity = { kind: "temperature", unit: "K", suffixes: { K: 1, mK: 1e-3 } };
export const LENGTH: Quantity = { kind: "length", unit: "cm", suffixes: { cm: 1, m: 100, mm: 0.1, um: 1e-4, µm: 1e-4, nm: 1e-7 } };
export const MAGNETIZATION: Quantity = { kind: "magnetization", unit: "emu/cm3", suffixes: { "emu/cm3": 1, "emu/cc": 1, "kA/m": 1, "A/m": 1e-3 } };
export const GYROMAGNETIC: Quantity = { kind: "gyromagnetic ratio", unit: "rad/(Oe s)", suffixes: { "rad/(Oe s)": 1, "rad/(Oe*s)": 1, "/(Oe s)": 1 } };
export const VOLTAGE: Quantity = { kind: "voltage", unit: "V", suffixes: { V: 1, mV: 1e-3, uV: 1e-6, µV: 1e-6, nV: 1e-9, kV: 1e3 } };
export const FREQUENCY: Quantity = { kind: "frequency", unit: "Hz", suffixes: { Hz: 1, kHz: 1e3, MHz: 1e6, GHz: 1e9 } };
export const DIMENSIONLESS: Quantity = { kind: "dimensionless number", unit: "", suffixes: {} };

const NUMBER = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$/;

export interface Parsed {
  /** value in the quantity's internal unit */
  value: number;
  /** set when a bare number was read in the default unit */
  assumed?: string;
}

/**
 * Parse `text` as `q`; a bare number is in `bareUnit` (a suffix of `q`).
 * `where` names the flag or field for the error message.
 */
export function parseQuantity(text: string, q: Quantity, bareUnit: string, where: string): Parsed {
  const m = NUMBER.exec(text);
  if (!m) throw new UsageError(`${where}: '${text}' is not a number${acceptedHint(q)}`);
  const num = Number(m[1]);
  const suffix = m[2];
  if (!Number.isFinite(num)) throw new UsageError(`${where}: '${text}' is not a finite number`);
  if (suffix === "") {
    const f = bareUnit === "" ? 1 : q.suffixes[bareUnit];
    if (f === undefined) throw new Error(`bad bare unit ${bareUnit} for ${q.kind}`);
    return { value: num * f, assumed: bareUnit === "" ? undefined : bareUnit };
  }
  const f = q.suffixes[suffix];
  if (f === undefined) {
    const other = [TIME, FIELD, CURRENT, TEMPERATURE, LENGTH, FREQUENCY].find((o) => o !== q && o.suffixes[suffix] !== undefined);
    const what = other ? `'${suffix}' is a unit of ${other.kind}, not of ${q.kind}` : `unknown unit '${suffix}'`;
    throw new UsageError(`${where}: ${what}${acceptedHint(q)}`);
  }
  return { value: num * f };
}

function acceptedHint(q: Quantity): string {
  const s = Object.keys(q.suffixes);
  return s.length ? ` (accepted units for ${q.kind}: ${s.join(", ")})` : " (a plain number is expected)";
}

/** Format a value in the internal unit with a readable suffix, for messages. */
export function formatQuantity(value: number, q: Quantity, unit: string): string {
  const f = q.suffixes[unit] ?? 1;
  return `${Number((value / f).toPrecision(6))}${unit === "" ? "" : " " + unit}`;
}
