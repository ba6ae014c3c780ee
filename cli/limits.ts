/**
 * What the core can take, checked before it is called: counts that cross the
 * wasm ABI are 32-bit (`usize` is u32 in wasm32, sizes must fit in its 4 GiB
 * memory), and time axes must need a sane number of steps. Every check names
 * the flag or file and states the limit; all are usage errors (exit 2).
 */
import { UsageError } from "./errors.js";
import { note } from "./log.js";

/** largest count the core's `usize` arguments take (wasm32) */
export const U32_MAX = 0xffffffff;
/** largest count the core's `i32`/`u32` index arrays take */
export const I32_MAX = 0x7fffffff;
/** bytes of wasm memory a single core may use (4 GiB address space, some kept for the rest) */
export const WASM_BYTES = 3.5 * 2 ** 30;
/** integration steps of one evaluation over every trial of a teacher */
export const MAX_TEACHER_STEPS = 1e11;

/** "4294967295" as "4.29e9 (2^32 - 1)" for messages. */
function show(n: number): string {
  if (n === U32_MAX) return "4294967295 (2^32 - 1)";
  if (n === I32_MAX) return "2147483647 (2^31 - 1)";
  return n >= 1e6 ? n.toExponential(3) : String(n);
}

/** seconds with 6 significant digits, for messages */
const sec = (x: number) => String(Number(x.toPrecision(6)));

/** A count the core takes: a whole number from `min` to `limit`, else exit 2 naming the flag and the limit. */
export function checkCount(value: number, flag: string, what: string, limit = U32_MAX, min = 0): number {
  if (!Number.isFinite(value) || value > limit)
    throw new UsageError(`${flag}: ${what} would be ${Number.isFinite(value) ? show(value) : value}; the limit is ${show(limit)}`);
  if (!(value >= min) || !Number.isInteger(value)) throw new UsageError(`${flag}: ${what} must be a whole number >= ${min} (got ${value})`);
  return value;
}

/** A size in bytes that one wasm core must hold, else exit 2 naming the flag. */
export function checkMemory(bytes: number, flag: string, what: string): void {
  if (!(bytes <= WASM_BYTES))
    throw new UsageError(`${flag}: ${what} needs ${(bytes / 2 ** 30).toFixed(1)} GiB of core memory; the limit is ${(WASM_BYTES / 2 ** 30).toFixed(1)} GiB`);
}

const UNITS: [string, number][] = [
  ["ms", 1e-3],
  ["us", 1e-6],
  ["ns", 1e-9],
  ["ps", 1e-12],
  ["fs", 1e-15],
];

/**
 * The time unit a column with sample spacing `spacingS` (read in seconds)
 * was more likely written in: of the units that put the spacing between
 * 0.1 ps and 100 ns (where an oscillator in the GHz range is sampled), the
 * one closest to 100 ps on a log scale. Undefined if none.
 */
export function likelyTimeUnit(spacingS: number): string | undefined {
  let best: [string, number] | undefined;
  for (const [unit, f] of UNITS) {
    const v = spacingS * f;
    const d = Math.abs(Math.log10(v / 1e-10));
    if (v >= 1e-13 && v <= 1e-7 && (!best || d < best[1])) best = [unit, d];
  }
  return best?.[0];
}

/** A time axis as the core sees it: per trial, sample times in seconds. */
export interface TimeAxis {
  /** file name, for messages */
  file: string;
  /** the time column's header name */
  column: string;
  trials: { label: string; t_s: ArrayLike<number> }[];
}

/**
 * Check a teacher's time axis against the student's step and washout before
 * anything is integrated:
 *  - no interval between samples may need more steps than the core counts
 *    (u32), and one pass over every trial at most MAX_TEACHER_STEPS steps;
 *    past that, a `t` column in the wrong unit is the likely cause and is named;
 *  - `--dt` must not be longer than the shortest sample spacing, nor than a
 *    non-zero washout;
 *  - at least one sample must lie after the washout (else there is nothing
 *    to compare); trials without one are named in a note.
 */
