/**
 * A sweep specification (YAML or JSON): a command, the flags every run gets, and the
 * axes whose values are crossed into cells. Everything is checked here, against the
 * real command's options and arguments, before a run starts or a job is submitted;
 * a problem is one line naming the file, line and column.
 *
 *   command: mnist            # a sweepable stoopt command
 *   out: table2               # folder of the sweep (relative to this file)
 *   flags: { epochs: 15 }     # given to every cell
 *   axes:                     # crossed in this order; a cell's folder is named after its values
 *     tune: [full, "win,wout"]
 *     seed: [1, 2, 3]
 *   slurm: { time: "01:00:00", mem: 4G, partition: gpu, account: lab }
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Command, Option } from "commander";
import { Document, isMap, isScalar, isSeq, LineCounter, Node, parseDocument, Scalar, YAMLMap } from "yaml";
import { UsageError } from "../errors.js";
import { adapterFor, SWEEPABLE } from "./adapters.js";
import { checkTime } from "./slurm.js";

export type Value = string | number | boolean;

/** Resources and scheduling of the Slurm executor (all optional). */
export interface SlurmSettings {
  time?: string;
  mem?: string;
  partition?: string;
  account?: string;
  qos?: string;
  cpus_per_task?: number;
  max_running?: number;
  /** seconds before the time limit at which Slurm sends SIGTERM (`--signal=B:TERM@N`) */
  signal_s?: number;
  /** a task stopped by SIGTERM requeues itself at most this often */
  max_requeues?: number;
  /** shell lines run before stoopt on the compute node (e.g. `module load nodejs/20`) */
  setup?: string[];
  /** node and stoopt entry file on the compute nodes (default: the ones that submit) */
  node?: string;
  stoopt?: string;
  /** extra `#SBATCH` lines, verbatim (e.g. `--constraint=avx2`) */
  extra?: string[];
}

export const SLURM_KEYS = [
  "time",
  "mem",
  "partition",
  "account",
  "qos",
  "cpus_per_task",
  "max_running",
  "signal_s",
  "max_requeues",
  "setup",
  "node",
  "stoopt",
  "extra",
] as const;

/** One run of the grid. */
export interface Cell {
  /** folder name, from the axis values */
  name: string;
  values: Record<string, Value>;
  /** the command line after `stoopt COMMAND`, without the output flag the sweep adds */
  argv: string[];
  /** hash of command and argv (without --threads): a folder holding another run has another one */
  fingerprint: string;
  /** worker threads of this run (its --threads; 1 when the command has the flag and it is not set) */
  threads: number;
}

export interface SweepPlan {
  specFile: string;
  command: string;
  /** the sweep's folder (absolute) */
  out: string;
  /** commands run here, so that relative paths in the spec are relative to the spec file */
  cwd: string;
  axes: [string, Value[]][];
  flags: Record<string, Value | Value[]>;
  slurm: SlurmSettings;
  cells: Cell[];
}

/** Where a node sits in the file, for error messages. */
class Locator {
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
  ) {}
  at(node: Node | null | undefined): string {
    const off = node?.range?.[0];
    if (off === undefined) return this.file;
    const p = this.lc.linePos(off);
    return `${this.file}:${p.line}:${p.col}`;
  }
  error(node: Node | null | undefined, msg: string): UsageError {
    return new UsageError(`${this.at(node)}: ${msg}`);
  }
}

function longName(o: Option): string | undefined {
  return o.long?.replace(/^--/, "");
}

/** The closest option name, for "did you mean". */
function suggest(name: string, names: string[]): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    return d[a.length][b.length];
  };
  const best = names.map((n) => [n, dist(name, n)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best[0]}'?)` : "";
}

function scalarValue(loc: Locator, node: unknown, what: string): Value {
  if (!isScalar(node)) throw loc.error(node as Node, `${what}: expected a number, a string or true/false`);
  const v = (node as Scalar).value;
  if (typeof v === "number" && !Number.isFinite(v)) throw loc.error(node as Node, `${what}: not a finite number`);
  if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")
    throw loc.error(node as Node, `${what}: expected a number, a string or true/false (got ${v === null ? "nothing" : typeof v})`);
  return v;
}

/** Text of a value on the command line (numbers as YAML wrote them: 0.1, 100, 1e-3). */
function valueText(node: Scalar | undefined, v: Value): string {
  if (typeof v === "number" && node?.source !== undefined && /^[-+0-9.eE]+$/.test(node.source)) return node.source;
  return String(v);
}

