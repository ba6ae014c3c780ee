/**
 * The layout of the CLI (README "Code map"): cli/commands/ holds one module
 * per command and nothing else, none of them imports another, and the
 * version is written once.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, runCli } from "./helpers.js";
import { commandModules, importsOf, registeredCommands, resolveSource, tsFiles } from "./layout.helpers.js";
import { VERSION } from "../cli/version.js";

describe("cli/commands", () => {
  const commands = registeredCommands();

  it("main.ts registers the commands", () => {
    expect(commands.length).toBeGreaterThan(5);
    expect(commands).toContain("sysid");
  });

  it("has cli/commands/<name>.ts for every command main.ts registers, and main.ts loads that module", () => {
    const modules = commandModules();
    for (const c of commands) {
      expect(existsSync(path.join(ROOT, "cli/commands", `${c}.ts`)), `cli/commands/${c}.ts`).toBe(true);
      expect(modules[c], `main.ts's loader of ${c}`).toBe(`./commands/${c}.js`);
    }
  });

  it("holds only commands (shared option helpers live in cli/options/)", () => {
    expect(tsFiles("cli/commands").map((f) => f.replace(/\.ts$/, ""))).toEqual([...commands].sort());
  });

  it("no command module imports another command module", () => {
    const offenders: string[] = [];
    for (const f of tsFiles("cli/commands")) {
      const file = path.join(ROOT, "cli/commands", f);
      for (const spec of importsOf(file)) {
        const target = resolveSource(file, spec);
        if (target !== undefined && path.dirname(target) === path.join("cli", "commands")) offenders.push(`cli/commands/${f} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("only main.ts imports a command module (a command's work lives in cli/run/, its flags' parsers in cli/options/)", () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (e.name.endsWith(".ts") && rel !== path.join("cli", "main.ts") && path.dirname(rel) !== path.join("cli", "commands"))
          for (const spec of importsOf(path.join(ROOT, rel))) {
            const target = resolveSource(path.join(ROOT, rel), spec);
            if (target !== undefined && path.dirname(target) === path.join("cli", "commands")) offenders.push(`${rel} imports ${spec}`);
          }
      }
    };
    for (const d of ["cli", "bench", "examples"]) walk(d);
    expect(offenders).toEqual([]);
  });

  it("the import scanner sees static, type-only and dynamic imports", () => {
    const file = path.join(ROOT, "test/layout.test.ts");
    const seen = importsOf(path.join(ROOT, "cli/main.ts"));
    expect(seen).toContain("./commands/sysid.js");
    expect(seen).toContain("commander");
    expect(importsOf(file)).toContain("../cli/version.js");
    expect(resolveSource(path.join(ROOT, "cli/commands/sysid.ts"), "./plot.js")).toBe(path.join("cli", "commands", "plot.ts"));
  });
});

describe("the version", () => {
  it("is package.json's", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
  });

  it("is what --version prints", () => {
    const r = runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  });

  it("is written nowhere else in cli/", () => {
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const f of tsFiles(dir)) {
        const rel = path.join(dir, f);
        if (rel === path.join("cli", "version.ts")) continue;
        if (readFileSync(path.join(ROOT, rel), "utf8").includes(`"${VERSION}"`)) hits.push(rel);
      }
    };
    for (const d of ["cli", "cli/commands", "cli/options", "cli/run", "cli/render", "cli/render/figures", "cli/network", "cli/reservoir", "cli/sweep"]) walk(d);
    expect(hits).toEqual([]);
  });
});

/** Every .ts file under a folder of ROOT (relative to ROOT), subfolders included. */
function tsTree(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsTree(rel));
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
  return out.sort();
}

describe("one definition", () => {
  it("the landscape grid (point i of n over a range) is written once, in cli/fit/landscape-grid.ts", () => {
    const formula = /range\[1\]\s*-\s*[\w.]*range\[0\]\)(\s*\*\s*\w+\))?\s*\/\s*\(\s*[\w.]*\bn\s*-\s*1\)/;
    const hits = tsTree("cli").filter((f) => formula.test(readFileSync(path.join(ROOT, f), "utf8")));
    expect(hits).toEqual([path.join("cli", "fit", "landscape-grid.ts")]);
  });
});

describe("cli/run: typed run functions, no flags", () => {
  /** What a module of cli/run/ must not contain: commander, or a record of flags read by name. */
  const FLAG_READING: [RegExp, string][] = [
    [/Record<string,\s*unknown>/, "a Record<string, unknown> (a flag record)"],
    [/\bopts\s*(\[|\.\w)/, "opts[...] or opts.<flag>"],
    [/\b(optionReader|FlagValues|getOptionValueSource)\b/, "a flag reader"],
  ];

  /** The offences of one source file. */
  function offences(rel: string): string[] {
    const file = path.join(ROOT, rel);
    const out: string[] = [];
    for (const spec of importsOf(file)) if (spec === "commander" || spec.startsWith("commander/")) out.push(`${rel} imports ${spec}`);
    const src = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
    for (const [re, what] of FLAG_READING) if (re.test(src)) out.push(`${rel} holds ${what}`);
    return out;
  }

  it("no module of cli/run/ imports commander or reads a flag record (their settings are typed, parsed in cli/options/)", () => {
    const files = tsTree(path.join("cli", "run"));
    expect(files.length).toBeGreaterThan(5);
    expect(files.flatMap(offences)).toEqual([]);
  });

  it("the scan sees commander and flag records where they are (cli/commands/, cli/options/)", () => {
    expect(offences(path.join("cli", "commands", "sysid.ts"))).toContain(path.join("cli", "commands", "sysid.ts") + " imports commander");
    expect(offences(path.join("cli", "options", "teacher.ts")).join("\n")).toMatch(/Record<string, unknown>/);
    expect(offences(path.join("cli", "options", "parse.ts")).join("\n")).toMatch(/flag reader/);
  });

  it("every command's run function takes one typed settings object (its parser in cli/options/<command>.ts)", () => {
    for (const c of registeredCommands()) {
      if (c === "sweep") continue; // sweep's subcommands status and collect take a folder; the spec run is checked below
      expect(existsSync(path.join(ROOT, "cli/options", `${c}.ts`)), `cli/options/${c}.ts`).toBe(true);
      const cmd = readFileSync(path.join(ROOT, "cli/commands", `${c}.ts`), "utf8");
      expect(cmd, `cli/commands/${c}.ts calls its parser`).toMatch(new RegExp(`\\b${c}SettingsFromFlags\\(`));
    }
    expect(readFileSync(path.join(ROOT, "cli/commands/sweep.ts"), "utf8")).toMatch(/runSweepSpec\(sweepSettingsFromFlags\(/);
  });
});
