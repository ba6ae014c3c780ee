/**
 * Checkpoint file of an MNIST run, written atomically after every epoch.
 * Layout: "STOOPTCK" (8 bytes), u32 LE format version, u32 LE header length,
 * the header as UTF-8 JSON, zero padding to a multiple of 8, then the arrays
 * the header lists (little-endian, each at its recorded offset from the start
 * of the array section, 8-byte aligned): theta (the trainable parameters),
 * adam_m, adam_v (in the run's precision) and the coupling matrix w (f64).
 * Format 2 ends with the SHA-256 of every byte before it (32 bytes); format 1
 * (without it) is still read, with a note that damage cannot be detected.
 *
 * The reader trusts nothing: checksum, every header field's type and range,
 * every offset and length (inside the file, aligned, not overlapping, sizes
 * matching the network), and every value finite. Anything else is "not a
 * valid stoopt checkpoint" (exit 2, naming the file and the reason).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { UsageError } from "../errors.js";
import { note } from "../log.js";
import { writeFileAtomic } from "../io/output.js";
import type { LearningRates, NetConfig, Precision } from "./config.js";
import { layout } from "./config.js";

export const CHECKPOINT_MAGIC = "STOOPTCK";
export const CHECKPOINT_VERSION = 2;
/** formats this reader accepts */
export const CHECKPOINT_VERSIONS_READ = [1, 2];
const CHECKSUM_BYTES = 32;
export const CHECKPOINT_FILE = "checkpoint.bin";

export interface EpochRow {
  epoch: number;
  train_loss: number;
  train_accuracy: number;
  test_loss: number;
  test_accuracy: number;
  /** on the held-out validation images (--val); null without them */
  val_loss?: number | null;
  val_accuracy?: number | null;
  h_appl_mean_oe: number;
  h_appl_var_oe2: number;
  j_dc_a: number;
  alpha: number;
  images_per_s: number;
  train_s: number;
  eval_s: number;
  wall_s: number;
}

/** What a checkpoint holds besides its arrays. */
export interface CheckpointHeader {
  format: "stoopt-mnist-checkpoint";
  version: number;
  config: Omit<NetConfig, "seed"> & { seed: string };
  data: { dir: string; fingerprint: string; train_images: number; test_images: number; val_images?: number };
  /** completed epochs; training resumes at this epoch with its own shuffle (seed, stream 1000 + epoch) */
  epochs_done: number;
  /** Adam's step counter t */
  adam_step: number;
  history: EpochRow[];
  arrays: { name: string; dtype: Precision; length: number; offset: number }[];
}

export interface Checkpoint {
  header: Omit<CheckpointHeader, "arrays" | "format" | "version" | "config"> & { config: NetConfig };
  theta: Float32Array | Float64Array;
  adamM: Float32Array | Float64Array;
  adamV: Float32Array | Float64Array;
  wcp: Float64Array;
}

export function saveCheckpoint(file: string, ck: Checkpoint): void {
  const arrays: [string, Float32Array | Float64Array][] = [
    ["theta", ck.theta],
    ["adam_m", ck.adamM],
    ["adam_v", ck.adamV],
    ["w_coupling", ck.wcp],
  ];
  let off = 0;
  const list = arrays.map(([name, a]) => {
    const e = { name, dtype: (a instanceof Float32Array ? "f32" : "f64") as Precision, length: a.length, offset: off };
    off += a.byteLength;
    off = Math.ceil(off / 8) * 8;
    return e;
  });
  const header: CheckpointHeader = {
    format: "stoopt-mnist-checkpoint",
    version: CHECKPOINT_VERSION,
    ...ck.header,
    config: { ...ck.header.config, seed: ck.header.config.seed.toString() },
    arrays: list,
  };
  const hjson = Buffer.from(JSON.stringify(header));
  const pre = 16 + hjson.length;
  const start = Math.ceil(pre / 8) * 8;
  const out = Buffer.alloc(start + off + CHECKSUM_BYTES);
  out.write(CHECKPOINT_MAGIC, 0, "latin1");
  out.writeUInt32LE(CHECKPOINT_VERSION, 8);
  out.writeUInt32LE(hjson.length, 12);
  hjson.copy(out, 16);
  arrays.forEach(([, a], i) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, start + list[i].offset));
  createHash("sha256")
    .update(out.subarray(0, start + off))
    .digest()
    .copy(out, start + off);
  writeFileAtomic(file, out, "checkpoint");
}

