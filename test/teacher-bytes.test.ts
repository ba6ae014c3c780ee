/**
 * The teacher reader's byte path (ASCII input: numbers read from the bytes
 * where they lie) against what it replaces: the same data or the same
 * message as reading every line as text, and every number it reads itself
 * exactly what `Number()` gives for the same text.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Readable } from "node:stream";
import { decimalOf, readTeacherFromStream, TeacherData, TeacherOptions } from "../cli/io/teacher-csv.js";

const RUNS = 300;

/** `decimalOf` either declines (NaN) or agrees with Number() to the bit (-0 included). */
function agrees(text: string): void {
  const v = decimalOf(text);
  if (v === v && !Object.is(v, Number(text))) expect.fail(`decimalOf(${JSON.stringify(text)}) = ${v}, Number() = ${Number(text)}`);
}

/** The exact decimal digits of the midpoint between x > 0 and the next double up, and where its point goes. */
function midpointDigits(x: number): { digits: string; point: number } {
  const bits = new BigUint64Array(new Float64Array([x]).buffer)[0];
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (exponent === 0 ? 0n : 1n << 52n);
  // midpoint = (2 * mantissa + 1) * 2^(e - 1), e = exponent - 1075 < 0 here: times 5^k / 10^k
  const k = 1075 - Math.max(exponent, 1) + 1;
  const digits = ((2n * mantissa + 1n) * 5n ** BigInt(k)).toString();
  return { digits, point: digits.length - k };
}

describe("decimalOf reads exactly what Number() reads", () => {
  const magnitude = fc.double({ min: 1e-30, max: 1e30, noNaN: true, noDefaultInfinity: true });

  it("doubles written by String, toPrecision, toExponential and toFixed", () => {
    fc.assert(
      fc.property(magnitude, fc.boolean(), fc.integer({ min: 1, max: 21 }), fc.integer({ min: 0, max: 20 }), (x, negative, p, f) => {
        const v = negative ? -x : x;
        for (const text of [String(v), v.toPrecision(p), v.toExponential(f), Math.abs(v) < 1e21 ? v.toFixed(f) : String(v)]) agrees(text);
      }),
      { numRuns: 20 * RUNS },
    );
  });

  it("digit strings with signs, points and exponents", () => {
    const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 22 });
    fc.assert(
      fc.property(
        fc.constantFrom("", "-", "+"),
        digits,
        fc.option(digits, { nil: undefined }),
        fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "-", "+"), fc.integer({ min: 0, max: 400 })), { nil: undefined }),
        (sign, whole, fraction, exponent) => {
          agrees(sign + whole + (fraction === undefined ? "" : `.${fraction}`) + (exponent === undefined ? "" : exponent.join("")));
        },
      ),
      { numRuns: 20 * RUNS },
    );
  });

  it("near the middle between two doubles, where rounding is decided by the last digits", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e3, noNaN: true }), fc.integer({ min: 15, max: 19 }), fc.integer({ min: -1, max: 1 }), (x, keep, step) => {
        const { digits, point } = midpointDigits(x);
        if (digits.length <= keep) return;
        const d = (BigInt(digits.slice(0, keep)) + BigInt(step)).toString();
        agrees(`${d}e${point - d.length}`);
        if (point <= 0) agrees(`0.${"0".repeat(-point)}${d}`);
        else if (point < d.length) agrees(`${d.slice(0, point)}.${d.slice(point)}`);
      }),
      { numRuns: 20 * RUNS },
    );
  });

  it("exact ties (large integers written with a decimal part) go to the even neighbour", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 53n, max: 2n ** 56n }), fc.integer({ min: 1, max: 2 }), (k, zeros) => {
        agrees(`${k}.${"0".repeat(zeros)}`);
        agrees(`${k}${"0".repeat(zeros)}e-${zeros}`);
      }),
      { numRuns: 10 * RUNS },
    );
  });

  it("reads the numbers of a simulated teacher itself, and what it cannot read it declines", () => {
    for (const text of ["0", "-0", "5e-13", "1.5e-12", "-0.2166960130886405", "0.19678968988078235", "-0.9561990670713466", "1.", ".5", "+.5e-3"])
      expect(Object.is(decimalOf(text), Number(text))).toBe(true);
    for (const text of ["", ".", "-", "e5", "1e", "1e+", "0x10", "1_0", "Infinity", "1.2.3", " 1", "1 ", "0.1234567890123456789"])
      expect(decimalOf(text)).toBeNaN();
  });
});

