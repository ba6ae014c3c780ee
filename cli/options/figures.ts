/** Flags of the commands that draw figures: --size, --format, --dpi, and sysid's and plot's --components. */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { intFlag } from "./parse.js";
import { ExportOptions, Format, FORMATS } from "../render/figures/export.js";
import { parseSize } from "../render/figures/theme.js";
import { Component, COMPONENTS } from "../render/figures/sysid.js";

/** --size, --format and --dpi (`what` names the figures in the help text). */
export function addFigureOptions(cmd: Command, what = "figures"): Command {
  return cmd
    .option("--size <size>", `${what}: column (8.5 cm wide), page (17 cm) or WxH (e.g. 8.5x6cm, 85x60mm, 3.3x2.4in)`, "column")
    .option("--format <list>", `${what}: comma-separated file formats of svg, png, pdf`, "svg")
    .option("--dpi <n>", `${what}: resolution of PNG files, dots per inch`, "600");
}

/** The export settings from the options of `addFigureOptions` (usage errors name the flag). */
export function exportOptions(opts: Record<string, unknown>, notes: string[] = []): ExportOptions {
  const size = parseSize(String(opts.size ?? "column"), "--size", notes);
  const formats = String(opts.format ?? "svg")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const f of formats)
    if (!(FORMATS as readonly string[]).includes(f))
      throw new UsageError(`--format: unknown format '${f}' (expected a comma-separated list of ${FORMATS.join(", ")})`);
  if (formats.length === 0) throw new UsageError("--format: name at least one of svg, png, pdf");
  const dpi = intFlag(String(opts.dpi ?? "600"), "--dpi", 36, 2400);
  return { size, formats: [...new Set(formats)] as Format[], dpi };
}

/** `mx`, `mx,my,mz` or `all`, for --components. */
export function parseComponents(text: string, flag = "--components"): Component[] {
  const t = text.trim().toLowerCase();
  if (t === "all") return [...COMPONENTS];
  const names = t
    .split(",")
    .map((s) => s.trim().replace(/^m_/, "m"))
    .filter(Boolean);
  for (const n of names)
    if (!(COMPONENTS as readonly string[]).includes(n))
      throw new UsageError(`${flag}: unknown component '${n}' (expected a comma-separated list of mx, my, mz, or all)`);
  if (names.length === 0) throw new UsageError(`${flag}: name at least one of mx, my, mz`);
  return COMPONENTS.filter((c) => names.includes(c));
}
