/**
 * Teacher data for `stoopt sysid`: the CSV that `stoopt simulate` writes
 * (header `trial,t,mx,my,mz`), read as a stream into one set of Float64Arrays
 * per trial.
 *
 * Format. Columns are found by header name (case-sensitive); extra columns are
 * ignored. `trial` is optional (absent: one trial); a trial's rows must be
 * contiguous. Time is `t` (seconds) or `t_<unit>` with unit s, ms, us, ns, ps
 * or fs, converted to seconds and strictly increasing within a trial. `mx` is
 * required, `my` and `mz` optional; every component lies in [-1, 1] after
 * multiplying by `scale`. UTF-8 with or without BOM, LF or CRLF, `,`, tab or
 * `;` separated (the one that splits the header line into the most fields),
 * whole-line `#` comments and blank lines skipped, quoted fields allowed.
 *
 * Every problem with the input, I/O included, is a TeacherError (exit code 2)
 * with a one-line message `FILE:LINE:COLUMN: what is wrong` (COLUMN is the
 * 1-based field index; `FILE:LINE:` or `FILE:` when no column or line applies).
 */
import { createHash } from "node:crypto";
import { isAscii } from "node:buffer";
import fs from "node:fs";
import { pipeline, Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { CsvError, Info } from "csv-parse";
import { UsageError } from "../errors.js";
import { TIME } from "./units.js";

export interface TeacherTrial {
  label: string;
  t_s: Float64Array;
  mx: Float64Array;
  my?: Float64Array;
  mz?: Float64Array;
  /** 1-based line of the trial's first row */
  line: number;
}

export interface TeacherData {
  file: string;
  trials: TeacherTrial[];
  hasMy: boolean;
  hasMz: boolean;
  /** sha256 of the bytes read (hex); with `truncated`, that is more than the rows used */
  sha256: string;
  /** data rows stored in `trials` */
  rowsRead: number;
  /** stopped early due to maxTrials */
  truncated: boolean;
  /** the column read as the teacher signal (mx, or the `signal` option) */
  signalName: string;
  /** unit of that column from its name (`V_mV` -> mV, `V` -> V, mx -> ""), or "" */
  signalUnit: string;
  /** the time column's header name */
  timeName: string;
  /** the time column's header name (t, t_ns, ...), for messages */
  timeColumn: string;
}

export interface TeacherOptions {
  /** field separator; default: detected from the header line */
  delimiter?: string;
  /** stop after this many complete trials, without reading the rest of the input */
  maxTrials?: number;
  /** factor applied to mx, my, mz (for voltage data); default 1 */
  scale?: number;
  /**
   * Header name of a measured signal column (e.g. `V_mV`) read in place of
   * mx: any finite value, not scaled, not limited to [-1, 1]; my and mz are
   * then ignored. Its unit is taken from the name (`signalUnit`).
   */
  signal?: string;
}

/** Anything wrong with a teacher file: exit code 2, one line. */
export class TeacherError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = "TeacherError";
  }
}

const EXPECTED_HEADER = "trial,t,mx,my,mz";
const TIME_UNITS = ["s", "ms", "us", "ns", "ps", "fs"] as const;
const ACCEPTED_TIME_NAMES = ["t", ...TIME_UNITS.map((u) => `t_${u}`)].join(", ");
const HEADER_HELP = `expected a header line such as ${EXPECTED_HEADER} (trial optional; time as ${ACCEPTED_TIME_NAMES}; mx required; my, mz optional)`;
/** |m| components may exceed 1 by this much (rounding in the writer) */
const M_TOLERANCE = 1e-6;
const DELIMITERS = [",", "\t", ";"] as const;
/** the separator is detected within this many leading bytes (comments included); beyond, it is `,` */
const HEADER_SCAN_LIMIT = 1024 * 1024;
/** a cell in a longer message is cut to this many characters */
const CELL_ECHO_LIMIT = 40;
const NUMBER = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * The number in a cell as NUMBER reads it (NaN if NUMBER does not match),
 * parsed once: Number() accepts the same numbers, plus blank text and
 * 0x/0o/0b literals, which are refused here.
 */
function numberOf(text: string): number {
  const c = text.charCodeAt(0);
  // a digit, '+', '-' or '.' first: only a 0x/0o/0b prefix needs a second look
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    const v = Number(text);
    if (v === v && c === 48 && text.length > 1) {
      const x = text.charCodeAt(1) | 32;
      if (x === 120 || x === 111 || x === 98) return NaN;
    }
    return v;
  }
  return NUMBER.test(text) ? Number(text) : NaN;
}

