/**
 * Whatever bytes arrive, the teacher reader either returns data that keeps its
 * promises or rejects with a one-line TeacherError: never another error, never
 * a hang.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Readable } from "node:stream";
import { readTeacherFromStream, TeacherData, TeacherError, TeacherOptions } from "../cli/io/teacher-csv.js";

const NAME = "in.csv";
const RUNS = 400;

const BASES = [
  "trial,t,mx,my,mz\n0,0,0.6,-0.7,0.2\n0,5e-11,0.66,0.69,0.27\n0,1e-10,0.1,0.2,0.3\n1,0,-0.1,-0.2,-0.3\n1,5e-11,-0.4,-0.5,-0.6\n2,0,1,0,0\n2,5e-11,0,1,0\n",
  "\ufeff# teacher\r\ntrial;t_ns;mx;mz\r\n\r\na;0;0.5;0.5\r\na;0.05;0.4;0.6\r\n  # b next\r\nb;0;0.3;0.1\r\nb;0.05;0.2;0.2\r\n",
  't_ps\tmx\tmy\tnote\n0\t0.1\t0.2\t"x\ty"\n50\t0.3\t0.4\t"say ""hi"""\n100\t0.5\t0.6\t\n',
  '"trial","t","mx"\n"r 1","0","0.5"\n"r 1","1e-12","-0.5"\n"r,2",0,1\n"r,2",2e-12,-1\n',
];

/** Pieces that matter to a CSV reader, for insertions and replacements. */
const TOKENS = [
  ",",
  ";",
  "\t",
  '"',
  '""',
  "#",
  "\r",
  "\n",
  "\r\n",
  " ",
  "0",
  "1",
  "-",
  ".",
  "e",
  "e999",
  "NaN",
  "inf",
  "x",
  "t",
  "t_ns",
  "t_min",
  "trial",
  "mx",
  "my",
  "\ufeff",
  "ä",
  "\u0000",
];
const tokenText = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 4 }).map((a) => a.join(""));

type Mutation =
  | { kind: "delete"; at: number; length: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "replace"; at: number; length: number; text: string }
  | { kind: "swapLines"; a: number; b: number }
  | { kind: "cut"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: tokenText }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 3 }), text: tokenText }),
  fc.record({ kind: fc.constant("swapLines" as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const at = "at" in m ? m.at % (text.length + 1) : 0;
  switch (m.kind) {
    case "delete":
      return text.slice(0, at) + text.slice(at + m.length);
    case "insert":
      return text.slice(0, at) + m.text + text.slice(at);
    case "replace":
      return text.slice(0, at) + m.text + text.slice(at + m.length);
    case "swapLines": {
      const lines = text.split("\n");
      const a = m.a % lines.length;
      const b = m.b % lines.length;
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return lines.join("\n");
    }
    case "cut":
      return text.slice(0, at);
  }
}

const options: fc.Arbitrary<TeacherOptions> = fc.record(
  {
    maxTrials: fc.integer({ min: 1, max: 4 }),
    scale: fc.constantFrom(1, 0.5, 2, -1),
    delimiter: fc.constantFrom(",", ";", "\t"),
  },
  { requiredKeys: [] },
);

/** Split bytes into chunks at the given cut points (to move chunk boundaries around). */
function chunked(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(Buffer.from(bytes.subarray(from, p)));
    from = Math.max(from, p);
  }
  return chunks;
}

/** The promises a successful read keeps. */
function checkData(d: TeacherData, opts: TeacherOptions): void {
  expect(d.trials.length).toBeGreaterThanOrEqual(1);
  expect(d.trials.length).toBeLessThanOrEqual(opts.maxTrials ?? Infinity);
  expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
  let rows = 0;
  for (const t of d.trials) {
    const n = t.t_s.length;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(t.mx.length).toBe(n);
    expect(t.my === undefined).toBe(!d.hasMy);
    expect(t.mz === undefined).toBe(!d.hasMz);
    for (const c of [t.mx, t.my, t.mz]) {
      if (c === undefined) continue;
      expect(c.length).toBe(n);
      for (const v of c) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-6);
    }
    for (let i = 0; i < n; i++) {
      expect(Number.isFinite(t.t_s[i])).toBe(true);
      if (i > 0) expect(t.t_s[i]).toBeGreaterThanOrEqual(t.t_s[i - 1]);
    }
    rows += n;
  }
  expect(d.rowsRead).toBe(rows);
  expect(new Set(d.trials.map((t) => t.label)).size).toBe(d.trials.length);
}

/** Read, and accept either good data or a well-formed TeacherError; rethrow anything else. */
async function readsOrRejectsCleanly(chunks: Buffer[], opts: TeacherOptions): Promise<void> {
  let data: TeacherData;
  try {
    data = await readTeacherFromStream(Readable.from(chunks), NAME, opts);
  } catch (err) {
    if (!(err instanceof TeacherError)) throw err;
    expect(err.message).toMatch(/^in\.csv(:\d+(:\d+)?)?: \S/);
    expect(err.message).not.toMatch(/[\r\n]/);
    return;
  }
  checkData(data, opts);
}

describe("teacher reader on hostile input", () => {
  it("random byte strings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 4 }), options, async (bytes, cuts, opts) => {
        await readsOrRejectsCleanly(chunked(bytes, cuts), opts);
      }),
      { numRuns: RUNS },
    );
  });

  it("random strings of CSV pieces", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tokenText, { maxLength: 60 }), options, async (pieces, opts) => {
        await readsOrRejectsCleanly([Buffer.from(pieces.join(""))], opts);
      }),
      { numRuns: RUNS },
    );
  });

  it("random mutations of good teacher CSVs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BASES),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.record({ maxTrials: fc.integer({ min: 1, max: 4 }), scale: fc.constantFrom(1, 0.5, -1) }, { requiredKeys: [] }),
        async (base, mutations, cuts, opts) => {
          const text = mutations.reduce(mutate, base);
          await readsOrRejectsCleanly(chunked(Buffer.from(text), cuts), opts);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("the unmutated bases are good teacher data", async () => {
    for (const base of BASES) await readsOrRejectsCleanly([Buffer.from(base)], {});
    for (const base of BASES) checkData(await readTeacherFromStream(Readable.from([Buffer.from(base)]), NAME), {});
  });
});