const BASES = [
  "trial,t,mx,my,mz\n0,0,0.6,-0.7,0.2\n0,5e-11,0.66,0.69,0.27\n0,1e-10,0.1,0.2,0.3\n1,0,-0.1,-0.2,-0.3\n1,5e-11,-0.4,-0.5,-0.6\n2,0,1,0,0\n2,5e-11,0,1,0\n",
  "# teacher\r\ntrial;t_ns;mx;mz\r\n\r\na;0;0.5;0.5\r\na;0.05;0.4;0.6\r\nb;0;0.3;0.1\r\nb;0.05;0.2;0.2\r\n",
  "t_ps\tmx\tmy\tnote\n0\t0.1\t0.2\tx\n50\t0.3\t0.4\ty\n100\t0.5\t0.6\t\n",
  "trial,t,extra,mx\nr1,0,q,-0.19678968988078235\nr1,1.5000000000000002e-12,q,0.9561990670713466\nr2,0,,1e-1\nr2,2e-12,z,-1.0000001\n",
  // each wrong in one way on a line the byte path would take: a repeated time, a time going back, |m| > 1, a trial again
  "trial,t,mx,my\n0,0,0.1,0.2\n0,1e-12,0.2,0.3\n0,1e-12,0.3,0.4\n",
  "t_ns,mx\n0,0.1\n2,0.2\n1,0.3\n",
  "trial,t,mx,my,mz\n0,0,0.1,0.2,0.3\n0,1e-12,-1.0000011,0.2,0.3\n0,2e-12,0.1,1.0000011,0.3\n0,3e-12,0.1,0.2,-1.0000011\n",
  "trial,t,mx,my,mz\n0,0,0.1,0.2,0.3\n0,1e-12,0.2,1.5,0.3\n",
  "trial,t,mx,mz\n0,0,0.1,0.2\n0,1e-12,0.2,1.0000011\n",
  "trial,t,mx\n0,0,0.1\n0,1,0.2\n1,0,0.1\n1,1,0.2\n0,2,0.3\n",
  // a label that begins with the open trial's label, and a row with a field too many
  "trial,t,mx\n1,0,0.1\n1,1,0.2\n123,0,0.3\n123,1,0.4\n",
  "trial,t,mx\n0,0,0.1\n0,1,0.2\n0,2,0.3,4\n",
];

/** Pieces that matter to the byte path: separators, line breaks, signs, points, exponents, blanks, long digits, a non-ASCII letter. */
const TOKENS = [
  ",",
  ";",
  "\t",
  " ",
  "\r",
  "\n",
  "\r\n",
  '"',
  "#",
  "0",
  "7",
  "-",
  "+",
  ".",
  "e",
  "E-5",
  "e400",
  "0x1",
  "12345678901234567890",
  "a",
  "r1",
  "ä",
  "\ufeff",
];

/** Random edits of a text at positions given as fractions of its length. */
function edited(text: string, edits: [number, number, string][]): string {
  return edits.reduce((s, [at, cut, insert]) => {
    const i = Math.floor(at * (s.length + 1));
    return s.slice(0, i) + insert + s.slice(i + cut);
  }, text);
}

function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * (bytes.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

/** The whole outcome of a read: its data, or its error's class and message. */
async function outcome(chunks: Buffer[], opts: TeacherOptions & { sizeHint?: number; asText?: boolean }): Promise<unknown> {
  try {
    const d: TeacherData = await readTeacherFromStream(Readable.from(chunks), "in.csv", opts);
    return { ...d, trials: d.trials.map((t) => ({ ...t, t_s: [...t.t_s], mx: [...t.mx], my: t.my && [...t.my], mz: t.mz && [...t.mz] })) };
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message };
  }
}

describe("the byte path reads what the text path reads", () => {
  const options = fc.record(
    { maxTrials: fc.integer({ min: 1, max: 3 }), scale: fc.constantFrom(1, 0.5, -1, 1.5), sizeHint: fc.constantFrom(100, 10_000) },
    { requiredKeys: [] },
  );

  it("on edits of good teacher CSVs, cut into chunks anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BASES),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...TOKENS)), { maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        options,
        async (base, edits, cuts, opts) => {
          const chunks = chunked(Buffer.from(edited(base, edits)), cuts);
          expect(await outcome(chunks, opts)).toEqual(await outcome(chunks, { ...opts, asText: true }));
        },
      ),
      { numRuns: 4 * RUNS },
    );
  });

  it("on any bytes among CSV pieces: UTF-8 of every length, invalid sequences, a BOM anywhere", async () => {
    const piece = fc.oneof(
      fc.constantFrom(...TOKENS).map((t) => Buffer.from(t)),
      fc.constantFrom("µ", "°C", "ä", "𝜇", "\ufeff").map((t) => Buffer.from(t)),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.from(b)),
      fc.constantFrom(0x80, 0xa0, 0xc3, 0xe2, 0xef, 0xf0, 0xff).map((b) => Buffer.from([b])),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BASES),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), piece), { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        async (base, inserts, cuts) => {
          let bytes = Buffer.from(base);
          for (const [at, b] of inserts) {
            const i = Math.floor(at * (bytes.length + 1));
            bytes = Buffer.concat([bytes.subarray(0, i), b, bytes.subarray(i)]);
          }
          const chunks = chunked(bytes, cuts);
          expect(await outcome(chunks, {})).toEqual(await outcome(chunks, { asText: true }));
        },
      ),
      { numRuns: 4 * RUNS },
    );
  });

  it("on long teachers (past the rows that size the columns), with an edit somewhere", async () => {
    const rows = (n: number, digits: number): string => {
      let s = "trial,t,mx,my,mz\n";
      for (let i = 0; i < n; i++) {
        const trial = Math.floor((3 * i) / n);
        const v = (k: number): string => Math.sin(i + k).toPrecision(digits);
        s += `${trial},${(i % Math.ceil(n / 3)) * 5e-13},${v(0)},${v(1)},${v(2)}\n`;
      }
      return s;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2100, max: 4000 }),
        fc.integer({ min: 1, max: 19 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...TOKENS)), { maxLength: 2 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
        async (n, digits, edits, cuts) => {
          const text = edited(rows(n, digits), edits);
          const chunks = chunked(Buffer.from(text), cuts);
          const opts = { sizeHint: text.length };
          expect(await outcome(chunks, opts)).toEqual(await outcome(chunks, { ...opts, asText: true }));
        },
      ),
      { numRuns: RUNS / 6 },
    );
  });
});
