import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { EXIT_USAGE, UsageError } from "../cli/errors.js";
import { parseTeacherText, readTeacher, readTeacherFromStream, TeacherData, TeacherError, TeacherOptions } from "../cli/io/teacher-csv.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SMALL = path.join(ROOT, "fixtures/teacher-small.csv");
const BAD = path.join(ROOT, "fixtures/bad");

const GOOD = "trial,t,mx,my,mz\n0,0,0.1,0.2,0.3\n0,5e-11,0.4,0.5,0.6\n1,0,-0.1,-0.2,-0.3\n1,5e-11,-0.4,-0.5,-0.6\n";

/** The parts of the result that tests compare, with arrays as plain numbers. */
function plain(d: TeacherData) {
  return {
    hasMy: d.hasMy,
    hasMz: d.hasMz,
    rowsRead: d.rowsRead,
    truncated: d.truncated,
    trials: d.trials.map((t) => ({
      label: t.label,
      line: t.line,
      t_s: [...t.t_s],
      mx: [...t.mx],
      my: t.my && [...t.my],
      mz: t.mz && [...t.mz],
    })),
  };
}

const GOOD_PLAIN = plain({
  file: "",
  sha256: "",
  hasMy: true,
  hasMz: true,
  rowsRead: 4,
  truncated: false,
  trials: [
    { label: "0", line: 2, t_s: Float64Array.of(0, 5e-11), mx: Float64Array.of(0.1, 0.4), my: Float64Array.of(0.2, 0.5), mz: Float64Array.of(0.3, 0.6) },
    { label: "1", line: 4, t_s: Float64Array.of(0, 5e-11), mx: Float64Array.of(-0.1, -0.4), my: Float64Array.of(-0.2, -0.5), mz: Float64Array.of(-0.3, -0.6) },
  ],
});

/** The TeacherError a read rejects with (fails the test on success or any other error). */
async function errorOf(read: Promise<TeacherData>): Promise<TeacherError> {
  try {
    await read;
  } catch (err) {
    expect(err).toBeInstanceOf(TeacherError);
    expect(err).toBeInstanceOf(UsageError);
    const e = err as TeacherError;
    expect(e.exitCode).toBe(EXIT_USAGE);
    expect(e.message).not.toMatch(/[\r\n]/);
    return e;
  }
  throw new Error("expected a TeacherError, but the read succeeded");
}

async function messageOf(text: string, opts?: TeacherOptions): Promise<string> {
  return (await errorOf(parseTeacherText(text, "in.csv", opts))).message;
}

function streamOf(chunks: (string | Buffer)[]): Readable {
  return Readable.from(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c)));
}

