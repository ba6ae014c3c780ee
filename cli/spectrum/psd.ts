/**
 * Spectrum of an oscillator trace: Welch's power spectral density, the
 * interpolated peak, a Lorentzian fit of the line (FWHM with its
 * uncertainty), the integrated power of the peak and the second harmonic.
 * Pure functions of sampled data; no I/O.
 *
 * Conventions. One-sided PSD in (signal unit)^2/Hz, so that the sum of
 * PSD x bin width over all bins is the mean square of the mean-free signal
 * (Parseval). Each segment has its mean removed and is tapered by the window
 * w; the PSD is the average over every segment of every trace of
 * |FFT(w x)|^2 / (fs sum w^2), doubled except at 0 and Nyquist. A segment of
 * L samples is zero-padded to the next power of two for the FFT.
 */
import { UsageError } from "../errors.js";

export const WINDOWS = ["hann", "hamming", "blackman", "rect"] as const;
export type WindowName = (typeof WINDOWS)[number];

/**
 * Half-power (3 dB) width of each window's main lobe in bins of 1/(L dt):
 * the spectral resolution. A line narrower than about this cannot be resolved.
 */
export const WINDOW_3DB_BINS: Record<WindowName, number> = { hann: 1.44, hamming: 1.3, blackman: 1.68, rect: 0.89 };

export interface WelchSettings {
  window: WindowName;
  /** samples per segment */
  segment: number;
  /** fraction of a segment shared by neighbours, 0 <= overlap < 1 */
  overlap: number;
}

export interface Psd {
  f_Hz: Float64Array;
  /** one-sided PSD [signal^2/Hz] */
  psd: Float64Array;
  /** bin spacing of the FFT (zero-padded) */
  df_Hz: number;
  /** 3 dB width of the window's main lobe [Hz] */
  resolution_Hz: number;
  segments: number;
  segment: number;
  nfft: number;
  sampleS: number;
  window: WindowName;
  /** mean square of the mean-free signal, averaged over segments (Parseval's side of the check) */
  meanSquare: number;
}

export function windowValues(name: WindowName, n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = (2 * Math.PI * i) / n; // periodic (DFT-even) windows, as in scipy.signal.get_window
    w[i] =
      name === "hann"
        ? 0.5 - 0.5 * Math.cos(x)
        : name === "hamming"
          ? 0.54 - 0.46 * Math.cos(x)
          : name === "blackman"
            ? 0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x)
            : 1;
  }
  return w;
}

/** In-place iterative radix-2 FFT of (re, im); length a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Segment start indices of one trace of `n` samples. */
function segmentStarts(n: number, s: WelchSettings): number[] {
  const step = Math.max(1, Math.round(s.segment * (1 - s.overlap)));
  const out: number[] = [];
  for (let a = 0; a + s.segment <= n; a += step) out.push(a);
  return out;
}

/** The shortest Welch segment accepted [samples]. */
export const MIN_SEGMENT = 16;

/** Check settings against the data before any work; `where` names the input. */
export function checkWelch(traces: Float64Array[], s: WelchSettings, where: string): void {
  if (!(s.overlap >= 0 && s.overlap < 1)) throw new UsageError(`--overlap: must lie in [0, 1) (got ${s.overlap})`);
  if (!Number.isInteger(s.segment) || s.segment < MIN_SEGMENT) throw new UsageError(`--segment: at least ${MIN_SEGMENT} samples (got ${s.segment})`);
  const shortest = Math.min(...traces.map((t) => t.length));
  if (shortest < s.segment)
    throw new UsageError(`${where}: the trace has ${shortest} samples, shorter than one segment of ${s.segment} (give a shorter --segment or a longer trace)`);
}