/** 10^0 .. 10^22: the powers of ten that are exact doubles */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
/** 2^53: integers below it are exact doubles */
const TWO_53 = 9007199254740992;
/** Dekker's splitter 2^27 + 1: a double times it splits into two halves of 26 bits whose products are exact */
const SPLITTER = 134217729;
/** POW10 split by SPLITTER: the high and low halves */
const POW10_HIGH = POW10.map((p) => SPLITTER * p - (SPLITTER * p - p));
const POW10_LOW = POW10.map((p, i) => p - POW10_HIGH[i]);
/** a double's bits, to find its unit in the last place */
const BITS = new Float64Array(1);
const BITS_WORDS = new Uint32Array(BITS.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
/** where `decimalAt` stopped: the first byte after the number */
let decimalEnd = 0;

/**
 * The decimal number (sign, digits with an optional point, optional
 * exponent) at the start of the ASCII bytes `b[from, to)`, or NaN where it is
 * not one that this reads exactly; `decimalEnd` is set to the byte after it.
 * Exactly what `Number()` gives for the same text (the correctly rounded
 * value), by two proofs rather than a general algorithm:
 * - the significant digits make an integer m < 2^53 and the number is
 *   m * 10^e with |e| <= 22: m and 10^|e| are exact doubles, and one IEEE
 *   multiplication or division rounds the exact value correctly (Clinger's
 *   fast path);
 * - m of up to 18 digits, e in [-22, 0]: m is held exactly as the sum of two
 *   doubles, q = m / 10^-e is divided, and the remainder m - q * 10^-e,
 *   computed to far better than the margin used, shows whether q, its upper
 *   or its lower neighbour is within half a unit in the last place; a value
 *   near the middle between two doubles, or next to a power of two, is left
 *   to `Number()`.
 * Anything else (more digits, larger exponents) gives NaN, and the caller
 * reads the text with `numberOf`. Digits are gathered nine at a time in
 * integers: several times faster here than a floating-point multiply-add
 * per digit.
 */
function decimalAt(b: Uint8Array, from: number, to: number): number {
  let i = from;
  let c = i < to ? b[i] : 0;
  const negative = c === 45;
  if (c === 45 || c === 43) c = ++i < to ? b[i] : 0;
  // the significant digits: the first nine in `high`, up to nine more in `low`
  let high = 0;
  let low = 0;
  let nHigh = 0;
  let nLow = 0;
  let e = 0;
  let digits = false;
  let fraction = false;
  for (;;) {
    if (c >= 48 && c <= 57) {
      digits = true;
      if (fraction) e--;
      if (nHigh !== 0 || c !== 48) {
        if (nHigh < 9) {
          high = (high * 10 + (c - 48)) | 0;
          nHigh++;
        } else if (nLow < 9) {
          low = (low * 10 + (c - 48)) | 0;
          nLow++;
        } else return NaN;
      }
    } else if (c === 46 && !fraction) fraction = true;
    else break;
    c = ++i < to ? b[i] : 0;
  }
  if (!digits) return NaN;
  if (c === 101 || c === 69) {
    c = ++i < to ? b[i] : 0;
    const negativeExponent = c === 45;
    if (c === 45 || c === 43) c = ++i < to ? b[i] : 0;
    if (!(c >= 48 && c <= 57)) return NaN;
    let x = 0;
    while (c >= 48 && c <= 57) {
      if (x > 1000) return NaN;
      x = (x * 10 + (c - 48)) | 0;
      c = ++i < to ? b[i] : 0;
    }
    e += negativeExponent ? -x : x;
  }
  decimalEnd = i;
  // m = mHigh + mLow exactly: high * 10^nLow is exact (high < 10^9, 5^nLow <= 5^9: below 2^53 times a power of two)
  const shifted = high * POW10[nLow];
  const mHigh = shifted + low;
  const back = mHigh - shifted;
  const mLow = shifted - (mHigh - back) + (low - back);
  let v: number;
  if (mHigh < TWO_53) {
    if (mHigh === 0 || e === 0) v = mHigh;
    else if (e < 0 && e >= -22) v = mHigh / POW10[-e];
    else if (e > 0 && e <= 22) v = mHigh * POW10[e];
    else return NaN;
  } else if (e === 0) v = mHigh;
  else if (e < 0 && e >= -22) {
    v = dividedExactly(mHigh, mLow, -e);
    if (v !== v) return NaN;
  } else return NaN;
  return negative ? -v : v;
}

/** For tests: `decimalAt` on the whole of an ASCII text (NaN where it stops before the end). */
export function decimalOf(text: string): number {
  const v = decimalAt(Buffer.from(text, "latin1"), 0, text.length);
  return decimalEnd === text.length ? v : NaN;
}

/** (mHigh + mLow) / 10^j correctly rounded, for an integer mHigh + mLow in [2^53, 10^18] and j <= 22; NaN where too close to call. */
function dividedExactly(mHigh: number, mLow: number, j: number): number {
  const p = POW10[j];
  const q = mHigh / p;
  // q * p exactly as qp + qpLow (Dekker's product)
  const qp = q * p;
  const split = SPLITTER * q;
  const qHigh = split - (split - q);
  const qLow = q - qHigh;
  const pHigh = POW10_HIGH[j];
  const pLow = POW10_LOW[j];
  const qpLow = qHigh * pHigh - qp + qHigh * pLow + qLow * pHigh + qLow * pLow;
  // m - q * p: mHigh - qp is exact (they are within a factor of two); the rest is tiny beside the margin below
  const r = mHigh - qp + (mLow - qpLow);
  BITS[0] = q;
  const word = BITS_WORDS[HIGH_WORD];
  const exponent = (word >>> 20) & 0x7ff;
  // at or just above a power of two the halves of the rounding interval differ: leave it to Number()
  if ((word & 0xfffff) === 0 && BITS_WORDS[1 - HIGH_WORD] <= 1) return NaN;
  BITS_WORDS[HIGH_WORD] = (exponent - 52) << 20;
  BITS_WORDS[1 - HIGH_WORD] = 0;
  const ulp = BITS[0];
  // half a unit in the last place of q, in units of m; decided only with room to spare
  const half = (p * ulp) / 2;
  const margin = half * 2 ** -20;
  if (Math.abs(r) < half - margin) return q;
  if (r > 0 && Math.abs(r - 2 * half) < half - margin) return q + ulp;
  if (r < 0 && Math.abs(r + 2 * half) < half - margin) return q - ulp;
  return NaN;
}

/** Read teacher data from a file, or from stdin when `file` is `-`. */
export async function readTeacher(file: string, opts: TeacherOptions = {}): Promise<TeacherData> {
  if (file === "-") return readTeacherFromStream(process.stdin, "stdin", opts);
  let size: number | undefined;
  try {
    const st = fs.statSync(file);
    if (st.isFile()) size = st.size;
  } catch {
    // the read below reports it
  }
  return readTeacherFromStream(fs.createReadStream(file), file, { ...opts, sizeHint: size });
}

/** Convenience for tests: read teacher data from a string. */
export function parseTeacherText(text: string, name: string, opts: TeacherOptions = {}): Promise<TeacherData> {
  return readTeacherFromStream(Readable.from([Buffer.from(text, "utf8")]), name, opts);
}

/**
 * Read teacher data from a byte stream named `name` in messages. The stream is
 * destroyed when this returns or throws, so `maxTrials` stops reading early.
 */
export async function readTeacherFromStream(
  stream: NodeJS.ReadableStream,
  name: string,
  opts: TeacherOptions & { sizeHint?: number; asText?: boolean } = {},
): Promise<TeacherData> {
  const options = checkOptions(opts);
  options.sizeHint = opts.sizeHint;
  const hash = new StreamHash();
  const source = bytesOf(stream, name, hash);
  try {
    const { head, headerLine } = await scanToHeaderLine(source);
    const delimiter = options.delimiter ?? detectDelimiter(headerLine);
    let reader = undefined as TrialReader | undefined;
    const rowSink = (row: Row): boolean => {
      if (reader === undefined) {
        checkSplits(row.fields, headerLine, delimiter, options.delimiter !== undefined, name);
        reader = new TrialReader(name, layoutOf(row, name, options.signal), options, delimiter);
      } else if (!reader.add(row)) return false;
      return true;
    };
    const lineSink = (bytes: Uint8Array, from: number, to: number): boolean => reader !== undefined && reader.addLine(bytes, from, to);
    // asText (for tests): every line decoded and split as text, the way the byte path must agree with
    await readRows(replay(head, source), delimiter, rowSink, opts.asText ? undefined : lineSink);
    if (reader === undefined) throw new TeacherError(`${name}: empty file: no header and no data; ${HEADER_HELP}`);
    return reader.finish(hash.digest());
  } catch (err) {
    throw csvParse !== undefined && err instanceof csvParse.CsvError ? fromCsvError(err, name) : err;
  } finally {
    destroy(stream);
  }
}

// ---------------------------------------------------------------------------
// Options and messages

interface CheckedOptions {
  /** bytes in the input, if known: the columns are sized from it */
  sizeHint?: number;
  delimiter?: string;
  maxTrials: number;
  scale: number;
  signal?: string;
}

function checkOptions(opts: TeacherOptions): CheckedOptions {
  const { delimiter, maxTrials = Infinity, scale = 1, signal } = opts;
  if (delimiter !== undefined && (delimiter.length !== 1 || `"#\r\n`.includes(delimiter))) {
    throw new TeacherError(`teacher delimiter must be one character other than a quote, '#' or a line break, got ${echo(delimiter)}`);
  }
  if (maxTrials !== Infinity && !(Number.isInteger(maxTrials) && maxTrials >= 1)) {
    throw new TeacherError(`teacher maxTrials must be a whole number >= 1, got ${maxTrials}`);
  }
  if (!(Number.isFinite(scale) && scale !== 0)) throw new TeacherError(`teacher scale must be a finite non-zero number, got ${scale}`);
  return { delimiter, maxTrials, scale, signal };
}

/** Voltage units a signal column's name may end in (`V_mV`), with their factor to volts. */
export const SIGNAL_UNITS: Record<string, number> = { V: 1, mV: 1e-3, uV: 1e-6, µV: 1e-6, nV: 1e-9, kV: 1e3 };

/** The unit in a signal column's name: `V_mV` -> mV, `V` -> V, `x_uV` -> uV; "" if none. */
export function signalUnitOf(name: string): string {
  const m = /_([^_]+)$/.exec(name) ?? /[[(]\s*([^\])]+?)\s*[\])]$/.exec(name);
  if (m && SIGNAL_UNITS[m[1]] !== undefined) return m[1];
  return SIGNAL_UNITS[name] !== undefined ? name : "";
}

