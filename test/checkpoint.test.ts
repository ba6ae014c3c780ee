/**
 * Issue 11, class 6: checkpoints are not trusted blindly. A table of damaged
 * checkpoints through the CLI (exit 2 naming the file, nothing written), and
 * a property test like the teacher reader's: random mutations of a valid
 * checkpoint are either read exactly or refused with exit 2; with the
 * checksum recomputed (damage the checksum cannot see), what is read still
 * keeps every structural promise.
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "./helpers.js";
import { checkCase, tinyData } from "./reliability.helpers.js";
import { Checkpoint, CHECKPOINT_VERSION, parseCheckpoint, saveCheckpoint } from "../cli/network/checkpoint.js";
import { layout, NetConfig, PAPER_LR } from "../cli/network/config.js";
import { defaultParams } from "../cli/model.js";
import { StooptError } from "../cli/errors.js";

const NAME = "ck.bin";

/** A small valid checkpoint (N = 3, 4 inputs, 2 classes, one epoch done). */
function smallCheckpoint(precision: "f32" | "f64"): Checkpoint {
  const config: NetConfig = {
    n: 3,
    nIn: 4,
    nOut: 2,
    cmOe: 10,
    dtS: 5e-11,
    steps: 10,
    tune: "full",
    groups: ["win", "wout", "phys"],
    precision,
    x0Norm: "unit",
    seed: 7n,
    batch: 10,
    epochs: 3,
    lr: PAPER_LR,
    hAppl0: 1750,
    jDc0: 5e-3,
    alpha0: 0.0055,
    params: Array.from(defaultParams()),
    trainLimit: 10,
    testLimit: 10,
    val: 0,
  };
  const L = layout(3, 4, 2);
  const mk = (f: (i: number) => number) =>
    precision === "f32" ? Float32Array.from({ length: L.total }, (_, i) => f(i)) : Float64Array.from({ length: L.total }, (_, i) => f(i));
  const row = {
    epoch: 1,
    train_loss: 1,
    train_accuracy: 0.5,
    test_loss: 1,
    test_accuracy: 0.5,
    val_loss: null,
    val_accuracy: null,
    h_appl_mean_oe: 1750,
    h_appl_var_oe2: 0,
    j_dc_a: 0.005,
    alpha: 0.0055,
    images_per_s: 10,
    train_s: 1,
    eval_s: 1,
    wall_s: 2,
  };
  return {
    header: {
      config,
      data: { dir: "mnist-data", fingerprint: "ab", train_images: 10, test_images: 10, val_images: 0 },
      epochs_done: 1,
      adam_step: 3,
      history: [row],
    },
    theta: mk((i) => Math.sin(i)),
    adamM: mk((i) => 0.001 * Math.cos(i)),
    adamV: mk((i) => 1e-6 * (1 + Math.sin(i) ** 2)),
    wcp: Float64Array.from({ length: 9 }, (_, i) => i / 9 - 0.4),
  };
}

function bytesOf(ck: Checkpoint): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-ck-"));
  saveCheckpoint(path.join(dir, NAME), ck);
  return fs.readFileSync(path.join(dir, NAME));
}

/** The SHA-256 trailer recomputed (damage that a checksum cannot see). */
function rechecksum(b: Buffer): Buffer {
  const out = Buffer.from(b);
  if (out.length >= 32)
    createHash("sha256")
      .update(out.subarray(0, out.length - 32))
      .digest()
      .copy(out, out.length - 32);
  return out;
}

/** Rebuild a format-2 file with its header changed by `f` (checksum valid). */
function withHeader(b: Buffer, f: (h: Record<string, any>) => void): Buffer {
  const hlen = b.readUInt32LE(12);
  const h = JSON.parse(b.toString("utf8", 16, 16 + hlen));
  f(h);
  const start = Math.ceil((16 + hlen) / 8) * 8;
  const arrays = b.subarray(start, b.length - 32);
  const hj = Buffer.from(JSON.stringify(h));
  const s2 = Math.ceil((16 + hj.length) / 8) * 8;
  const out = Buffer.alloc(s2 + arrays.length + 32);
  b.copy(out, 0, 0, 12);
  out.writeUInt32LE(hj.length, 12);
  hj.copy(out, 16);
  arrays.copy(out, s2);
  return rechecksum(out);
}

