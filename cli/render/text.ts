/** Renderers: a result object becomes a table for people (stderr) or JSON/CSV for pipelines. */
import { writeFileAtomic } from "../io/output.js";

/** A plain-text table with aligned columns. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n") + "\n";
}

/** A number with `digits` significant digits, or "n/a". */
export function num(x: number | null | undefined, digits = 6): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  return Number(x.toPrecision(digits)).toString();
}

/** JSON with non-finite numbers as null (results never contain NaN or Infinity). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n";
}

export function writeJson(target: string, value: unknown, flag: string): void {
  writeFileAtomic(target, toJson(value), flag);
}

/** CSV from records with the given columns (numbers or strings; a string with a comma, quote or newline is quoted, RFC 4180). */
export function csv(columns: string[], rows: Record<string, unknown>[]): string {
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cell = (v: unknown) => (typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : quote(String(v ?? "")));
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/** One line of JSON (JSON.stringify as it is: what `eval --json` prints). */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value) + "\n";
}

/** JSON as JSON.stringify writes it, indented by 2 (non-finite numbers become null): what mnist --json and reservoir --json print. */
export function toJsonIndented(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