/** `FILE:LINE:COLUMN` (COLUMN 1-based, from the 0-based `field`), `FILE:LINE` or `FILE`. */
function at(file: string, line?: number, field?: number): string {
  return [file, line, field === undefined ? undefined : field + 1].filter((p) => p !== undefined).join(":");
}

/** A cell or header name quoted for a one-line message. */
function echo(text: string): string {
  const cut = text.length > CELL_ECHO_LIMIT ? `${text.slice(0, CELL_ECHO_LIMIT)}...` : text;
  return JSON.stringify(cut);
}

const TEXT_AFTER_CLOSING_QUOTE = 'malformed quoting: a closing quote is followed by more text in the same field (write a quote inside a quoted field as "")';
/** csv-parse's error codes in words; other codes keep csv-parse's message */
const CSV_PROBLEMS: Partial<Record<string, string>> = {
  CSV_QUOTE_NOT_CLOSED: "malformed quoting: a quoted field is still open at the end of the file",
  CSV_INVALID_CLOSING_QUOTE: TEXT_AFTER_CLOSING_QUOTE,
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: TEXT_AFTER_CLOSING_QUOTE,
  INVALID_OPENING_QUOTE: 'malformed quoting: a quote inside an unquoted field (quote the whole field and write the quote as "")',
};

function fromCsvError(err: CsvError, file: string): TeacherError {
  const line = typeof err.lines === "number" ? err.lines : undefined;
  const what = CSV_PROBLEMS[err.code] ?? `cannot parse the CSV: ${err.message.replace(/\s+/g, " ")}`;
  return new TeacherError(`${at(file, line)}: ${what}`);
}

// ---------------------------------------------------------------------------
// Bytes: hashing, the header line, the separator

/** sha256 of everything read; updates after the digest (a destroyed stream's last chunk) are ignored. */
class StreamHash {
  private readonly hash = createHash("sha256");
  private done = false;
  update(chunk: Buffer): void {
    if (!this.done) this.hash.update(chunk);
  }
  digest(): string {
    this.done = true;
    return this.hash.digest("hex");
  }
}