export function loadCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`${file}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const { checkpoint, warning } = parseCheckpoint(buf, file);
  if (warning) note(warning);
  return checkpoint;
}

const isInt = (v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The bytes of a checkpoint, checked completely (see the module comment); `name` for messages. */
export function parseCheckpoint(buf: Uint8Array, name: string): { checkpoint: Checkpoint; warning?: string } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string) => new UsageError(`${name}: not a valid stoopt checkpoint (${why})`);
  if (b.length < 16 || b.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) throw bad("wrong magic");
  const version = b.readUInt32LE(8);
  if (!CHECKPOINT_VERSIONS_READ.includes(version)) throw bad(`format version ${version}; this stoopt reads versions ${CHECKPOINT_VERSIONS_READ.join(" and ")}`);
  let end = b.length;
  if (version >= 2) {
    if (b.length < 16 + CHECKSUM_BYTES) throw bad("truncated");
    end = b.length - CHECKSUM_BYTES;
    const sum = createHash("sha256").update(b.subarray(0, end)).digest();
    if (!sum.equals(b.subarray(end))) throw bad("checksum mismatch: the file is damaged or truncated");
  }
  const hlen = b.readUInt32LE(12);
  if (hlen > end - 16) throw bad("truncated header");
  let h: CheckpointHeader;
  try {
    h = JSON.parse(b.toString("utf8", 16, 16 + hlen)) as CheckpointHeader;
  } catch {
    throw bad("header is not JSON");
  }
  if (!isObj(h) || h.format !== "stoopt-mnist-checkpoint") throw bad("header field 'format'");
  if (h.version !== version) throw bad("header field 'version' differs from the file's format version");
  const c = h.config as unknown as Record<string, unknown>;
  if (!isObj(c)) throw bad("header field 'config'");
  const field = (k: string, ok: boolean) => {
    if (!ok) throw bad(`header field 'config.${k}'`);
  };
  field("n", isInt(c.n, 1, 100000));
  field("nIn", isInt(c.nIn, 1, 1 << 24));
  field("nOut", isInt(c.nOut, 1, 1 << 16));
  field("steps", isInt(c.steps, 1, 0xffffffff));
  field("dtS", isNum(c.dtS) && (c.dtS as number) > 0);
  field("cmOe", isNum(c.cmOe));
  field("precision", c.precision === "f32" || c.precision === "f64");
  field("x0Norm", c.x0Norm === undefined || c.x0Norm === "unit" || c.x0Norm === "raw");
  field("tune", typeof c.tune === "string");
  field("groups", Array.isArray(c.groups) && (c.groups as unknown[]).every((g) => g === "win" || g === "wout" || g === "phys"));
  field("seed", typeof c.seed === "string" && /^\d{1,20}$/.test(c.seed) && BigInt(c.seed) < 1n << 64n);
  field("batch", isInt(c.batch, 1));
  field("epochs", isInt(c.epochs, 1));
  field("lr", isObj(c.lr) && ["win", "wout", "happl", "jdc", "alpha", "decay"].every((k) => isNum((c.lr as Record<string, unknown>)[k])));
  for (const k of ["hAppl0", "jDc0", "alpha0"]) field(k, isNum(c[k]));
  field("params", Array.isArray(c.params) && (c.params as unknown[]).length === 10 && (c.params as unknown[]).every(isNum));
  field("trainLimit", isInt(c.trainLimit));
  field("testLimit", isInt(c.testLimit));
  field("val", c.val === undefined || isInt(c.val));
  if (!isObj(h.data) || typeof h.data.fingerprint !== "string" || (h.data.dir !== undefined && typeof h.data.dir !== "string"))
    throw bad("header field 'data'");
  if (!isInt(h.epochs_done, 0, c.epochs as number)) throw bad("header field 'epochs_done'");
  if (!isInt(h.adam_step)) throw bad("header field 'adam_step'");
  if (!Array.isArray(h.history) || h.history.length !== h.epochs_done || !h.history.every((r) => isObj(r) && isInt(r.epoch, 1)))
    throw bad("header field 'history'");
  if (!Array.isArray(h.arrays)) throw bad("header field 'arrays'");
  const config: NetConfig = { ...(c as unknown as NetConfig), seed: BigInt(c.seed as string), lr: c.lr as LearningRates };
  const L = layout(config.n, config.nIn, config.nOut);
  const start = Math.ceil((16 + hlen) / 8) * 8;
  if (start > end) throw bad("truncated header");
  const want: Record<string, { dtype: Precision; length: number }> = {
    theta: { dtype: config.precision, length: L.total },
    adam_m: { dtype: config.precision, length: L.total },
    adam_v: { dtype: config.precision, length: L.total },
    w_coupling: { dtype: "f64", length: config.n * config.n },
  };
  if (h.arrays.length !== 4 || new Set(h.arrays.map((a) => isObj(a) && a.name)).size !== 4)
    throw bad("header field 'arrays': expected theta, adam_m, adam_v and w_coupling once each");
  const spans: [number, number, string][] = [];
  const got: Record<string, Float32Array | Float64Array> = {};
  for (const e of h.arrays) {
    const w = isObj(e) && typeof e.name === "string" ? want[e.name] : undefined;
    if (!w) throw bad(`header field 'arrays': unknown array ${JSON.stringify(isObj(e) ? e.name : e)}`);
    if (e.dtype !== w.dtype) throw bad(`array '${e.name}': dtype ${JSON.stringify(e.dtype)}, expected ${w.dtype}`);
    if (e.length !== w.length) throw bad(`array '${e.name}': length ${JSON.stringify(e.length)} does not match N = ${config.n} (expected ${w.length})`);
    if (!isInt(e.offset) || e.offset % 8 !== 0) throw bad(`array '${e.name}': offset ${JSON.stringify(e.offset)} is not a non-negative multiple of 8`);
    const bytes = e.length * (e.dtype === "f32" ? 4 : 8);
    if (start + e.offset + bytes > end) throw bad(`array '${e.name}' lies beyond the end of the file`);
    spans.push([e.offset, e.offset + bytes, e.name]);
    const copy = new Uint8Array(bytes);
    copy.set(b.subarray(start + e.offset, start + e.offset + bytes));
    const a = e.dtype === "f32" ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw bad(`array '${e.name}' holds a non-finite value at index ${i}`);
    got[e.name] = a;
  }
  spans.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) throw bad(`arrays '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`);
  if (version >= 2 && Math.ceil(spans[spans.length - 1][1] / 8) * 8 !== end - start) throw bad("bytes after the last array");
  if (got.adam_v.some((v) => v < 0)) throw bad("array 'adam_v' holds a negative second moment");
  const warning =
    version < 2
      ? `${name}: checkpoint format ${version} has no checksum, so damage to it cannot be detected; the next epoch of a resumed run writes format ${CHECKPOINT_VERSION}`
      : undefined;
  return {
    checkpoint: {
      header: { config, data: h.data, epochs_done: h.epochs_done, adam_step: h.adam_step, history: h.history },
      theta: got.theta,
      adamM: got.adam_m,
      adamV: got.adam_v,
      wcp: got.w_coupling as Float64Array,
    },
    warning,
  };
}