/** Welch's PSD over every segment of every trace, sampled every `sampleS` seconds. */
export function welch(traces: Float64Array[], sampleS: number, s: WelchSettings): Psd {
  const L = s.segment;
  const nfft = nextPow2(L);
  const w = windowValues(s.window, L);
  let u = 0;
  for (const v of w) u += v * v;
  const fs = 1 / sampleS;
  const half = nfft / 2;
  const acc = new Float64Array(half + 1);
  const re = new Float64Array(nfft);
  const im = new Float64Array(nfft);
  let segments = 0;
  let meanSquare = 0;
  for (const x of traces) {
    for (const a of segmentStarts(x.length, s)) {
      let mean = 0;
      for (let i = 0; i < L; i++) mean += x[a + i];
      mean /= L;
      re.fill(0);
      im.fill(0);
      let ms = 0;
      for (let i = 0; i < L; i++) {
        const v = x[a + i] - mean;
        ms += v * v;
        re[i] = v * w[i];
      }
      meanSquare += ms / L;
      fft(re, im);
      for (let k = 0; k <= half; k++) acc[k] += re[k] * re[k] + im[k] * im[k];
      segments++;
    }
  }
  const psd = new Float64Array(half + 1);
  const f = new Float64Array(half + 1);
  for (let k = 0; k <= half; k++) {
    psd[k] = ((k === 0 || k === half ? 1 : 2) * acc[k]) / (segments * fs * u);
    f[k] = (k * fs) / nfft;
  }
  return {
    f_Hz: f,
    psd,
    df_Hz: fs / nfft,
    resolution_Hz: (WINDOW_3DB_BINS[s.window] * fs) / L,
    segments,
    segment: L,
    nfft,
    sampleS,
    window: s.window,
    meanSquare: meanSquare / segments,
  };
}

/**
 * The segment-averaged periodogram at any frequency (the DTFT of each
 * tapered segment), normalized like `welch`: the function whose maximum is
 * the interpolated peak.
 */
function periodogramAt(traces: Float64Array[], sampleS: number, s: WelchSettings, w: Float64Array, u: number, fHz: number): number {
  const L = s.segment;
  const c = Math.cos(2 * Math.PI * fHz * sampleS);
  const sn = Math.sin(2 * Math.PI * fHz * sampleS);
  let total = 0;
  let count = 0;
  for (const x of traces) {
    for (const a of segmentStarts(x.length, s)) {
      let mean = 0;
      for (let i = 0; i < L; i++) mean += x[a + i];
      mean /= L;
      // e^{-i 2 pi f n dt} by rotation (exact enough over one segment in f64)
      let cr = 1;
      let ci = 0;
      let sr = 0;
      let si = 0;
      for (let i = 0; i < L; i++) {
        const v = (x[a + i] - mean) * w[i];
        sr += v * cr;
        si -= v * ci;
        const nr = cr * c - ci * sn;
        ci = cr * sn + ci * c;
        cr = nr;
      }
      total += sr * sr + si * si;
      count++;
    }
  }
  return (2 * total) / ((count * u) / sampleS);
}

export interface Peak {
  /** interpolated peak frequency: the maximum of the segment-averaged periodogram within a bin of the largest bin */
  f_Hz: number;
  /** index of the largest bin */
  bin: number;
  psd: number;
}

/** The largest bin above DC within [fMin, fMax], refined by a golden-section search of the periodogram within +-1 bin. */
export function findPeak(p: Psd, traces: Float64Array[], s: WelchSettings, fMin = 0, fMax = Infinity): Peak | undefined {
  let best = -1;
  for (let k = 1; k < p.psd.length; k++) {
    if (p.f_Hz[k] < fMin || p.f_Hz[k] > fMax) continue;
    if (best < 0 || p.psd[k] > p.psd[best]) best = k;
  }
  if (best < 0 || !(p.psd[best] > 0)) return undefined;
  const w = windowValues(s.window, s.segment);
  let u = 0;
  for (const v of w) u += v * v;
  const g = (f: number) => periodogramAt(traces, p.sampleS, s, w, u, f);
  let a = p.f_Hz[Math.max(0, best - 1)];
  let b = p.f_Hz[Math.min(p.psd.length - 1, best + 1)];
  const r = (Math.sqrt(5) - 1) / 2;
  let x1 = b - r * (b - a);
  let x2 = a + r * (b - a);
  let g1 = g(x1);
  let g2 = g(x2);
  for (let it = 0; it < 60 && b - a > 1e-9 * p.df_Hz; it++) {
    if (g1 < g2) {
      a = x1;
      x1 = x2;
      g1 = g2;
      x2 = a + r * (b - a);
      g2 = g(x2);
    } else {
      b = x2;
      x2 = x1;
      g2 = g1;
      x1 = b - r * (b - a);
      g1 = g(x1);
    }
  }
  const f = (a + b) / 2;
  return { f_Hz: f, bin: best, psd: Math.max(g(f), p.psd[best]) };
}

