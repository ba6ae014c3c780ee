/**
 * The boundary: only cli/core/ talks to the wasm module. No other
 * TypeScript file (cli/, bench/, examples/, scripts/) calls a core export,
 * touches `exports` or `memory.buffer`, allocates or frees wasm memory, or
 * handles a pointer; nor does it carry a second Adam or a second seeded
 * generator. Tests may (they check the layer itself).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : files(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** What only the layer may write: core exports, the module's memory, raw buffers and their addresses. */
const FORBIDDEN: [RegExp, string][] = [
  [/\bstoopt_\w+/, "a core export"],
  [/\.exports\b/, "the module's exports"],
  [/memory\.buffer/, "the module's memory"],
  [/\bBuf\b/, "a raw wasm buffer (Buf)"],
  [/\bStruct\b/, "an ABI argument struct"],
  [/\.ptr\b/, "a pointer"],
  [/\b(?:c|core|this\.c)\.(?:f64|f32|u64|u8|i32)\(/, "a wasm allocation"],
  [/\b(?:c|core|this\.c)\.check\(/, "a core status check"],
  [/\bnew WebAssembly\.Instance\b/, "a module instance"],
  // one Adam (core-rs/src/adam.rs through cli/core/optimizer.ts) and one seeded generator (cli/core/rng.ts)
  [/\bbeta[12]\b/, "a second Adam (use cli/core/optimizer.ts)"],
  [/mulberry|0x6d2b79f5|xorshift/i, "a second seeded generator (use cli/core/rng.ts)"],
];

export function violations(text: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((line, i) => {
    const code = line
      .replace(/\/\*.*?\*\//g, "")
      .replace(/\/\/.*$/, "")
      .replace(/^\s*(\/\*\*?|\*).*$/, "");
    for (const [re, what] of FORBIDDEN) if (re.test(code)) out.push(`line ${i + 1}: ${what}: ${line.trim()}`);
  });
  return out;
}

describe("the core boundary", () => {
  const scanned = ["cli", "bench", "examples", "scripts"]
    .flatMap((d) => files(path.join(root, d)))
    .filter((f) => !f.startsWith(path.join(root, "cli", "core") + path.sep));

  it("scans the CLI, the benches and the examples", () => {
    expect(scanned.some((f) => f.endsWith(path.join("cli", "fit", "sysid.ts")))).toBe(true);
    expect(scanned.some((f) => f.includes(`${path.sep}bench${path.sep}`))).toBe(true);
    expect(scanned.some((f) => f.includes(`${path.sep}cli${path.sep}core${path.sep}`))).toBe(false);
  });

  it("no file outside cli/core/ calls a core export or handles a pointer", () => {
    const found = scanned.flatMap((f) => violations(fs.readFileSync(f, "utf8")).map((v) => `${path.relative(root, f)} ${v}`));
    expect(found).toEqual([]);
  });

  it("the check catches each kind of access", () => {
    for (const bad of [
      "c.exports.stoopt_theory(p.ptr, out.ptr);",
      "const v = new Float64Array(core.exports.memory.buffer, 0, 3);",
      "const b = c.f64(10);",
      "this.c.check(status, 'x');",
      "const x: Buf<Float64Array> = y;",
      "s.m[i] = this.beta1 * s.m[i] + (1 - this.beta1) * gi;",
      "a = (a + 0x6d2b79f5) >>> 0;",
    ])
      expect(violations(bad).length).toBeGreaterThan(0);
    expect(violations("// c.exports.stoopt_theory is the core's\nconst ok = theory(params);")).toEqual([]);
  });
});