/** The stream's chunks as Buffers, hashed; a read failure becomes a TeacherError. */
async function* bytesOf(stream: NodeJS.ReadableStream, file: string, hash: StreamHash): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string | Uint8Array);
      hash.update(bytes);
      yield bytes;
    }
  } catch (err) {
    throw new TeacherError(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Read chunks until the first line that is neither blank nor a `#` comment is
 * complete. Returns the chunks read (to be parsed again) and that line, or
 * undefined if there is none in the input or its first HEADER_SCAN_LIMIT bytes
 * (then a very long header line is returned cut short).
 */
async function scanToHeaderLine(source: AsyncGenerator<Buffer>): Promise<{ head: Buffer[]; headerLine: string | undefined }> {
  const head: Buffer[] = [];
  // latin1 keeps every ASCII byte (separators, '#', line breaks) as itself
  let partial = "";
  let bytes = 0;
  for (;;) {
    const next = await source.next();
    if (next.done) return { head, headerLine: isContent(partial) ? partial : undefined };
    head.push(next.value);
    bytes += next.value.length;
    partial += next.value.toString("latin1");
    if (partial.length === bytes) partial = partial.replace(/^\xef\xbb\xbf/, ""); // still on the first line: drop a BOM
    const lines = partial.split(/\r\n|\r|\n/);
    partial = lines.pop() ?? "";
    const found = lines.find(isContent);
    if (found !== undefined) return { head, headerLine: found };
    if (bytes > HEADER_SCAN_LIMIT) return { head, headerLine: isContent(partial) ? partial : undefined };
  }
}

function isContent(line: string): boolean {
  const s = line.trim();
  return s !== "" && !s.startsWith("#");
}

/** The separator among `,` tab `;` that splits the header line into the most fields (`,` on ties). */
function detectDelimiter(headerLine: string | undefined): string {
  const line = headerLine ?? "";
  let best: string = DELIMITERS[0];
  for (const d of DELIMITERS) if (line.split(d).length > line.split(best).length) best = d;
  return best;
}

/** A header that the delimiter does not split: say so, and which delimiter it looks like. */
function checkSplits(header: string[], headerLine: string | undefined, delimiter: string, given: boolean, file: string): void {
  if (header.length > 1) return;
  const line = headerLine ?? "";
  const other = DELIMITERS.find((d) => d !== delimiter && line.split(d).length > 1);
  const shown = (d: string) => (d === "\t" ? "tab" : echo(d));
  if (given) {
    throw new TeacherError(
      `${file}:1: --delimiter ${shown(delimiter)} does not split the header line ${echo(line.slice(0, 60))}${other !== undefined ? `; it looks ${shown(other)}-separated` : ""}`,
    );
  }
  throw new TeacherError(
    `${file}:1: none of the delimiters ${DELIMITERS.map(shown).join(", ")} splits the header line ${echo(line.slice(0, 60))}; give the field separator with --delimiter`,
  );
}

async function* replay(head: Buffer[], rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  yield* rest;
}

function destroy(stream: NodeJS.ReadableStream): void {
  const s = stream as NodeJS.ReadableStream & { destroy?: () => void };
  s.destroy?.();
}

// ---------------------------------------------------------------------------
// Rows: a fast path for plain lines, csv-parse for the rest

/** csv-parse, loaded when a line needs it (most files have none: a quote, a `#` after the first character, a lone CR) */
let csvParse: typeof import("csv-parse") | undefined;

/** csv-parse's settings for the teacher format (the reference for what the fast path accepts). */
async function csvParser(delimiter: string) {
  csvParse ??= await import("csv-parse");
  return csvParse.parse({
    bom: true,
    comment: "#",
    comment_no_infix: true,
    trim: true,
    skip_empty_lines: true,
    relax_quotes: false,
    relax_column_count: true,
    info: true,
    delimiter,
  });
}

/** Characters csv-parse's `trim` removes around a field: tab, LF, form feed, CR, space. */
function isTrimmed(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 12 || code === 13;
}

function trimField(f: string): string {
  let a = 0;
  let b = f.length;
  while (a < b && isTrimmed(f.charCodeAt(a))) a++;
  while (b > a && isTrimmed(f.charCodeAt(b - 1))) b--;
  return a === 0 && b === f.length ? f : f.slice(a, b);
}

/**
 * The records of the input, each handed to `sink` (which returns false to
 * stop). Measured: csv-parse alone reads about 17 MB/s of CPU time on a
 * teacher file here, short of what a scope export needs, so plain lines (no
 * quote, no `#` after the first character, no lone CR, not only blanks) are
 * split here with the same result csv-parse gives them: fields split at the
 * delimiter and trimmed of tab, LF, FF, CR and space, blank lines and `#`
 * lines skipped. From the first line that is not plain to the end, csv-parse
 * reads the rest, its line numbers counted on from there.
 *
 * Lines are found in the bytes (a line break, a quote, `#` and the
 * delimiters are single bytes in UTF-8, never part of another character),
 * and each plain line that is ASCII is first offered to `lineSink`, which
 * reads a good sample's numbers from the bytes where they lie: no string,
 * fields array or row object per line. A line it does not take, or one with
 * other characters, is decoded and becomes a row for `sink` as before. With
 * `lineSink` undefined (tests), the text is decoded and split as strings, as
 * the byte path must agree with.
 */
async function readRows(
  chunks: AsyncIterable<Buffer>,
  delimiter: string,
  sink: (row: Row) => boolean,
  lineSink?: (bytes: Uint8Array, from: number, to: number) => boolean,
): Promise<void> {
  const decoder = new StringDecoder("utf8");
  const iterator = chunks[Symbol.asyncIterator]();
  /** lines are read from the bytes, and the unfinished line is `carryBytes`; false: as text, `carry` */
  let asBytes = lineSink !== undefined;
  let carryBytes: Buffer = Buffer.alloc(0);
  let carry = "";
  let line = 0;
  let first = true;
  /** a plain line's fields: split at the delimiter and trimmed */
  const rowOf = (l: string, endLine: number): Row => {
    const fields = l.split(delimiter);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (f.length && (isTrimmed(f.charCodeAt(0)) || isTrimmed(f.charCodeAt(f.length - 1)))) fields[i] = trimField(f);
    }
    return { fields, endLine };
  };
  /** The line bytes[from, to) to the sinks: the fast path if it is ASCII and takes it, else as a row of decoded text. */
  const take = (bytes: Buffer, from: number, to: number, ascii: boolean): boolean => {
    if ((ascii || isAscii(bytes.subarray(from, to))) && lineSink!(bytes, from, to)) return true;
    return sink(rowOf(bytes.toString(ascii ? "latin1" : "utf8", from, to), line));
  };
  /** `plain` on the bytes of whole lines (and the last, unfinished one): the same lines, the same decisions */
  const plainBytes = (bytes: Buffer, final: boolean): false | string | undefined => {
    let pos = 0;
    const ascii = isAscii(bytes);
    // the next quote, '#' and CR at or after pos (-1: none left); lines need a closer look only if there is one
    let quote = bytes.indexOf(34);
    let hash = bytes.indexOf(35);
    let cr = bytes.indexOf(13);
    const special = quote >= 0 || hash >= 0 || cr >= 0;
    for (;;) {
      let nl = bytes.indexOf(10, pos);
      if (nl < 0) {
        if (!final || pos >= bytes.length) break;
        nl = bytes.length;
      }
      let end = nl;
      if (end > pos && bytes[end - 1] === 13) end--;
      if (end === pos) {
        line++;
        pos = nl + 1;
        continue;
      }
      const c = bytes[pos];
      if (!special && c !== 35 && !isTrimmed(c)) {
        line++;
        if (!take(bytes, pos, end, ascii)) return false;
        pos = nl + 1;
        continue;
      }
      if (quote >= 0 && quote < pos) quote = bytes.indexOf(34, pos);
      if (hash >= 0 && hash < pos) hash = bytes.indexOf(35, pos);
      if (cr >= 0 && cr < pos) cr = bytes.indexOf(13, pos);
      const inLine = (at: number): boolean => at >= 0 && at < end;
      if (c === 35 /* # */) {
        // a comment line, unless a CR makes it more than that
        if (inLine(cr)) return decoder.write(bytes.subarray(pos));
        line++;
        pos = nl + 1;
        continue;
      }
      if (inLine(quote) || inLine(hash) || inLine(cr) || (isTrimmed(c) && isBlank(bytes, pos, end))) return decoder.write(bytes.subarray(pos));
      line++;
      if (!take(bytes, pos, end, ascii)) return false;
      pos = nl + 1;
    }
    carryBytes = bytes.subarray(pos);
    return undefined;
  };
  /** false: the sink stopped; a string: the unread text from the first line that is not plain */
  const plain = (text: string, final: boolean): false | string | undefined => {
    let pos = 0;
    // lines need a closer look only if the text has a quote, '#' or CR at all
    const special = text.indexOf('"') >= 0 || text.indexOf("#") >= 0 || text.indexOf("\r") >= 0;
    for (;;) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) {
        if (!final || pos >= text.length) break;
        nl = text.length;
      }
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      const l = text.slice(pos, end);
      if (l.length === 0) {
        line++;
        pos = nl + 1;
        continue;
      }
      if (l.charCodeAt(0) === 35 /* # */) {
        // a comment line, unless a quote or CR makes it more than that
        if (l.indexOf("\r") >= 0) return text.slice(pos);
        line++;
        pos = nl + 1;
        continue;
      }
      if ((special && (l.indexOf('"') >= 0 || l.indexOf("#") >= 0 || l.indexOf("\r") >= 0)) || (isTrimmed(l.charCodeAt(0)) && trimField(l).length === 0))
        return text.slice(pos);
      line++;
      if (!sink(rowOf(l, line))) return false;
      pos = nl + 1;
    }
    carry = text.slice(pos);
    return undefined;
  };
  for (;;) {
    const next = await iterator.next();
    if (asBytes && !next.done) {
      let bytes = carryBytes.length ? Buffer.concat([carryBytes, next.value]) : next.value;
      if (first && bytes.length) {
        // a BOM at the start goes, as the decoder drops it; one cut by the chunk's end, or any odd start, is read as text
        if (bytes.length < 3 && bytes[0] >= 0x80) {
          asBytes = false;
          carry = decoder.write(bytes);
          continue;
        }
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
        first = false;
      }
      // a file with lone CR line breaks has no LF to split at: csv-parse reads it
      const rest = bytes.indexOf(10) < 0 && bytes.indexOf(13) >= 0 ? decoder.write(bytes) : plainBytes(bytes, false);
      if (rest === false) return;
      if (typeof rest === "string") return csvRows(rest, iterator, decoder, delimiter, line, sink);
      continue;
    }
    if (asBytes) {
      // the end of the input: its last line, if it has no line break
      const rest = carryBytes.indexOf(10) < 0 && carryBytes.indexOf(13) >= 0 ? decoder.write(carryBytes) : plainBytes(carryBytes, true);
      if (typeof rest === "string") return csvRows(rest, iterator, decoder, delimiter, line, sink);
      return;
    }
    let text = next.done ? carry + decoder.end() : carry + decoder.write(next.value);
    if (first && text.length) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    // a file with lone CR line breaks has no LF to split at: csv-parse reads it
    const rest = text.indexOf("\n") < 0 && text.indexOf("\r") >= 0 ? text : plain(text, Boolean(next.done));
    if (rest === false) return;
    if (typeof rest === "string") return csvRows(rest, iterator, decoder, delimiter, line, sink);
    if (next.done) return;
  }
}

