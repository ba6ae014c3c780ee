/** What the layout and help tests read from the sources: the commands main.ts registers, and each module's imports. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./helpers.js";

/** The command names of main.ts's COMMANDS table, in its order. */
export function registeredCommands(): string[] {
  const src = readFileSync(path.join(ROOT, "cli/main.ts"), "utf8");
  const table = /const COMMANDS[^=]*=\s*\{([\s\S]*?)\n\};/.exec(src);
  if (!table) throw new Error("cli/main.ts: no COMMANDS table");
  return [...table[1].matchAll(/^\s*([A-Za-z][\w-]*):\s*async/gm)].map((m) => m[1]);
}

/** The loader of each registered command: the module path main.ts imports for it. */
export function commandModules(): Record<string, string> {
  const src = readFileSync(path.join(ROOT, "cli/main.ts"), "utf8");
  return Object.fromEntries([...src.matchAll(/^\s*([A-Za-z][\w-]*):\s*async[^\n]*import\("([^"]+)"\)/gm)].map((m) => [m[1], m[2]]));
}

/** Every specifier a TypeScript file imports: static imports and re-exports, type-only ones included, and dynamic import(). */
export function importsOf(file: string): string[] {
  const src = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const out = new Set<string>();
  for (const m of src.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm)) out.add(m[1]);
  for (const m of src.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) out.add(m[1]);
  for (const m of src.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.add(m[1]);
  return [...out];
}

/** A relative specifier resolved to the .ts source it names (".js" -> ".ts"), relative to ROOT; undefined for packages. */
export function resolveSource(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return path.relative(ROOT, path.resolve(path.dirname(from), spec).replace(/\.js$/, ".ts"));
}

/** The .ts files directly in a folder of ROOT. */
export function tsFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith(".ts"))
    .sort();
}