export function checkTimeAxis(axis: TimeAxis, dtS: number, washoutS: number, dtFlag = "--dt", washoutFlag = "--washout"): void {
  let total = 0;
  let maxInterval = 0;
  let minInterval = Infinity;
  const spacings: number[] = [];
  let longest = 0;
  const none: string[] = [];
  for (const tr of axis.trials) {
    const t = tr.t_s;
    const n = t.length;
    if (n < 2) continue;
    const span = t[n - 1] - t[0];
    total += span / dtS;
    longest = Math.max(longest, span);
    for (let k = 1; k < n; k++) {
      const d = t[k] - t[k - 1];
      if (d > maxInterval) maxInterval = d;
      if (d < minInterval) minInterval = d;
    }
    spacings.push(span / (n - 1));
    if (span < washoutS - 1e-6 * dtS) none.push(tr.label);
  }
  spacings.sort((a, b) => a - b);
  const typical = spacings[Math.floor(spacings.length / 2)] ?? 0;
  if (maxInterval / dtS > U32_MAX || total > MAX_TEACHER_STEPS) {
    const unit = likelyTimeUnit(typical);
    const hint =
      unit !== undefined && (axis.column === "t" || axis.column === "t_s")
        ? `; the samples are ${typical.toPrecision(3)} s apart, which looks like ${unit} read as seconds: name the column t_${unit}`
        : `; the samples are ${typical.toPrecision(3)} s apart: check the unit of the time column '${axis.column}'`;
    const what =
      maxInterval / dtS > U32_MAX
        ? `one sample interval needs ${(maxInterval / dtS).toExponential(3)} steps of ${dtFlag} ${sec(dtS)} s (the limit is ${show(U32_MAX)})`
        : `one pass over the trials needs ${total.toExponential(3)} steps of ${dtFlag} ${sec(dtS)} s (the limit is ${show(MAX_TEACHER_STEPS)})`;
    throw new UsageError(`${axis.file}: ${what}${hint}`);
  }
  if (Number.isFinite(minInterval) && dtS > minInterval * (1 + 1e-9)) {
    throw new UsageError(
      `${dtFlag}: the step ${sec(dtS)} s is longer than the teacher's shortest sample spacing ${sec(minInterval)} s (${axis.file}); the student would not resolve the samples: use a step of at most ${sec(minInterval)} s`,
    );
  }
  if (washoutS > 0 && dtS > washoutS * (1 + 1e-9)) {
    throw new UsageError(`${dtFlag}: the step ${sec(dtS)} s is longer than ${washoutFlag} ${sec(washoutS)} s; use a shorter step or a longer washout`);
  }
  if (none.length === axis.trials.length) {
    throw new UsageError(
      `${washoutFlag}: no sample of ${axis.file} lies after the washout of ${sec(washoutS)} s (the longest trial spans ${sec(longest)} s), so there is nothing to compare; use a shorter ${washoutFlag}`,
    );
  }
  if (none.length > 0)
    note(
      `${none.length} trial${none.length > 1 ? "s" : ""} (${none.slice(0, 5).join(", ")}${none.length > 5 ? ", ..." : ""}) end before the washout of ${sec(washoutS)} s and do not enter the loss`,
    );
}

/** rad per step above which RK4 cannot follow the precession (its stability limit on the imaginary axis is 2 sqrt 2) */
export const MAX_STEP_ANGLE = 2;
/** rad per step above which a warning is given (RK4's phase error per step ~ angle^5 / 120) */
export const WARN_STEP_ANGLE = 0.5;

/**
 * Whether one RK4 step can follow the precession: the effective field of
 * eq. (1), H = (H_appl + (H_K - 4 pi M) m_z) e_z, is at most
 * |H_appl| + |H_K - 4 pi M| (Oe) and turns m by gamma |H| dt rad per step.
 * Above MAX_STEP_ANGLE: exit 2 naming the flags; above WARN_STEP_ANGLE
 * (fewer than ~12 steps per turn), a warning.
 */
export function checkPrecessionStep(params: ArrayLike<number>, dtS: number, dtFlag: string, fieldFlags: string): void {
  // core ABI order: gamma, H_appl, M, H_K, ...
  const gamma = Math.abs(params[0]);
  const h = Math.abs(params[1]) + Math.abs(params[3] - 4 * Math.PI * params[2]);
  const angle = gamma * h * dtS;
  if (!Number.isFinite(angle) || angle > MAX_STEP_ANGLE) {
    throw new UsageError(
      `${fieldFlags} with ${dtFlag} ${sec(dtS)} s: the magnetization would turn ${angle.toPrecision(3)} rad per step (gamma*|H|*dt, |H| up to ${h.toPrecision(4)} Oe); RK4 cannot resolve the precession above ${MAX_STEP_ANGLE} rad per step: use ${dtFlag} below ${(0.1 / (gamma * h)).toPrecision(2)} s or a smaller field`,
    );
  }
  if (angle > WARN_STEP_ANGLE)
    note(
      `warning: ${dtFlag} ${sec(dtS)} s: the magnetization turns ${angle.toPrecision(3)} rad per step (about ${Math.floor((2 * Math.PI) / angle)} steps per turn); expect a large step-size error (below ${(0.1 / (gamma * h)).toPrecision(2)} s it is small)`,
    );
}