/** The bytes b[from, to) are all characters csv-parse's `trim` removes. */
function isBlank(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isTrimmed(b[i])) return false;
  return true;
}

/** The rest of the input through csv-parse; its line numbers start after `linesBefore`. */
async function csvRows(
  text: string,
  iterator: AsyncIterator<Buffer>,
  decoder: StringDecoder,
  delimiter: string,
  linesBefore: number,
  sink: (row: Row) => boolean,
): Promise<void> {
  async function* remaining(): AsyncGenerator<string> {
    yield text;
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      yield decoder.write(next.value);
    }
    const tail = decoder.end();
    if (tail) yield tail;
  }
  const parser = await csvParser(delimiter);
  pipeline(Readable.from(remaining()), parser, () => undefined);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      if (!sink({ fields: record, endLine: info.lines + linesBefore })) return;
    }
  } catch (err) {
    if (err instanceof csvParse!.CsvError && typeof err.lines === "number") err.lines += linesBefore;
    throw err;
  } finally {
    parser.destroy();
  }
}

// ---------------------------------------------------------------------------
// Records: header, rows, trials

/** A parsed record and the line it ends on (later than its first line if a quoted field spans lines). */
interface Row {
  fields: string[];
  endLine: number;
}

/** The 1-based line a record starts on. */
function firstLine(row: Row): number {
  let breaks = 0;
  for (const f of row.fields) breaks += f.match(/\r\n|\r|\n/g)?.length ?? 0;
  return row.endLine - breaks;
}