export interface Lorentzian {
  /** S(f) = A / (1 + ((f - f0) / hwhm)^2) + B */
  amplitude: number;
  f0_Hz: number;
  fwhm_Hz: number;
  fwhm_err_Hz: number;
  f0_err_Hz: number;
  background: number;
  /** fitted bins and reduced chi-square (weights: relative error 1/sqrt(segments) of each Welch estimate) */
  bins: [number, number];
  chi2_reduced: number;
}

/** Solve the small symmetric system A x = b (Gaussian elimination with partial pivoting); undefined if singular. */
export function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (!(Math.abs(m[p][c]) > 0)) return undefined;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((r, i) => r[n] / r[i]);
}

export function invert(a: number[][]): number[][] | undefined {
  const n = a.length;
  const cols: number[][] = [];
  for (let j = 0; j < n; j++) {
    const x = solve(
      a,
      a.map((_, i) => (i === j ? 1 : 0)),
    );
    if (!x) return undefined;
    cols.push(x);
  }
  return a.map((_, i) => cols.map((c) => c[i]));
}

/**
 * Weighted least-squares Lorentzian plus constant background (>= 0) on the bins
 * around `peak` (Levenberg-Marquardt on four parameters; weights from the
 * current model, i.e. each Welch estimate has relative error 1/sqrt(K)).
 * The uncertainty is the covariance (J^T W J)^-1 scaled by the reduced
 * chi-square (as curve_fit does without absolute_sigma).
 */