describe("readTeacher: the file stoopt simulate writes", () => {
  it("reads fixtures/teacher-small.csv: 4 trials x 21 samples, t in s, |m| = 1, sha256 of the file", async () => {
    const d = await readTeacher(SMALL);
    expect(d.file).toBe(SMALL);
    expect(d.trials.map((t) => t.label)).toEqual(["0", "1", "2", "3"]);
    expect(d.trials.map((t) => t.line)).toEqual([2, 23, 44, 65]);
    expect(d.rowsRead).toBe(84);
    expect(d.hasMy && d.hasMz).toBe(true);
    expect(d.truncated).toBe(false);
    expect(d.sha256).toBe(createHash("sha256").update(readFileSync(SMALL)).digest("hex"));
    for (const t of d.trials) {
      expect(t.t_s).toBeInstanceOf(Float64Array);
      expect(t.t_s.length).toBe(21);
      expect(t.t_s[0]).toBe(0);
      expect(t.t_s[20]).toBeCloseTo(1e-9, 20);
      for (let i = 0; i < 21; i++) expect(Math.abs(Math.hypot(t.mx[i], t.my![i], t.mz![i]) - 1)).toBeLessThan(1e-12);
    }
    const meta = JSON.parse(readFileSync(`${SMALL}.json`, "utf8"));
    expect(meta.trials).toBe(d.trials.length);
  });

  it("reads the same values as a naive split of the file", async () => {
    const d = await readTeacher(SMALL);
    const rows = readFileSync(SMALL, "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",").map(Number));
    const flat = d.trials.flatMap((t) => [...t.mx.keys()].map((i) => [Number(t.label), t.t_s[i], t.mx[i], t.my![i], t.mz![i]]));
    expect(flat).toEqual(rows);
  });
});

describe("parseTeacherText: good variants", () => {
  it("plain comma-separated LF", async () => {
    expect(plain(await parseTeacherText(GOOD, "in.csv"))).toEqual(GOOD_PLAIN);
  });

  it("UTF-8 BOM", async () => {
    expect(plain(await parseTeacherText(`\ufeff${GOOD}`, "in.csv"))).toEqual(GOOD_PLAIN);
  });

  it("CRLF line ends", async () => {
    expect(plain(await parseTeacherText(GOOD.replace(/\n/g, "\r\n"), "in.csv"))).toEqual(GOOD_PLAIN);
  });

  it("BOM and CRLF together", async () => {
    expect(plain(await parseTeacherText(`\ufeff${GOOD.replace(/\n/g, "\r\n")}`, "in.csv"))).toEqual(GOOD_PLAIN);
  });

  it("tab-separated, detected", async () => {
    expect(plain(await parseTeacherText(GOOD.replace(/,/g, "\t"), "in.tsv"))).toEqual(GOOD_PLAIN);
  });

  it("semicolon-separated, detected", async () => {
    expect(plain(await parseTeacherText(GOOD.replace(/,/g, ";"), "in.csv"))).toEqual(GOOD_PLAIN);
  });

  it("the delimiter option overrides detection", async () => {
    // the quoted extra column name has more commas than the line has semicolons
    const text = `"a,b,c,d,e,f,g,h";${GOOD.replace(/,/g, ";").replace(/\n(?=.)/g, "\nx;")}`;
    expect(plain(await parseTeacherText(text, "in.csv", { delimiter: ";" }))).toEqual(GOOD_PLAIN);
    expect(await messageOf(text)).toMatch(/^in\.csv:1: malformed quoting/); // read with ","
  });

  it("quoted fields: numbers, labels with separators and quotes, a label across lines", async () => {
    const text =
      'trial,t,mx,my,mz\n"run ""a"", 1","0","0.1",0.2,0.3\n"run ""a"", 1",5e-11,0.4,0.5,0.6\n"two\nlines",0,-0.1,-0.2,-0.3\n"two\nlines",5e-11,-0.4,-0.5,-0.6\n';
    const d = plain(await parseTeacherText(text, "in.csv"));
    expect(d.trials.map((t) => [t.label, t.line])).toEqual([
      ['run "a", 1', 2],
      ["two\nlines", 4],
    ]);
    expect(d.trials.map((t) => t.mx)).toEqual(GOOD_PLAIN.trials.map((t) => t.mx));
  });

  it("comment lines (leading spaces allowed), blank and whitespace-only lines are skipped; lines still count", async () => {
    const text =
      "# stoopt simulate\n\ntrial,t,mx,my,mz\n  # first trial\n0,0,0.1,0.2,0.3\n\n0,5e-11,0.4,0.5,0.6\n   \n\t# second\n1,0,-0.1,-0.2,-0.3\n1,5e-11,-0.4,-0.5,-0.6\n# end";
    const d = plain(await parseTeacherText(text, "in.csv"));
    expect(d.trials.map((t) => t.line)).toEqual([5, 10]);
    expect(d.trials.map((t) => t.mx)).toEqual(GOOD_PLAIN.trials.map((t) => t.mx));
  });

  it("no final line break", async () => {
    expect(plain(await parseTeacherText(GOOD.trimEnd(), "in.csv"))).toEqual(GOOD_PLAIN);
  });

  it.each([
    ["t", 1],
    ["t_s", 1],
    ["t_ms", 1e-3],
    ["t_us", 1e-6],
    ["t_ns", 1e-9],
    ["t_ps", 1e-12],
    ["t_fs", 1e-15],
  ])("time column %s is converted to seconds (x %d)", async (name, factor) => {
    const d = await parseTeacherText(`trial,${name},mx\n0,0,0.1\n0,50,0.2\n0,100,0.3\n`, "in.csv");
    expect([...d.trials[0].t_s]).toEqual([0, 50 * factor, 100 * factor]);
  });

  it("no trial column: one trial labelled 0", async () => {
    const d = await parseTeacherText("t_ns,mx,my,mz\n0,0.1,0.2,0.3\n0.05,0.4,0.5,0.6\n0.1,0.7,0.5,0.1\n", "in.csv");
    expect(d.trials.length).toBe(1);
    expect(d.trials[0].label).toBe("0");
    expect([...d.trials[0].t_s]).toEqual([0, 0.05 * 1e-9, 0.1 * 1e-9]);
    expect(d.rowsRead).toBe(3);
  });

  it("my and mz absent", async () => {
    const d = await parseTeacherText("trial,t,mx\n0,0,0.1\n0,1,0.4\n", "in.csv");
    expect([d.hasMy, d.hasMz]).toEqual([false, false]);
    expect(d.trials[0].my).toBeUndefined();
    expect(d.trials[0].mz).toBeUndefined();
    expect([...d.trials[0].mx]).toEqual([0.1, 0.4]);
  });

  it("only mz present; columns in any order; extra columns ignored", async () => {
    const d = await parseTeacherText("note,mz,mx,t,trial,T,t0\nhello,0.3,0.1,0,a,x,y\nworld,0.6,0.4,1,a,x,y\n", "in.csv");
    expect([d.hasMy, d.hasMz]).toEqual([false, true]);
    expect(plain(d).trials).toEqual([{ label: "a", line: 2, t_s: [0, 1], mx: [0.1, 0.4], my: undefined, mz: [0.3, 0.6] }]);
  });

  it("labels are any strings; numbers accept signs, exponents and leading dots", async () => {
    const d = await parseTeacherText("trial,t,mx\nrun-1,+0,.5\nrun-1,1E-3,-5e-1\nrun-2,1.,1\nrun-2,2,-1\n", "in.csv");
    expect(plain(d).trials.map((t) => [t.label, t.t_s, t.mx])).toEqual([
      ["run-1", [0, 1e-3], [0.5, -0.5]],
      ["run-2", [1, 2], [1, -1]],
    ]);
  });

  it("components up to 1 + 1e-6 are accepted as rounding", async () => {
    const d = await parseTeacherText("t,mx\n0,1.0000009\n1,-1.0000009\n", "in.csv");
    expect([...d.trials[0].mx]).toEqual([1.0000009, -1.0000009]);
  });

  it("scale multiplies mx, my, mz (voltage data) but not t", async () => {
    const d = await parseTeacherText("trial,t,mx,my,mz\n0,0,2,-4,8\n0,1,1,0,-8\n", "in.csv", { scale: 0.125 });
    expect(plain(d).trials[0]).toMatchObject({ t_s: [0, 1], mx: [0.25, 0.125], my: [-0.5, 0], mz: [1, -1] });
    const flipped = await parseTeacherText(GOOD, "in.csv", { scale: -1 });
    expect([...flipped.trials[0].mx]).toEqual([-0.1, -0.4]);
  });

  it("sha256 is that of the bytes, BOM included", async () => {
    const text = `\ufeff${GOOD}`;
    const d = await parseTeacherText(text, "in.csv");
    expect(d.sha256).toBe(createHash("sha256").update(Buffer.from(text)).digest("hex"));
  });

  it("chunk boundaries anywhere (one byte per chunk, BOM split) give the same result, separator detection included", async () => {
    const bytes = Buffer.from(`\ufeff# a, b, c\r\n${GOOD.replace(/,/g, ";").replace(/\n/g, "\r\n")}`);
    const chunks = [...bytes].map((b) => Buffer.of(b));
    const d = plain(await readTeacherFromStream(streamOf(chunks), "in.csv"));
    expect(d).toEqual({ ...GOOD_PLAIN, trials: GOOD_PLAIN.trials.map((t) => ({ ...t, line: t.line + 1 })) });
  });

  it("a stream of strings is read as UTF-8", async () => {
    const d = await readTeacherFromStream(Readable.from(["trial,t,mx\n", "ä,0,0.1\nä,1,0.2\n"]), "in.csv");
    expect(d.trials[0].label).toBe("ä");
  });

  it("a stream of plain Uint8Arrays is read as bytes", async () => {
    const bytes = new TextEncoder().encode(GOOD);
    const d = await readTeacherFromStream(Readable.from([bytes.subarray(0, 7), bytes.subarray(7)], { objectMode: true }), "in.csv");
    expect(plain(d)).toEqual(GOOD_PLAIN);
  });

  it("a stream of things that are not bytes is a TeacherError", async () => {
    const e = await errorOf(readTeacherFromStream(Readable.from([42]), "in.csv"));
    expect(e.message).toMatch(/^in\.csv: cannot read: /);
  });

  it("reads stdin for '-'", async () => {
    const original = Object.getOwnPropertyDescriptor(process, "stdin")!;
    Object.defineProperty(process, "stdin", { value: streamOf([GOOD]), configurable: true });
    try {
      const d = await readTeacher("-");
      expect(d.file).toBe("stdin");
      expect(plain(d)).toEqual(GOOD_PLAIN);
    } finally {
      Object.defineProperty(process, "stdin", original);
    }
  });
});

describe("maxTrials", () => {
  it("keeps the first N complete trials and says it stopped early", async () => {
    const d = await parseTeacherText(GOOD, "in.csv", { maxTrials: 1 });
    expect(d.truncated).toBe(true);
    expect(d.rowsRead).toBe(2);
    expect(plain(d).trials).toEqual(GOOD_PLAIN.trials.slice(0, 1));
  });

  it("is not truncated when the file has exactly N or fewer trials", async () => {
    for (const maxTrials of [2, 3]) {
      const d = await parseTeacherText(GOOD, "in.csv", { maxTrials });
      expect(d.truncated).toBe(false);
      expect(d.trials.length).toBe(2);
    }
  });

  it("ignores the values after the N-th trial (it reads only the next row's label)", async () => {
    const d = await parseTeacherText(`${GOOD}2,0,abc,7,7\n`, "in.csv", { maxTrials: 2 });
    expect(d.trials.length).toBe(2);
    expect(d.truncated).toBe(true);
  });

  it("streams: stops reading an endless input and destroys it", async () => {
    let pulled = 0;
    function* endless(): Generator<Buffer> {
      yield Buffer.from("trial,t,mx,my,mz\n");
      for (let trial = 0; ; trial++) {
        const rows = Array.from({ length: 1000 }, (_, i) => `${trial},${i * 5e-11},0.6,0.8,0\n`).join("");
        pulled++;
        yield Buffer.from(rows);
      }
    }
    const input = Readable.from(endless());
    const d = await readTeacherFromStream(input, "endless.csv", { maxTrials: 3 });
    expect(d.trials.length).toBe(3);
    expect(d.trials.every((t) => t.t_s.length === 1000)).toBe(true);
    expect(d.truncated).toBe(true);
    expect(input.destroyed).toBe(true);
    expect(pulled).toBeLessThan(40);
  });
});

describe("errors: one TeacherError, one line, FILE:LINE:COLUMN", () => {
  const cases: [string, string, TeacherOptions | undefined, string][] = [
    [
      "empty file",
      "",
      undefined,
      "in.csv: empty file: no header and no data; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)",
    ],
    [
      "only comments and blank lines",
      "# a\n\n  # b\n",
      undefined,
      "in.csv: empty file: no header and no data; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)",
    ],
    ["header only", "trial,t,mx\n", undefined, "in.csv: no data rows after the header"],
    [
      "no header: numeric first field",
      "0,0,0.1\n0,1,0.2\n",
      undefined,
      'in.csv:1: no header: the first line starts with the number "0"; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)',
    ],
    [
      "no header: none of the names",
      "a,b,c\n0,0,0.1\n",
      undefined,
      "in.csv:1: no header: the first line names neither a time column nor mx; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)",
    ],
    [
      "no mx column",
      "trial,t,my\n0,0,0.1\n",
      undefined,
      "in.csv:1: no mx column in the header; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)",
    ],
    [
      "no time column",
      "trial,mx\n0,0.1\n",
      undefined,
      "in.csv:1: no time column in the header; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)",
    ],
    [
      "unknown time unit",
      "trial,t_min,mx\n0,0,0.1\n",
      undefined,
      'in.csv:1:2: time column "t_min" has an unknown unit "min"; accepted time columns: t, t_s, t_ms, t_us, t_ns, t_ps, t_fs',
    ],
    [
      "time suffix is case-sensitive",
      "t_NS,mx\n0,0.1\n",
      undefined,
      'in.csv:1:1: time column "t_NS" has an unknown unit "NS"; accepted time columns: t, t_s, t_ms, t_us, t_ns, t_ps, t_fs',
    ],
    ["two time columns", "t_ns,mx,t\n0,0.1,0\n", undefined, 'in.csv:1:3: column "t" is a second time column (the first is "t_ns", column 1); keep one'],
    ["a used column twice", "t,mx,mx\n0,0.1,0.1\n", undefined, 'in.csv:1:3: column "mx" is a second mx column (the first is "mx", column 2); keep one'],
    ["non-numeric cell", "t,mx\n0,0.1\n1,abc\n", undefined, 'in.csv:3:2: mx: expected a finite number, got "abc"'],
    ["NaN", "t,mx\n0,0.1\n1,NaN\n", undefined, 'in.csv:3:2: mx: expected a finite number, got "NaN"'],
    ["inf", "t,mx\n0,0.1\ninf,0.1\n", undefined, 'in.csv:3:1: t: expected a finite number, got "inf"'],
    ["Infinity", "t,mx\n0,0.1\n1,-Infinity\n", undefined, 'in.csv:3:2: mx: expected a finite number, got "-Infinity"'],
    ["overflow to infinity", "t,mx,my\n0,0.1,0.1\n1,0.1,1e999\n", undefined, 'in.csv:3:3: my: expected a finite number, got "1e999"'],
    ["hex is not a number here", "t,mx\n0,0.1\n0x1,0.1\n", undefined, 'in.csv:3:1: t: expected a finite number, got "0x1"'],
    ["empty cell", "t,mx,mz\n0,0.1,0\n1,0.1,\n", undefined, "in.csv:3:3: mz: expected a finite number, got an empty cell"],
    [
      "a long cell is cut short",
      `t,mx\n0,0.1\n1,${"x".repeat(100)}\n`,
      undefined,
      'in.csv:3:2: mx: expected a finite number, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."',
    ],
    ["too few fields", "trial,t,mx\n0,0,0.1\n0,1\n", undefined, "in.csv:3: the row has 2 fields, but the header has 3"],
    ["too many fields", "trial,t,mx\n0,0,0.1\n0,1,0.1,7\n", undefined, "in.csv:3: the row has 4 fields, but the header has 3"],
    ["trial with one sample", "trial,t,mx\n0,0,0.1\n0,1,0.1\n1,0,0.1\n", undefined, 'in.csv:4: trial "1" has 1 sample; at least 2 are needed'],
    ["file with one sample", "t_ns,mx\n# c\n0,0.1\n", undefined, "in.csv:3: the trial has 1 sample; at least 2 are needed"],
    [
      "time decreasing",
      "trial,t,mx\n0,0,0.1\n0,2,0.1\n0,1,0.1\n",
      undefined,
      'in.csv:4:2: t = "1" is not after the previous sample\'s 2; time must increase strictly within trial "0"',
    ],
    [
      "time repeated",
      "trial,t_ns,mx\n0,0,0.1\n0,0.05,0.1\n0,0.05,0.1\n",
      undefined,
      'in.csv:4:2: t_ns = "0.05" is not after the previous sample\'s 0.05; time must increase strictly within trial "0"',
    ],
    [
      "time repeated, no trial column",
      "t,mx\n0,0.1\n0,0.1\n",
      undefined,
      'in.csv:3:1: t = "0" is not after the previous sample\'s 0; time must increase strictly within the trial',
    ],
    [
      "|mx| > 1",
      "t,mx\n0,0.1\n1,1.5\n",
      undefined,
      "in.csv:3:2: mx = 1.5 is outside [-1, 1]; teacher data is the normalized magnetization, and voltage data needs --scale (a factor that maps it into [-1, 1])",
    ],
    [
      "|mz| > 1 + 1e-6",
      "t,mx,mz\n0,0.1,-1.0000011\n",
      undefined,
      "in.csv:2:3: mz = -1.0000011 is outside [-1, 1]; teacher data is the normalized magnetization, and voltage data needs --scale (a factor that maps it into [-1, 1])",
    ],
    [
      "|m| > 1 after scaling",
      "t,mx\n0,0.1\n1,0.6\n",
      { scale: 2 },
      "in.csv:3:2: mx = 1.2 after scaling by 2 is outside [-1, 1]; teacher data is the normalized magnetization, and voltage data needs --scale (a factor that maps it into [-1, 1])",
    ],
    [
      "trial reappears",
      "trial,t,mx\na,0,0.1\na,1,0.1\nb,0,0.1\nb,1,0.1\na,2,0.1\n",
      undefined,
      'in.csv:6:1: trial "a" appears again after trial "b"; it began on line 2 and a trial\'s rows must be contiguous',
    ],
    ["quote not closed", 't,mx\n0,0.1\n"1,0.1\n2,0.1\n', undefined, "in.csv:4: malformed quoting: a quoted field is still open at the end of the file"],
    [
      "text after a closing quote",
      't,mx\n0,0.1\n"1"x,0.1\n',
      undefined,
      'in.csv:3: malformed quoting: a closing quote is followed by more text in the same field (write a quote inside a quoted field as "")',
    ],
    [
      "quote inside an unquoted field",
      't,mx\n0,0.1\n1,0"1\n',
      undefined,
      'in.csv:3: malformed quoting: a quote inside an unquoted field (quote the whole field and write the quote as "")',
    ],
    [
      "error line after a quoted multi-line label",
      'trial,t,mx\n"a\nb",0,0.1\n"a\nb",1,abc\n',
      undefined,
      'in.csv:4:3: mx: expected a finite number, got "abc"',
    ],
    ["CRLF keeps line numbers", "t,mx\r\n\r\n0,0.1\r\n1,abc\r\n", undefined, 'in.csv:4:2: mx: expected a finite number, got "abc"'],
    ["bad delimiter option", GOOD, { delimiter: "##" }, "teacher delimiter must be one character other than a quote, '#' or a line break, got \"##\""],
    ["bad maxTrials option", GOOD, { maxTrials: 0 }, "teacher maxTrials must be a whole number >= 1, got 0"],
    ["bad scale option", GOOD, { scale: Number.NaN }, "teacher scale must be a finite non-zero number, got NaN"],
  ];
  it.each(cases)("%s", async (_name, text, opts, message) => {
    expect(await messageOf(text, opts)).toBe(message);
  });

  it("exact messages for the main kinds", async () => {
    expect(await messageOf("")).toBe(
      "in.csv: empty file: no header and no data; expected a header line such as trial,t,mx,my,mz (trial optional; time as t, t_s, t_ms, t_us, t_ns, t_ps, t_fs; mx required; my, mz optional)",
    );
    expect(await messageOf("t,mx\n0,0.1\n1,abc\n")).toBe('in.csv:3:2: mx: expected a finite number, got "abc"');
    expect(await messageOf("t,mx\n0,0.1\n1,\n")).toBe("in.csv:3:2: mx: expected a finite number, got an empty cell");
    expect(await messageOf("trial,t,mx\n0,0,0.1\n0,1\n")).toBe("in.csv:3: the row has 2 fields, but the header has 3");
    expect(await messageOf("trial,t_min,mx\n")).toBe(
      'in.csv:1:2: time column "t_min" has an unknown unit "min"; accepted time columns: t, t_s, t_ms, t_us, t_ns, t_ps, t_fs',
    );
    expect(await messageOf("trial,t,mx\n0,0,0.1\n0,2,0.1\n0,1,0.1\n")).toBe(
      'in.csv:4:2: t = "1" is not after the previous sample\'s 2; time must increase strictly within trial "0"',
    );
    expect(await messageOf("t,mx\n0,0.1\n1,1.5\n")).toBe(
      "in.csv:3:2: mx = 1.5 is outside [-1, 1]; teacher data is the normalized magnetization, and voltage data needs --scale (a factor that maps it into [-1, 1])",
    );
    expect(await messageOf("trial,t,mx\na,0,0.1\na,1,0.1\nb,0,0.1\nb,1,0.1\na,2,0.1\n")).toBe(
      'in.csv:6:1: trial "a" appears again after trial "b"; it began on line 2 and a trial\'s rows must be contiguous',
    );
    expect(await messageOf("trial,t,mx\n0,0,0.1\n0,1,0.1\n1,0,0.1\n")).toBe('in.csv:4: trial "1" has 1 sample; at least 2 are needed');
    expect(await messageOf('t,mx\n0,0.1\n"1,0.1\n')).toBe("in.csv:3: malformed quoting: a quoted field is still open at the end of the file");
  });

  it("a missing file is a TeacherError naming the file", async () => {
    const e = await errorOf(readTeacher(path.join(BAD, "does-not-exist.csv")));
    expect(e.message).toBe(
      `${path.join(BAD, "does-not-exist.csv")}: cannot read: ENOENT: no such file or directory, open '${path.join(BAD, "does-not-exist.csv")}'`,
    );
  });

  it("a folder is a TeacherError", async () => {
    expect((await errorOf(readTeacher(BAD))).message).toMatch(/^.*bad: cannot read: EISDIR/);
  });

  it("a stream that fails midway is a TeacherError", async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from("t,mx\n0,0.1\n");
      throw new Error("device unplugged");
    }
    expect((await errorOf(readTeacherFromStream(Readable.from(failing()), "usb.csv"))).message).toBe("usb.csv: cannot read: device unplugged");
  });
});