/** The same checkpoint in format 1 (no checksum). */
function asVersion1(b: Buffer): Buffer {
  const v = withHeader(b, (h) => (h.version = 1));
  const out = Buffer.from(v.subarray(0, v.length - 32));
  out.writeUInt32LE(1, 8);
  return out;
}

function expectSame(a: Checkpoint, b: Checkpoint): void {
  expect(Array.from(a.theta)).toEqual(Array.from(b.theta));
  expect(Array.from(a.adamM)).toEqual(Array.from(b.adamM));
  expect(Array.from(a.adamV)).toEqual(Array.from(b.adamV));
  expect(Array.from(a.wcp)).toEqual(Array.from(b.wcp));
  expect(a.header.epochs_done).toBe(b.header.epochs_done);
  expect(a.header.adam_step).toBe(b.header.adam_step);
  expect({ ...a.header.config, seed: String(a.header.config.seed) }).toEqual({ ...b.header.config, seed: String(b.header.config.seed) });
}

/** Read, or refuse with exit 2 naming the file; anything else fails the test. */
function readOrRefuse(b: Buffer): Checkpoint | undefined {
  try {
    return parseCheckpoint(b, NAME).checkpoint;
  } catch (e) {
    if (!(e instanceof StooptError) || e.exitCode !== 2 || !e.message.startsWith(`${NAME}: not a valid stoopt checkpoint (`) || e.message.includes("\n"))
      throw e;
    return undefined;
  }
}

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "cut"; at: number }
  | { kind: "delete"; at: number; n: number }
  | { kind: "insert"; at: number; bytes: number[] };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
);
/** Apply `m` at a position below `limit` (the whole file, or only its header). */
function mutate(b: Buffer, m: Mutation, limit = b.length): Buffer {
  const at = m.at % Math.max(1, Math.min(limit, b.length));
  switch (m.kind) {
    case "flip": {
      const o = Buffer.from(b);
      o[at] ^= 1 << m.bit;
      return o;
    }
    case "set": {
      const o = Buffer.from(b);
      o[at] = m.value;
      return o;
    }
    case "cut":
      return b.subarray(0, at);
    case "delete":
      return Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
    case "insert":
      return Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
  }
}

describe("class 6: the checkpoint reader (property)", () => {
  for (const precision of ["f32", "f64"] as const) {
    const ck = smallCheckpoint(precision);
    const good = bytesOf(ck);
    const headerEnd = 16 + good.readUInt32LE(12);
    it(`${precision}: a valid file reads back exactly, in format ${CHECKPOINT_VERSION} and in format 1`, () => {
      expectSame(parseCheckpoint(good, NAME).checkpoint, ck);
      const v1 = parseCheckpoint(asVersion1(good), NAME);
      expectSame(v1.checkpoint, ck);
      expect(v1.warning).toContain("format 1 has no checksum");
    });
    it(`${precision}: random mutations are read exactly or refused with exit 2`, () => {
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
          const b = ms.reduce((x, m) => mutate(x, m), good);
          const r = readOrRefuse(b);
          if (r) expectSame(r, ck);
        }),
        { numRuns: 400, seed: 1128 },
      );
    });
    it(`${precision}: header mutations behind a valid checksum are refused or keep every structural promise`, () => {
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
          const b = rechecksum(ms.reduce((x, m) => mutate(x, m, headerEnd), good));
          const r = readOrRefuse(b);
          if (!r) return;
          const cfg = r.header.config;
          const L = layout(cfg.n, cfg.nIn, cfg.nOut);
          for (const a of [r.theta, r.adamM, r.adamV]) expect(a.length).toBe(L.total);
          expect(r.wcp.length).toBe(cfg.n * cfg.n);
          for (const a of [r.theta, r.adamM, r.adamV, r.wcp]) expect(Array.from(a).every(Number.isFinite)).toBe(true);
          expect(Array.from(r.adamV).every((v) => v >= 0)).toBe(true);
          expect(Number.isInteger(r.header.epochs_done) && r.header.epochs_done <= cfg.epochs).toBe(true);
          expect(r.header.history).toHaveLength(r.header.epochs_done);
        }),
        { numRuns: 400, seed: 1129 },
      );
    });
  }
});

// ---- the CLI on damaged checkpoints of a real (tiny) run