export function fitLorentzian(p: Psd, peak: Peak): Lorentzian | undefined {
  const k0 = peak.bin;
  const top = p.psd[k0];
  // half-width estimate: walk to half maximum on each side
  let lo = k0;
  while (lo > 1 && p.psd[lo] > top / 2) lo--;
  let hi = k0;
  while (hi < p.psd.length - 1 && p.psd[hi] > top / 2) hi++;
  const hwhm0 = Math.max(0.5 * (hi - lo) * p.df_Hz, 0.5 * p.df_Hz);
  const span = Math.max(12 * p.df_Hz * (p.nfft / p.segment), 8 * hwhm0);
  const a = Math.max(1, Math.floor((peak.f_Hz - span) / p.df_Hz));
  const b = Math.min(p.psd.length - 1, Math.ceil((peak.f_Hz + span) / p.df_Hz));
  if (b - a < 6) return undefined;
  // normalized coordinates: u = (f - f_peak) / bin, y = PSD / top; x = [A, u0, hwhm, B]
  const us: number[] = [];
  const ys: number[] = [];
  for (let k = a; k <= b; k++) {
    us.push((p.f_Hz[k] - peak.f_Hz) / p.df_Hz);
    ys.push(p.psd[k] / top);
  }
  const sorted = [...ys].sort((q, r) => q - r);
  const b0 = Math.max(0, sorted[Math.floor(sorted.length / 4)]);
  let x = [1 - b0, 0, hwhm0 / p.df_Hz, b0];
  const model = (q: number[], u: number) => q[0] / (1 + ((u - q[1]) / q[2]) ** 2) + q[3];
  const jac = (q: number[], u: number) => {
    const v = (u - q[1]) / q[2];
    const d = 1 / (1 + v * v);
    return [d, (2 * q[0] * v * d * d) / q[2], (2 * q[0] * v * v * d * d) / q[2], 1];
  };
  const chi2 = (q: number[], wq: number[]) => us.reduce((acc, u, i) => acc + ((ys[i] - model(q, u)) * wq[i]) ** 2, 0);
  let jtj: number[][] = [];
  let chi = Infinity;
  // first unweighted, then weights 1 / model (each Welch estimate has a relative error), refreshed a few times
  for (let outer = 0; outer < 5; outer++) {
    const wq = us.map((u) => (outer === 0 ? 1 : 1 / Math.max(model(x, u), 1e-9)));
    let lambda = 1e-3;
    chi = chi2(x, wq);
    for (let it = 0; it < 200; it++) {
      jtj = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
      const jtr = [0, 0, 0, 0];
      us.forEach((u, i) => {
        const j = jac(x, u).map((v) => v * wq[i]);
        const r = (ys[i] - model(x, u)) * wq[i];
        for (let m = 0; m < 4; m++) {
          jtr[m] += j[m] * r;
          for (let n = 0; n < 4; n++) jtj[m][n] += j[m] * j[n];
        }
      });
      let improved = false;
      while (lambda < 1e12) {
        const damped = jtj.map((row, m) => row.map((v, n) => (m === n ? v * (1 + lambda) + 1e-15 : v)));
        const dx = solve(damped, jtr);
        if (!dx) break;
        const xn = x.map((v, m) => v + dx[m]);
        xn[2] = Math.abs(xn[2]);
        xn[3] = Math.max(0, xn[3]); // a PSD background is not negative
        const cn = chi2(xn, wq);
        if (Number.isFinite(cn) && cn < chi) {
          improved = (chi - cn) / chi > 1e-12;
          x = xn;
          chi = cn;
          lambda = Math.max(lambda / 10, 1e-12);
          break;
        }
        lambda *= 10;
      }
      if (!improved) break;
    }
  }
  const cov = invert(jtj);
  const dof = us.length - 4;
  const red = chi / Math.max(1, dof);
  if (!cov || !(x[0] > 0) || !(x[2] > 0) || Math.abs(x[1]) > (b - a) / 2) return undefined;
  const sd = (i: number) => Math.sqrt(Math.max(0, cov[i][i] * red));
  return {
    amplitude: x[0] * top,
    f0_Hz: peak.f_Hz + x[1] * p.df_Hz,
    fwhm_Hz: 2 * x[2] * p.df_Hz,
    fwhm_err_Hz: 2 * sd(2) * p.df_Hz,
    f0_err_Hz: sd(1) * p.df_Hz,
    background: x[3] * top,
    bins: [a, b],
    chi2_reduced: red,
  };
}

export interface LineSummary {
  /** interpolated peak frequency */
  f_Hz: number;
  /** the linewidth reported: the Lorentzian's FWHM, or the resolution when the line is not resolved */
  linewidth_Hz: number;
  linewidth_err_Hz: number;
  /** the fitted FWHM was below 1.5 x the window's resolution: linewidth_Hz is the resolution (an upper bound) */
  resolution_limited: boolean;
  /** integrated power of the peak above the background [signal^2] */
  power: number;
  lorentzian?: Lorentzian;
  /** second harmonic, if 2 f lies below Nyquist */
  harmonic2?: { f_Hz: number; power: number; ratio_dB: number };
}

/** Sum of (PSD - background) x bin width over the bins within `half` of `f`. */
function bandPower(p: Psd, f: number, half: number, background: number): number {
  const a = Math.max(1, Math.ceil((f - half) / p.df_Hz));
  const b = Math.min(p.psd.length - 1, Math.floor((f + half) / p.df_Hz));
  let s = 0;
  for (let k = a; k <= b; k++) s += p.psd[k] - background;
  return s * p.df_Hz;
}