/** Where the used columns are (0-based field indices). */
interface Layout {
  width: number;
  trial?: number;
  time: number;
  /** time header name, for messages */
  timeName: string;
  /** factor from the time column's unit to seconds */
  toSeconds: number;
  mx: number;
  my?: number;
  mz?: number;
  /** set when the mx slot holds a named measured signal */
  signalName?: string;
}

type Role = "trial" | "time" | "mx" | "my" | "mz";

/** The role of a header name, or undefined for an ignored column; throws on `t_<unknown unit>`. */
function roleOf(name: string, where: string): { role: Role; toSeconds?: number } | undefined {
  if (name === "trial" || name === "mx" || name === "my" || name === "mz") return { role: name };
  // a bare "time" names the time column only with --signal (a scope's export); here t, t_<unit>, time_<unit>, t [unit]
  if (isTimeName(name) && !/^time$/i.test(name)) return { role: "time", toSeconds: timeRoleOf(name, where) };
  return undefined;
}

function layoutOf(row: Row, file: string, signal?: string): Layout {
  const line = firstLine(row);
  const names = row.fields;
  if (signal !== undefined) return signalLayoutOf(row, file, signal);
  if (NUMBER.test(names[0])) throw new TeacherError(`${at(file, line)}: no header: the first line starts with the number ${echo(names[0])}; ${HEADER_HELP}`);
  const found: Partial<Record<Role, number>> = {};
  let toSeconds = 1;
  names.forEach((name, i) => {
    const where = at(file, line, i);
    const r = roleOf(name, where);
    if (r === undefined) return;
    const previous = found[r.role];
    if (previous !== undefined) {
      throw new TeacherError(
        `${where}: column ${echo(name)} is a second ${r.role} column (the first is ${echo(names[previous])}, column ${previous + 1}); keep one`,
      );
    }
    found[r.role] = i;
    if (r.toSeconds !== undefined) toSeconds = r.toSeconds;
  });
  const { trial, time, mx, my, mz } = found;
  if (time === undefined && mx === undefined)
    throw new TeacherError(`${at(file, line)}: no header: the first line names neither a time column nor mx; ${HEADER_HELP}`);
  if (mx === undefined) throw new TeacherError(`${at(file, line)}: no mx column in the header; ${HEADER_HELP}`);
  if (time === undefined) throw new TeacherError(`${at(file, line)}: no time column in the header; ${HEADER_HELP}`);
  return { width: names.length, trial, time, timeName: names[time], toSeconds, mx, my, mz };
}

/** The layout with a named signal column in place of mx (my, mz ignored). */
function signalLayoutOf(row: Row, file: string, signal: string): Layout {
  const line = firstLine(row);
  const names = row.fields;
  if (NUMBER.test(names[0])) throw new TeacherError(`${at(file, line)}: no header: the first line starts with the number ${echo(names[0])}; ${HEADER_HELP}`);
  const index = names.indexOf(signal);
  if (index < 0)
    throw new TeacherError(`${at(file, line)}: --signal: no column ${echo(signal)} in the header (columns: ${names.map((n) => echo(n)).join(", ")})`);
  let time: number | undefined;
  let trial: number | undefined;
  let toSeconds = 1;
  names.forEach((name, i) => {
    if (i === index) return;
    if (name === "trial") trial = i;
    const r = isTimeName(name) ? timeRoleOf(name, at(file, line, i)) : undefined;
    if (r === undefined) return;
    if (time !== undefined)
      throw new TeacherError(
        `${at(file, line, i)}: column ${echo(name)} is a second time column (the first is ${echo(names[time])}, column ${time + 1}); keep one`,
      );
    time = i;
    toSeconds = r;
  });
  if (time === undefined) throw new TeacherError(`${at(file, line)}: no time column in the header; time as ${ACCEPTED_TIME_NAMES} (or time, time_ns, ...)`);
  return { width: names.length, trial, time, timeName: names[time], toSeconds, mx: index, signalName: signal };
}

/** `t [ns]`, `Time (ns)`: a time column with its unit in brackets */
const TIME_BRACKET = /^(t|time)\s*[[(]\s*([^\])]+?)\s*[\])]$/i;

/** A time column's name: t, time, t_<unit>, time_<unit>, or with the unit in brackets. */
function isTimeName(name: string): boolean {
  return name === "t" || name.startsWith("t_") || /^time$/i.test(name) || /^time_/i.test(name) || TIME_BRACKET.test(name);
}

/** Factor to seconds of a time column named `t`, `time`, `t_<unit>` or `time_<unit>`. */
function timeRoleOf(name: string, where: string): number {
  const b = TIME_BRACKET.exec(name);
  const unit = b ? b[2] : name === "t" || name.toLowerCase() === "time" ? "s" : name.slice(name.indexOf("_") + 1);
  if (!(TIME_UNITS as readonly string[]).includes(unit)) {
    throw new TeacherError(`${where}: time column ${echo(name)} has an unknown unit ${echo(unit)}; accepted time columns: ${ACCEPTED_TIME_NAMES}`);
  }
  return TIME.suffixes[unit];
}

/**
 * One column of the whole file in a Float64Array (in shared memory, so worker
 * threads read it without a copy) that grows geometrically; `reserve` sizes
 * it from an estimate of the rows. `take` ends the current trial's range;
 * `done` returns the column, cut to its length by a copy only when much of it
 * is unused, and the trials become views into it.
 */