/** A name that can be part of a folder name. */
function folderPart(v: Value, isPath: boolean): string {
  let s = String(v);
  if (isPath) s = path.basename(s).replace(/\.[^.]+$/, "");
  return s.replace(/[^A-Za-z0-9._,+-]/g, "_");
}

interface FlagKind {
  kind: "option" | "argument";
  /** option: boolean flag, value flag, repeatable value flag */
  takes?: "none" | "value" | "list";
  flag?: string;
  index?: number;
  node?: Node;
}

/** Read and check SPEC against the command found by `lookup`; nothing is run or written. */
export function readSpec(specFile: string, lookup: (name: string) => Command | undefined, outOverride?: string): SweepPlan {
  let text: string;
  try {
    text = fs.readFileSync(specFile, "utf8");
  } catch (e) {
    throw new UsageError(`${specFile}: cannot read the sweep spec (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const loc = new Locator(specFile, lc);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = e.linePos?.[0] ?? (e.pos ? lc.linePos(e.pos[0]) : undefined);
    throw new UsageError(`${specFile}${p ? `:${p.line}:${p.col}` : ""}: ${e.message.split("\n")[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) throw loc.error(root, "a sweep spec is a mapping with keys command, flags, axes (and out, slurm)");
  const top = new Map<string, { key: Scalar; value: Node | null }>();
  for (const it of (root as YAMLMap).items) {
    const k = it.key as Scalar;
    const name = String(k.value);
    if (!["command", "out", "flags", "axes", "slurm"].includes(name)) throw loc.error(k, `unknown key '${name}' (accepted: command, out, flags, axes, slurm)`);
    top.set(name, { key: k, value: it.value as Node | null });
  }
  // ---- command
  const cmdEntry = top.get("command");
  if (!cmdEntry) throw loc.error(root, "no 'command' (the stoopt command to run in every cell, e.g. command: mnist)");
  const cmdName = String(scalarValue(loc, cmdEntry.value, "command"));
  const cmd = lookup(cmdName);
  if (!cmd) throw loc.error(cmdEntry.value, `unknown command '${cmdName}'${suggest(cmdName, SWEEPABLE)} (a sweep runs one of: ${SWEEPABLE.join(", ")})`);
  const adapter = adapterFor(cmdName);
  if (!adapter) throw loc.error(cmdEntry.value, `'${cmdName}' is not a command a sweep runs (it runs ${SWEEPABLE.join(", ")})`);
  // ---- names the command accepts
  const options = new Map<string, Option>();
  for (const o of cmd.options as Option[]) {
    const n = longName(o);
    if (n) options.set(n, o);
  }
  const args = cmd.registeredArguments.map((a) => a.name());
  const allNames = [...options.keys(), ...args];
  const kindOf = (keyNode: Scalar, where: string): FlagKind => {
    const raw = String(keyNode.value);
    const name = raw.replace(/^--/, "");
    const ai = args.indexOf(name);
    if (ai >= 0) return { kind: "argument", index: ai };
    const o = options.get(name);
    if (!o) throw loc.error(keyNode, `${where}: stoopt ${cmdName} has no flag --${name}${suggest(name, allNames)}`);
    if (adapter.owned.includes(name)) throw loc.error(keyNode, `${where}: --${name} is set for each cell by the sweep (${adapter.ownedWhy})`);
    return {
      kind: "option",
      takes: o.required || o.optional ? ((o as Option & { parseArg?: unknown }).parseArg || o.variadic ? "list" : "value") : "none",
      flag: o.long!,
    };
  };
  const valuesOf = (node: Node | null, kind: FlagKind, name: string): Value | Value[] => {
    if (isSeq(node)) {
      if (kind.takes !== "list") throw loc.error(node, `--${name} takes one value, not a list`);
      if (node.items.length === 0) throw loc.error(node, `--${name}: empty list`);
      return node.items.map((n) => scalarValue(loc, n, `--${name}`));
    }
    const v = scalarValue(loc, node, kind.kind === "argument" ? `argument <${name}>` : `--${name}`);
    if (kind.kind === "argument" && adapter.fileArguments) {
      // the runs start in the spec's folder, so a relative path is relative to the spec
      const f = path.resolve(path.dirname(path.resolve(specFile)), String(v));
      if (String(v) === "-" || !fs.existsSync(f))
        throw loc.error(node, `<${name}>: no such file '${String(v)}' (relative paths are relative to the spec file)`);
    }
    if (kind.takes === "none" && typeof v !== "boolean") throw loc.error(node, `--${name} is a switch: give true or false`);
    if (kind.takes !== "none" && typeof v === "boolean") throw loc.error(node, `--${name} takes a value, not ${v}`);
    return v;
  };
  // ---- fixed flags
  const flags: Record<string, Value | Value[]> = {};
  const flagText: Record<string, string | string[]> = {};
  const kinds = new Map<string, FlagKind>();
  const fEntry = top.get("flags");
  if (fEntry && fEntry.value !== null && !(isScalar(fEntry.value) && (fEntry.value as Scalar).value === null)) {
    if (!isMap(fEntry.value)) throw loc.error(fEntry.value, "flags: expected a mapping of flag names to values (e.g. epochs: 15)");
    for (const it of (fEntry.value as YAMLMap).items) {
      const k = it.key as Scalar;
      const kind = kindOf(k, "flags");
      const name = String(k.value).replace(/^--/, "");
      const v = valuesOf(it.value as Node | null, kind, name);
      flags[name] = v;
      flagText[name] = Array.isArray(v) ? v.map((x, i) => valueText((it.value as { items: Scalar[] }).items[i], x)) : valueText(it.value as Scalar, v);
      kinds.set(name, { ...kind, node: k });
    }
  }
  // ---- axes
  const aEntry = top.get("axes");
  const axes: [string, Value[]][] = [];
  const axisText: string[][] = [];
  if (aEntry && aEntry.value !== null && !(isScalar(aEntry.value) && (aEntry.value as Scalar).value === null)) {
    if (!isMap(aEntry.value)) throw loc.error(aEntry.value, "axes: expected a mapping of flag names to lists of values (e.g. seed: [1, 2, 3])");
    for (const it of (aEntry.value as YAMLMap).items) {
      const k = it.key as Scalar;
      const kind = kindOf(k, "axes");
      const name = String(k.value).replace(/^--/, "");
      if (name in flags) throw loc.error(k, `axes: --${name} is also under flags; give it in one place`);
      const node = it.value as Node | null;
      if (!isSeq(node)) throw loc.error(node ?? k, `axes: ${name}: expected a list of values (e.g. ${name}: [a, b])`);
      if (node.items.length === 0) throw loc.error(node, `axes: ${name} is empty: a sweep over it has no cells`);
      const vals = node.items.map((n) => {
        if (isSeq(n)) throw loc.error(n as Node, `axes: ${name}: a value is a list; each value of an axis is one number or string`);
        return valuesOf(n as Node, kind, name) as Value;
      });
      const texts = vals.map((v, i) => valueText(node.items[i] as Scalar, v));
      const dup = texts.findIndex((t, i) => texts.indexOf(t) !== i);
      if (dup >= 0) throw loc.error(node.items[dup] as Node, `axes: ${name}: value '${texts[dup]}' is given twice`);
      axes.push([name, vals]);
      axisText.push(texts);
      kinds.set(name, { ...kind, node: k });
    }
  }
  // required arguments
  for (const a of cmd.registeredArguments) {
    if (a.required && !kinds.has(a.name()))
      throw loc.error(root, `stoopt ${cmdName} needs its argument <${a.name()}>: give it under flags (${a.name()}: FILE) or as an axis`);
  }
  for (const o of cmd.options as Option[]) {
    const n = longName(o);
    if (n && o.mandatory && !kinds.has(n)) throw loc.error(root, `stoopt ${cmdName} needs --${n}: give it under flags or as an axis`);
  }
  // ---- out
  const specDir = path.dirname(path.resolve(specFile));
  let out: string;
  if (outOverride !== undefined) out = path.resolve(outOverride);
  else if (top.get("out")) out = path.resolve(specDir, String(scalarValue(loc, top.get("out")!.value, "out")));
  else out = path.join(specDir, path.basename(specFile).replace(/\.(ya?ml|json)$/i, ""));
  // ---- slurm
  const slurm: SlurmSettings = {};
  const sEntry = top.get("slurm");
  if (sEntry && sEntry.value !== null) {
    if (!isMap(sEntry.value)) throw loc.error(sEntry.value, "slurm: expected a mapping (time, mem, partition, account, ...)");
    for (const it of (sEntry.value as YAMLMap).items) {
      const k = it.key as Scalar;
      const name = String(k.value);
      if (!(SLURM_KEYS as readonly string[]).includes(name))
        throw loc.error(k, `slurm: unknown key '${name}'${suggest(name, [...SLURM_KEYS])} (accepted: ${SLURM_KEYS.join(", ")})`);
      const node = it.value as Node;
      if (name === "setup" || name === "extra") {
        const items = isSeq(node) ? node.items : [node];
        (slurm as Record<string, unknown>)[name] = items.map((n) => String(scalarValue(loc, n, `slurm: ${name}`)));
      } else if (["cpus_per_task", "max_running", "signal_s", "max_requeues"].includes(name)) {
        const v = scalarValue(loc, node, `slurm: ${name}`);
        if (typeof v !== "number" || !Number.isInteger(v) || v < (name === "max_requeues" ? 0 : 1))
          throw loc.error(node, `slurm: ${name}: expected a whole number >= ${name === "max_requeues" ? 0 : 1}`);
        (slurm as Record<string, unknown>)[name] = v;
      } else {
        const v = String(scalarValue(loc, node, `slurm: ${name}`));
        if (name === "time") {
          try {
            checkTime(v, "slurm: time");
          } catch (e) {
            throw loc.error(node, (e as Error).message);
          }
        }
        (slurm as Record<string, unknown>)[name] = v;
      }
    }
  }
  // ---- cells
  const hasThreads = options.has("threads");
  const cells: Cell[] = [];
  const n = axes.reduce((p, [, v]) => p * v.length, 1);
  if (n > 100000) throw loc.error(aEntry?.value, `the axes cross into ${n} cells; split the sweep`);
  // a file argument names its cell by the file's name without folder and extension
  const pathLike = (name: string) => kinds.get(name)?.kind === "argument";
  for (let i = 0; i < n; i++) {
    let r = i;
    const idx: number[] = new Array(axes.length);
    for (let a = axes.length - 1; a >= 0; a--) {
      idx[a] = r % axes[a][1].length;
      r = Math.floor(r / axes[a][1].length);
    }
    const values: Record<string, Value> = {};
    const text: Record<string, string | string[]> = { ...flagText };
    axes.forEach(([name, vals], a) => {
      values[name] = vals[idx[a]];
      text[name] = axisText[a][idx[a]];
    });
    const positional: string[] = [];
    const opts: string[] = [];
    const all = { ...flags, ...values };
    for (const [name, v] of Object.entries(all)) {
      const kind = kinds.get(name)!;
      if (kind.kind === "argument") positional[kind.index!] = String(text[name]);
      else if (kind.takes === "none") {
        if (v === true) opts.push(kind.flag!);
      } else for (const t of Array.isArray(text[name]) ? (text[name] as string[]) : [text[name] as string]) opts.push(kind.flag!, t);
    }
    let threads = 1;
    if (hasThreads) {
      const t = all.threads;
      if (t === undefined) opts.push("--threads", "1");
      else {
        threads = Number(t);
        if (!Number.isInteger(threads) || threads < 1) throw loc.error(kinds.get("threads")!.node, `--threads: '${String(t)}' is not a whole number >= 1`);
      }
    }
    const argv = [...positional, ...opts];
    const name = axes.length === 0 ? "run" : axes.map(([a]) => `${a}=${folderPart(String(text[a]), pathLike(a))}`).join("_");
    cells.push({ name, values, argv, threads, fingerprint: fingerprint(cmdName, argv) });
  }
  const seen = new Map<string, Cell>();
  for (const c of cells) {
    const other = seen.get(c.name);
    if (other)
      throw loc.error(
        aEntry?.value,
        `axes: cells ${JSON.stringify(other.values)} and ${JSON.stringify(c.values)} would share the folder '${c.name}'; give the values distinct names`,
      );
    seen.set(c.name, c);
  }
  return { specFile, command: cmdName, out, cwd: specDir, axes, flags, slurm, cells };
}

/** The run a cell folder holds: the command and its argv, without --threads (a resource, not a setting). */
export function fingerprint(command: string, argv: string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--threads") {
      i++;
      continue;
    }
    kept.push(argv[i]);
  }
  return crypto
    .createHash("sha256")
    .update(JSON.stringify([command, kept]))
    .digest("hex")
    .slice(0, 16);
}