let data = "";
let good = "";
beforeAll(() => {
  data = tinyData();
  good = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-ckrun-")), "run");
  const r = runCli(["mnist", "--data", data, "--n", "4", "--epochs", "1", "--batch", "20", "--threads", "1", "--out", good]);
  expect(r.code, r.stderr).toBe(0);
});

interface Case {
  name: string;
  damage: (b: Buffer) => Buffer;
  code: number;
  message: string | RegExp;
}
const cases: Case[] = [
  {
    name: "a flipped bit in the weights",
    damage: (b) => ((b[b.length - 200] ^= 4), b),
    code: 2,
    message: "not a valid stoopt checkpoint (checksum mismatch: the file is damaged or truncated)",
  },
  { name: "truncated", damage: (b) => b.subarray(0, b.length - 1000), code: 2, message: "checksum mismatch" },
  {
    name: "NaN in theta, checksum valid",
    damage: (b) => (b.writeFloatLE(NaN, Math.ceil((16 + b.readUInt32LE(12)) / 8) * 8 + 8), rechecksum(b)),
    code: 2,
    message: "array 'theta' holds a non-finite value at index 2",
  },
  {
    name: "Inf in the coupling matrix, checksum valid",
    damage: (b) => (b.writeDoubleLE(Infinity, b.length - 40), rechecksum(b)),
    code: 2,
    message: "array 'w_coupling' holds a non-finite value",
  },
  {
    name: "an offset past the end, checksum valid",
    damage: (b) => withHeader(b, (h) => (h.arrays[1].offset = 1 << 30)),
    code: 2,
    message: "array 'adam_m' lies beyond the end of the file",
  },
  {
    name: "a misaligned offset, checksum valid",
    damage: (b) => withHeader(b, (h) => (h.arrays[2].offset += 4)),
    code: 2,
    message: "is not a non-negative multiple of 8",
  },
  { name: "overlapping arrays, checksum valid", damage: (b) => withHeader(b, (h) => (h.arrays[1].offset = h.arrays[0].offset)), code: 2, message: "overlap" },
  {
    name: "a length that does not match N, checksum valid",
    damage: (b) => withHeader(b, (h) => (h.arrays[0].length -= 1)),
    code: 2,
    message: "does not match N = 4",
  },
  {
    name: "a wrong config type, checksum valid",
    damage: (b) => withHeader(b, (h) => (h.config.steps = "10")),
    code: 2,
    message: "header field 'config.steps'",
  },
  { name: "an unknown format version", damage: (b) => (b.writeUInt32LE(7, 8), b), code: 2, message: "format version 7; this stoopt reads versions 1 and 2" },
  { name: "not a checkpoint", damage: () => Buffer.from("hello\n"), code: 2, message: "wrong magic" },
  { name: "format 1 (no checksum) is still read, with a note", damage: asVersion1, code: 0, message: "checkpoint format 1 has no checksum" },
];

describe("class 6: damaged checkpoints through the CLI (eval and --resume)", () => {
  for (const c of cases) {
    it(`eval: ${c.name}`, () => {
      const { r } = checkCase(
        c.name,
        (d) => fs.writeFileSync(path.join(d, "checkpoint.bin"), c.damage(fs.readFileSync(path.join(good, "checkpoint.bin")))),
        (d) => ["eval", path.join(d, "checkpoint.bin"), "--data", data, "--threads", "1", "--json"],
        { code: c.code, message: c.message, emptyStdout: c.code !== 0 },
      );
      if (c.code === 2) expect(r.stderr).toContain("checkpoint.bin: not a valid stoopt checkpoint (");
      else expect(JSON.parse(r.stdout).total).toBe(20);
    }, 60_000);
  }
  it("--resume from a damaged checkpoint: exit 2, the run folder untouched", () => {
    checkCase(
      "resume",
      (d) => {
        for (const f of fs.readdirSync(good)) fs.copyFileSync(path.join(good, f), path.join(d, f));
        const b = fs.readFileSync(path.join(d, "checkpoint.bin"));
        b[b.length - 100] ^= 1;
        fs.writeFileSync(path.join(d, "checkpoint.bin"), b);
      },
      (d) => ["mnist", "--resume", d, "--epochs", "2", "--threads", "1"],
      { code: 2, message: "checksum mismatch" },
    );
  }, 60_000);
});