class Column {
  private data = Column.alloc(1 << 14);
  private length = 0;
  private start = 0;
  /** growth factor once the size is estimated */
  private factor = 2;
  private static alloc(n: number): Float64Array {
    return new Float64Array(new SharedArrayBuffer(8 * n), 0, n);
  }
  private resize(n: number): void {
    const grown = Column.alloc(n);
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
  reserve(n: number): void {
    if (n > this.data.length) this.resize(n);
    this.factor = 1.25;
  }
  push(v: number): void {
    if (this.length === this.data.length) this.resize(Math.ceil(this.factor * this.data.length) + 16);
    this.data[this.length++] = v;
  }
  /** samples in the current trial */
  get size(): number {
    return this.length - this.start;
  }
  /** the current trial's [begin, end) in the column; the next trial starts after it */
  take(): [number, number] {
    const range: [number, number] = [this.start, this.length];
    this.start = this.length;
    return range;
  }
  done(): Float64Array {
    if (this.start < 0.85 * this.data.length) this.resize(this.start);
    const out = this.data.subarray(0, this.start);
    this.data = Column.alloc(0);
    return out;
  }
}

const NO_SAMPLES = new Float64Array(0);
/** what a field is to `addLine`: ignored (0), the trial label, or a number read into `values` at that index */
const ROLE_TRIAL = 1;
const ROLE_TIME = 2;
const ROLE_MX = 3;
const ROLE_MY = 4;
const ROLE_MZ = 5;

/** The end of the field starting at `from` in the line ending at `to`: the next delimiter, or `to`. */
function fieldEnd(b: Uint8Array, from: number, to: number, d: number): number {
  for (let i = from; i < to; i++) if (b[i] === d) return i;
  return to;
}

/** ASCII bytes as a string. */
function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString("latin1");
}
/** rows whose text length estimates the row count from the input's size */
const ROWS_TO_ESTIMATE = 2000;

/** The trial being read. */
interface OpenTrial {
  label: string;
  line: number;
  /** the previous sample's time in the file's unit */
  lastTime: number;
}

/** Takes the data rows after the header, checks them, and collects the trials. */
class TrialReader {
  private readonly t = new Column();
  private readonly mx = new Column();
  private readonly my = new Column();
  private readonly mz = new Column();
  private open?: OpenTrial;
  private readonly trials: TeacherTrial[] = [];
  /** each trial's [begin, end) in the columns */
  private readonly ranges: [number, number][] = [];
  /** characters in the first rows (fields and separators), for the estimate */
  private rowChars = 0;
  /** label -> line of the trial's first row, for every trial begun */
  private readonly seen = new Map<string, number>();
  private rows = 0;
  private truncated = false;

  /** the delimiter's byte, and each field's role for `addLine` (the ROLE_ codes) */
  private readonly delimiterCode: number;
  private readonly roles: Uint8Array;
  /** the values of a line's used cells, by role */
  private readonly values = new Float64Array(6);

  constructor(
    private readonly file: string,
    private readonly layout: Layout,
    private readonly options: CheckedOptions,
    delimiter = ",",
  ) {
    this.delimiterCode = delimiter.charCodeAt(0);
    this.roles = new Uint8Array(layout.width);
    if (layout.trial !== undefined) this.roles[layout.trial] = ROLE_TRIAL;
    this.roles[layout.time] = ROLE_TIME;
    this.roles[layout.mx] = ROLE_MX;
    if (layout.my !== undefined) this.roles[layout.my] = ROLE_MY;
    if (layout.mz !== undefined) this.roles[layout.mz] = ROLE_MZ;
  }

  /**
   * The fast path for one plain ASCII line `b[from, to)` (no quote, '#' or
   * CR): a good sample of the open trial is read from the bytes where its
   * cells lie, without a string, fields array or row object. Any other line
   * (another trial, a cell to trim, the wrong number of fields, a cell that is
   * not a finite number, time not after the previous sample, a component out
   * of range) returns false having changed nothing, and `add` takes it as a
   * row, with its message if it is wrong. The first rows go to `add` as well
   * (for the estimate of the input's rows).
   */
  addLine(b: Uint8Array, from: number, to: number): boolean {
    const open = this.open;
    if (open === undefined || (this.rows < ROWS_TO_ESTIMATE && this.options.sizeHint !== undefined)) return false;
    const roles = this.roles;
    const values = this.values;
    const d = this.delimiterCode;
    const last = roles.length - 1;
    let p = from;
    for (let i = 0; i <= last; i++) {
      const role = roles[i];
      let e: number;
      if (role >= ROLE_TIME) {
        let v = decimalAt(b, p, to);
        e = decimalEnd;
        if (v !== v || (e < to && b[e] !== d)) {
          // not a number decimalAt reads exactly: the cell's text as `cell` reads it
          e = fieldEnd(b, p, to, d);
          if (e === p || isTrimmed(b[p]) || isTrimmed(b[e - 1])) return false;
          v = numberOf(latin1(b, p, e));
          if (!Number.isFinite(v)) return false;
        }
        values[role] = v;
      } else if (role === ROLE_TRIAL) {
        const label = open.label;
        e = p + label.length;
        if (e > to || (e < to && b[e] !== d)) return false;
        for (let k = 0; k < label.length; k++) if (b[p + k] !== label.charCodeAt(k)) return false;
      } else e = fieldEnd(b, p, to, d);
      // exactly one field per role, and no more
      if (i < last) {
        if (e >= to) return false;
        p = e + 1;
      } else if (e !== to) return false;
    }
    const t = values[ROLE_TIME];
    if (!(t > open.lastTime)) return false;
    const { toSeconds, my, mz, signalName } = this.layout;
    const scale = this.options.scale;
    const x = signalName === undefined ? values[ROLE_MX] * scale : values[ROLE_MX];
    const y = values[ROLE_MY] * scale;
    const z = values[ROLE_MZ] * scale;
    if (signalName === undefined ? !(Math.abs(x) <= 1 + M_TOLERANCE) : !Number.isFinite(x)) return false;
    if (my !== undefined && !(Math.abs(y) <= 1 + M_TOLERANCE)) return false;
    if (mz !== undefined && !(Math.abs(z) <= 1 + M_TOLERANCE)) return false;
    open.lastTime = t;
    this.t.push(t * toSeconds);
    this.mx.push(x);
    if (my !== undefined) this.my.push(y);
    if (mz !== undefined) this.mz.push(z);
    this.rows++;
    return true;
  }

