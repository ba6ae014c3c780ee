/**
 * Checkpoint file of an MNIST run, written atomically after every epoch.
 * Layout: "STOOPTCK" (8 bytes), u32 LE format version, u32 LE header length,
 * the header as UTF-8 JSON, zero padding to a multiple of 8, then the arrays
 * the header lists (little-endian, each at its recorded offset from the start
 * of the array section): theta (the trainable parameters), adam_m, adam_v
 * (in the run's precision) and the coupling matrix w (f64).
 */
import fs from "node:fs";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../output.js";
import type { LearningRates, NetConfig, Precision } from "./config.js";
import { layout } from "./config.js";

export const CHECKPOINT_MAGIC = "STOOPTCK";
export const CHECKPOINT_VERSION = 1;
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
  const out = Buffer.alloc(start + off);
  out.write(CHECKPOINT_MAGIC, 0, "latin1");
  out.writeUInt32LE(CHECKPOINT_VERSION, 8);
  out.writeUInt32LE(hjson.length, 12);
  hjson.copy(out, 16);
  arrays.forEach(([, a], i) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, start + list[i].offset));
  writeFileAtomic(file, out, "checkpoint");
}

export function loadCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`${file}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const bad = (why: string) => new UsageError(`${file}: not a valid stoopt checkpoint (${why})`);
  if (buf.length < 16 || buf.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) throw bad("wrong magic");
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) throw bad(`format version ${version}, this stoopt reads ${CHECKPOINT_VERSION}`);
  const hlen = buf.readUInt32LE(12);
  if (16 + hlen > buf.length) throw bad("truncated header");
  let h: CheckpointHeader;
  try {
    h = JSON.parse(buf.toString("utf8", 16, 16 + hlen)) as CheckpointHeader;
  } catch {
    throw bad("header is not JSON");
  }
  const start = Math.ceil((16 + hlen) / 8) * 8;
  const get = (name: string): Float32Array | Float64Array => {
    const e = h.arrays?.find((a) => a.name === name);
    if (!e) throw bad(`no array '${name}'`);
    const bytes = e.length * (e.dtype === "f32" ? 4 : 8);
    if (start + e.offset + bytes > buf.length) throw bad(`array '${name}' truncated`);
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(start + e.offset, start + e.offset + bytes));
    return e.dtype === "f32" ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
  };
  const config: NetConfig = { ...h.config, seed: BigInt(h.config.seed), lr: h.config.lr as LearningRates };
  const L = layout(config.n, config.nIn, config.nOut);
  const theta = get("theta");
  const adamM = get("adam_m");
  const adamV = get("adam_v");
  const wcp = get("w_coupling");
  if (theta.length !== L.total || adamM.length !== L.total || adamV.length !== L.total) throw bad(`parameter count ${theta.length} does not match N = ${config.n}`);
  if (!(wcp instanceof Float64Array) || wcp.length !== config.n * config.n) throw bad("coupling matrix size");
  return { header: { config, data: h.data, epochs_done: h.epochs_done, adam_step: h.adam_step, history: h.history }, theta, adamM, adamV, wcp };
}
