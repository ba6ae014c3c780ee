/** Acceptance 1 (Welch PSD, interpolated peak, Parseval power, Lorentzian linewidth on synthetic signals with known answers); the steady-state gradient through the wasm; sweep syntax. */
import { describe, expect, it } from "vitest";
import { fft, summarize, welch, WelchSettings } from "../cli/spectrum/psd.js";
import { steadyState, startOnCone, theory } from "../cli/oscillator.js";
import { defaultParams } from "../cli/model.js";
import { parseSweep, remainingChange, sweepPoints } from "../cli/spectrum/sweep.js";

/** Seeded normal deviates (mulberry32 + Box-Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
}

describe("fft", () => {
  it("matches a direct DFT", () => {
    const n = 16;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.7) + 0.3 * i);
    const re = Float64Array.from(x);
    const im = new Float64Array(n);
    fft(re, im);
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let i = 0; i < n; i++) {
        sr += x[i] * Math.cos((2 * Math.PI * k * i) / n);
        si -= x[i] * Math.sin((2 * Math.PI * k * i) / n);
      }
      expect(re[k]).toBeCloseTo(sr, 10);
      expect(im[k]).toBeCloseTo(si, 10);
    }
  });
});

describe("sinusoid plus white noise", () => {
  const dt = 10e-12;
  // The tone-noise cross term in the peak band makes the power estimate itself random:
  // relative error ~ 2 sqrt(P_noise,band / P_tone / segments), about 0.25 % here.
  const n = 1 << 17;
  const settings: WelchSettings = { window: "hann", segment: 4096, overlap: 0.5 };
  const binHz = 1 / (settings.segment * dt);
  const amp = 0.6;
  const sigma = 0.1;
  for (const [f0, window] of [
    [5.1234567e9, "hann"],
    [3.3e9 + 0.37 * (1 / (4096 * 10e-12)), "blackman"],
    [7.77e9, "hamming"],
  ] as [number, WelchSettings["window"]][]) {
    it(`${window}: peak within 0.1 % of a bin of ${f0} Hz, Parseval power within 1 %`, () => {
      const g = normals(7);
      const x = Float64Array.from({ length: n }, (_, i) => amp * Math.cos(2 * Math.PI * f0 * i * dt + 0.3) + sigma * g());
      const s = { ...settings, window };
      const p = welch([x], dt, s);
      // Parseval: the PSD integrates to the mean square of the (mean-free) segments
      const total = p.psd.reduce((a, v) => a + v, 0) * p.df_Hz;
      expect(Math.abs(total / p.meanSquare - 1)).toBeLessThan(0.01);
      const r = summarize(p, [x], s)!;
      expect(Math.abs(r.f_Hz - f0) / binHz).toBeLessThan(1e-3);
      expect(Math.abs((r.power / (amp * amp)) * 2 - 1)).toBeLessThan(0.01);
      expect(r.resolution_limited).toBe(true);
      expect(r.linewidth_Hz).toBeCloseTo(p.resolution_Hz, 6);
    });
  }
});

describe("a Lorentzian line (phase diffusion)", () => {
  it("FWHM within 5 % of D / pi, with an uncertainty that covers the error", () => {
    // x = cos(2 pi f0 t + phi), phi a random walk with <dphi^2> = 2 D dt: a Lorentzian of FWHM D / pi
    const dt = 20e-12;
    const n = 1 << 19;
    const fwhm = 20e6;
    const D = Math.PI * fwhm;
    const g = normals(3);
    let phi = 0;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.cos(2 * Math.PI * 4e9 * i * dt + phi);
      phi += Math.sqrt(2 * D * dt) * g();
    }
    const s: WelchSettings = { window: "hann", segment: 1 << 14, overlap: 0.5 };
    const p = welch([x], dt, s);
    const r = summarize(p, [x], s)!;
    expect(r.resolution_limited).toBe(false);
    expect(Math.abs(r.linewidth_Hz / fwhm - 1)).toBeLessThan(0.05);
    expect(r.linewidth_err_Hz).toBeGreaterThan(0);
    expect(Math.abs(r.linewidth_Hz - fwhm)).toBeLessThan(4 * r.linewidth_err_Hz + 0.02 * fwhm);
    // the line holds the whole mean square 1/2
    expect(Math.abs(r.power / 0.5 - 1)).toBeLessThan(0.03);
    expect(Math.abs(r.f_Hz - 4e9)).toBeLessThan(fwhm);
  });
});

describe("steady-state frequency through the wasm core", () => {
  it("dual-number derivatives agree with central differences (relative step 1e-6) to 1e-6", () => {
    const p = defaultParams();
    const m0 = startOnCone(p);
    const s = { dtS: 0.5e-12, washoutSteps: 4000, windowSteps: 6000 };
    const fit = [1, 9, 8]; // H_appl, alpha, j_DC
    const r = steadyState(p, fit, m0, s);
    fit.forEach((j, a) => {
      const h = 1e-6 * p[j];
      const at = (v: number) => {
        const q = Float64Array.from(p);
        q[j] = v;
        return steadyState(q, [], m0, s);
      };
      const up = at(p[j] + h);
      const dn = at(p[j] - h);
      const fd = (up.f_Hz - dn.f_Hz) / (2 * h);
      expect(Math.abs(r.df[a] / fd - 1)).toBeLessThan(1e-6);
      expect(Math.abs(r.dmz[a] / ((up.mz - dn.mz) / (2 * h)) - 1)).toBeLessThan(1e-6);
    });
  });

  it("theory: threshold 1.534 mA at the centre point; no cone below it", () => {
    const p = defaultParams();
    const t = theory(p);
    expect(t.threshold_A).toBeCloseTo(1.5336e-3, 6);
    expect(t.f_Hz).toBeCloseTo(5.2014e9, -6);
    p[8] = 1e-3;
    expect(Number.isNaN(theory(p).f_Hz)).toBe(true);
  });
});

describe("sweep syntax and settling", () => {
  it("MIN:MAX:STEP is inclusive and clean; lists keep their order; axes combine first-fastest", () => {
    expect(parseSweep("j_DC=2.5mA:7.5mA:0.25mA").values.length).toBe(21);
    expect(parseSweep("j_DC=2.5mA:7.5mA:0.25mA").values[3]).toBe(3.25e-3);
    expect(parseSweep("H_appl=1900,1600").values).toEqual([1900, 1600]);
    const pts = sweepPoints(defaultParams(), [parseSweep("j_DC=3mA,4mA"), parseSweep("H_appl=1600,1900")]);
    expect(pts.map((q) => [q.values.j_DC, q.values.H_appl])).toEqual([
      [3e-3, 1600],
      [4e-3, 1600],
      [3e-3, 1900],
      [4e-3, 1900],
    ]);
    expect(pts[3].params[1]).toBe(1900);
  });

  it("the projected remaining change of a geometric sequence is its distance to the limit", () => {
    const q = [1, 0.5, 0.25].map((v) => 2 + v);
    expect(remainingChange(q)).toBeCloseTo(0.25, 12);
    expect(remainingChange([1, 1.1, 0.9])).toBeCloseTo(0.2, 12); // not monotone: the last change
    expect(remainingChange([1, 2])).toBe(Infinity);
  });
});