  /** Take one data row; false when maxTrials trials are complete and this row begins another. */
  add(row: Row): boolean {
    if (row.fields.length !== this.layout.width) {
      throw new TeacherError(`${at(this.file, firstLine(row))}: the row has ${row.fields.length} fields, but the header has ${this.layout.width}`);
    }
    if (this.rows < ROWS_TO_ESTIMATE && this.options.sizeHint !== undefined) this.estimate(row);
    const label = this.layout.trial === undefined ? "0" : row.fields[this.layout.trial];
    let open = this.open;
    if (open === undefined || label !== open.label) {
      if (open !== undefined) this.closeTrial(open);
      if (this.trials.length >= this.options.maxTrials) {
        this.truncated = true;
        return false;
      }
      open = this.openTrial(label, row, open);
    }
    this.addSample(row, open);
    return true;
  }

  finish(sha256: string): TeacherData {
    if (this.open !== undefined) this.closeTrial(this.open);
    if (this.trials.length === 0) throw new TeacherError(`${this.file}: no data rows after the header`);
    const views = (c: Column, set: (tr: TeacherTrial, v: Float64Array) => void): void => {
      const all = c.done();
      this.trials.forEach((tr, i) => set(tr, all.subarray(...this.ranges[i])));
    };
    views(this.t, (tr, v) => (tr.t_s = v));
    views(this.mx, (tr, v) => (tr.mx = v));
    if (this.layout.my !== undefined) views(this.my, (tr, v) => (tr.my = v));
    if (this.layout.mz !== undefined) views(this.mz, (tr, v) => (tr.mz = v));
    return {
      file: this.file,
      trials: this.trials,
      hasMy: this.layout.my !== undefined,
      hasMz: this.layout.mz !== undefined,
      sha256,
      rowsRead: this.rows,
      truncated: this.truncated,
      signalName: this.layout.signalName ?? "mx",
      signalUnit: this.layout.signalName === undefined ? "" : signalUnitOf(this.layout.signalName),
      timeName: this.layout.timeName,
      timeColumn: this.layout.timeName,
    };
  }

  /** After the first rows: size the columns for the rows the input's size suggests. */
  private estimate(row: Row): void {
    for (const f of row.fields) this.rowChars += f.length + 1;
    if (this.rows + 1 < ROWS_TO_ESTIMATE) return;
    const rows = Math.ceil((1.02 * this.options.sizeHint!) / (this.rowChars / ROWS_TO_ESTIMATE));
    for (const c of [this.t, this.mx, this.layout.my !== undefined ? this.my : undefined, this.layout.mz !== undefined ? this.mz : undefined]) c?.reserve(rows);
  }

  private trialName(label: string): string {
    return this.layout.trial === undefined ? "the trial" : `trial ${echo(label)}`;
  }

  private openTrial(label: string, row: Row, previous: OpenTrial | undefined): OpenTrial {
    const line = firstLine(row);
    const earlier = this.seen.get(label);
    if (earlier !== undefined && previous !== undefined) {
      throw new TeacherError(
        `${at(this.file, line, this.layout.trial)}: ${this.trialName(label)} appears again after ${this.trialName(previous.label)}; it began on line ${earlier} and a trial's rows must be contiguous`,
      );
    }
    this.seen.set(label, line);
    this.open = { label, line, lastTime: -Infinity };
    return this.open;
  }

  private closeTrial(open: OpenTrial): void {
    const n = this.t.size;
    if (n < 2) throw new TeacherError(`${at(this.file, open.line)}: ${this.trialName(open.label)} has ${n} sample; at least 2 are needed`);
    // the samples are filled in by finish(), as views into the whole columns
    this.ranges.push(this.t.take());
    this.mx.take();
    this.my.take();
    this.mz.take();
    this.trials.push({ label: open.label, t_s: NO_SAMPLES, mx: NO_SAMPLES, line: open.line });
    this.open = undefined;
  }

  private addSample(row: Row, open: OpenTrial): void {
    const { time, toSeconds, timeName, mx, my, mz } = this.layout;
    const t = this.cell(row, time);
    if (!(t > open.lastTime)) {
      throw new TeacherError(
        `${at(this.file, firstLine(row), time)}: ${timeName} = ${echo(row.fields[time])} is not after the previous sample's ${open.lastTime}; time must increase strictly within ${this.trialName(open.label)}`,
      );
    }
    open.lastTime = t;
    this.t.push(t * toSeconds);
    this.mx.push(this.layout.signalName === undefined ? this.component(row, mx) : this.cell(row, mx));
    if (my !== undefined) this.my.push(this.component(row, my));
    if (mz !== undefined) this.mz.push(this.component(row, mz));
    this.rows++;
  }

  /** A magnetization component after scaling, within [-1, 1] up to M_TOLERANCE. */
  private component(row: Row, index: number): number {
    const v = this.cell(row, index) * this.options.scale;
    if (Math.abs(v) > 1 + M_TOLERANCE) {
      const scaled = this.options.scale === 1 ? "" : ` after scaling by ${this.options.scale}`;
      throw new TeacherError(
        `${at(this.file, firstLine(row), index)}: ${this.columnName(index)} = ${v}${scaled} is outside [-1, 1]; teacher data is the normalized magnetization, and voltage data needs --scale (a factor that maps it into [-1, 1])`,
      );
    }
    return v;
  }

  /** A finite number from a used cell. */
  private cell(row: Row, index: number): number {
    const text = row.fields[index];
    const v = numberOf(text);
    if (!Number.isFinite(v)) {
      const got = text.trim() === "" ? "an empty cell" : echo(text);
      throw new TeacherError(`${at(this.file, firstLine(row), index)}: ${this.columnName(index)}: expected a finite number, got ${got}`);
    }
    return v;
  }

  private columnName(index: number): string {
    const { time, timeName, mx, my, signalName } = this.layout;
    return index === time ? timeName : index === mx ? (signalName ?? "mx") : index === my ? "my" : "mz";
  }
}