describe("fixtures/bad: the table the CLI test also runs", () => {
  // the table also holds flag cases (file: null), other readers' files and spectrum inputs (whose errors
  // come after the reader: segment length, sampling, table columns); these are the teacher CSVs
  const cases = (JSON.parse(readFileSync(path.join(BAD, "cases.json"), "utf8")) as { file: string | null; args: string[]; message: string }[]).filter(
    (c): c is { file: string; args: string[]; message: string } =>
      typeof c.file === "string" && c.file.endsWith(".csv") && c.args[0] === "sysid" && c.args[1] === `fixtures/bad/${c.file}`,
  );

  it("has one small file per error kind, each listed once", () => {
    expect(cases.length).toBeGreaterThanOrEqual(16);
    expect(new Set(cases.map((c) => c.file)).size).toBe(cases.length);
    for (const c of cases) {
      expect(c.args).toEqual(["sysid", `fixtures/bad/${c.file}`, "--fit", "H_appl"]);
      expect(readFileSync(path.join(BAD, c.file)).length).toBeLessThan(1024);
    }
  });

  it.each(cases.map((c) => [c.file, c.message]))("%s", async (file, message) => {
    const e = await errorOf(readTeacher(path.join(BAD, file)));
    expect(e.message).toContain(message);
  });
});