/** Full width at half maximum of the PSD around bin `k0`, with linear interpolation between bins [Hz]. */
export function halfMaxWidth(p: Psd, k0: number): number {
  const half = p.psd[k0] / 2;
  let a = k0;
  while (a > 0 && p.psd[a] > half) a--;
  let b = k0;
  while (b < p.psd.length - 1 && p.psd[b] > half) b++;
  const left = p.psd[a] > half ? a : a + (half - p.psd[a]) / (p.psd[a + 1] - p.psd[a]);
  const right = p.psd[b] > half ? b : b - (half - p.psd[b]) / (p.psd[b - 1] - p.psd[b]);
  return (right - left) * p.df_Hz;
}

/** Median PSD over the bins between 1.5 and 4.5 band half-widths from `f` (0 if there are none). */
function ringMedian(p: Psd, f: number, half: number): number {
  const ring: number[] = [];
  for (let k = 1; k < p.psd.length; k++) {
    const d = Math.abs(p.f_Hz[k] - f);
    if (d > 1.5 * half && d < 4.5 * half) ring.push(p.psd[k]);
  }
  return ring.length ? median(ring) : 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

/**
 * Peak, linewidth, power and second harmonic of a PSD. The peak power is
 * the sum over f0 +- max(5 resolutions, 10 FWHM) above the fitted
 * background; for a resolved line the Lorentzian's tails beyond that band
 * are added from the fit.
 */
export function summarize(p: Psd, traces: Float64Array[], s: WelchSettings, fMin = 0, fMax = Infinity): LineSummary | undefined {
  const peak = findPeak(p, traces, s, fMin, fMax);
  if (!peak) return undefined;
  // resolved only if the PSD itself is wider than the window's main lobe at half maximum
  // (a Lorentzian fitted to a bare main lobe can come out at any width); the fit is skipped otherwise
  const wide = halfMaxWidth(p, peak.bin) >= 1.5 * p.resolution_Hz;
  const lor = wide ? fitLorentzian(p, peak) : undefined;
  const limited = !lor || lor.fwhm_Hz < 1.5 * p.resolution_Hz;
  const half = Math.max(5 * p.resolution_Hz, lor && !limited ? 10 * lor.fwhm_Hz : 0);
  // background: the fitted one for a resolved line, else the median of a ring of bins beyond the band (the noise floor)
  const background = lor && !limited ? lor.background : ringMedian(p, peak.f_Hz, half);
  let power = bandPower(p, peak.f_Hz, half, background);
  if (lor && !limited) {
    const g = lor.fwhm_Hz / 2;
    power += lor.amplitude * g * (Math.PI - 2 * Math.atan(half / g));
  }
  const summary: LineSummary = {
    f_Hz: peak.f_Hz,
    linewidth_Hz: limited ? p.resolution_Hz : lor!.fwhm_Hz,
    linewidth_err_Hz: limited ? NaN : lor!.fwhm_err_Hz,
    resolution_limited: limited,
    power,
    lorentzian: lor,
  };
  const nyquist = 0.5 / p.sampleS;
  const f2 = 2 * peak.f_Hz;
  const h2 = Math.max(3 * p.resolution_Hz, lor && !limited ? 2 * lor.fwhm_Hz : 0);
  if (f2 + h2 < nyquist) {
    const pk2 = findPeak(p, traces, s, f2 - h2, f2 + h2);
    if (pk2) {
      const p2 = bandPower(p, pk2.f_Hz, half, ringMedian(p, pk2.f_Hz, half));
      summary.harmonic2 = { f_Hz: pk2.f_Hz, power: p2, ratio_dB: 10 * Math.log10(Math.max(p2, 0) / power) };
    }
  }
  return summary;
}

/** Default segment: the largest power of two not above n / 2 (at least three 50 %-overlapping segments), or n itself when that is below 256. */
export function defaultSegment(n: number): number {
  let p = 1;
  while (p * 2 <= n / 2) p *= 2;
  return p >= 256 ? p : n;
}
