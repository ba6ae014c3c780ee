/**
 * Batched simulation through the wasm core (mirrors core-rs/src/simulate.rs):
 * trials in chunks so memory stays bounded, steps in slices so progress can
 * be shown, and samples handed out trial by trial.
 */
import { core, RNG_WORDS } from "./core.js";
import { UsageError } from "./errors.js";

export type Scheme = "rk4" | "heun";
export const SCHEME_CODE: Record<Scheme, number> = { rk4: 0, heun: 1 };

export interface SimulationSpec {
  params: Float64Array;
  scheme: Scheme;
  dtS: number;
  temperatureK: number;
  seed: bigint;
  trials: number;
  washoutS: number;
  sampleS: number;
  durationS: number;
  /** initial state (normalized); random on the sphere per trial if absent */
  m0?: [number, number, number];
}

/** `total / step` as an integer, or a usage error naming the flag. */
export function integerRatio(totalS: number, stepS: number, what: string): number {
  const r = totalS / stepS;
  const n = Math.round(r);
  if (Math.abs(r - n) > 1e-9 * Math.max(1, r)) throw new UsageError(`${what} (${totalS} s) is not a whole number of ${stepS} s steps`);
  return n;
}

export interface TrialBlock {
  /** first trial index in this block */
  trial0: number;
  count: number;
  /** first sample index in this block */
  sample0: number;
  nSamples: number;
  /** [trial][sample][mx,my,mz], copied out of wasm memory */
  data: Float64Array;
}

export interface SimulationPlan {
  washoutSteps: number;
  stepsPerSample: number;
  /** samples per trial, including the one at t = 0 */
  samples: number;
  totalSteps: number;
}

export function plan(spec: SimulationSpec): SimulationPlan {
  const washoutSteps = integerRatio(spec.washoutS, spec.dtS, "--washout");
  const stepsPerSample = integerRatio(spec.sampleS, spec.dtS, "--sample");
  if (stepsPerSample < 1) throw new UsageError(`--sample must be at least one step (${spec.dtS} s)`);
  const intervals = integerRatio(spec.durationS, spec.sampleS, "--duration");
  const samples = intervals + 1;
  return { washoutSteps, stepsPerSample, samples, totalSteps: spec.trials * (washoutSteps + intervals * stepsPerSample) };
}

const MAX_BLOCK_DOUBLES = 1 << 21;
const SLICE_STEPS = 20000;

/**
 * Run the simulation, calling `emit` for each block of samples in row order
 * (trial, then time) and `onSteps` with the number of steps done so far.
 */
export async function simulate(spec: SimulationSpec, emit: (b: TrialBlock) => Promise<void>, onSteps: (done: number) => void = () => undefined): Promise<void> {
  const c = core();
  const p = plan(spec);
  const perTrialDoubles = 3 * p.samples;
  const chunk = Math.max(1, Math.min(spec.trials, 256, Math.floor(MAX_BLOCK_DOUBLES / perTrialDoubles)));
  const sampleBlock = chunk === 1 ? Math.max(1, Math.min(p.samples, Math.floor(MAX_BLOCK_DOUBLES / 3))) : p.samples;
  const params = c.f64(spec.params.length);
  const m = c.f64(3 * chunk);
  const rng = c.u64(RNG_WORDS * chunk);
  const out = c.f64(3 * chunk * sampleBlock);
  params.view().set(spec.params);
  const code = SCHEME_CODE[spec.scheme];
  let done = 0;
  const run = (n: number, steps: number, samples: number, outPtr: number) => {
    c.check(c.exports.stoopt_simulate(params.ptr, code, spec.dtS, spec.temperatureK, n, m.ptr, rng.ptr, steps, samples, outPtr), "simulate");
  };
  try {
    for (let t0 = 0; t0 < spec.trials; t0 += chunk) {
      const n = Math.min(chunk, spec.trials - t0);
      c.check(c.exports.stoopt_rng_init(spec.seed, BigInt(t0), n, rng.ptr), "rng");
      if (spec.m0) {
        const mv = m.view();
        for (let i = 0; i < n; i++) mv.set(spec.m0, 3 * i);
      } else {
        c.check(c.exports.stoopt_random_unit_vectors(rng.ptr, n, m.ptr), "initial state");
      }
      for (let s = 0; s < p.washoutSteps; s += SLICE_STEPS) {
        const k = Math.min(SLICE_STEPS, p.washoutSteps - s);
        run(n, k, 1, 0);
        done += n * k;
        onSteps(done);
      }
      // sample 0 is the state at t = 0 (end of the washout)
      let sample0 = 0;
      while (sample0 < p.samples) {
        const ns = Math.min(sampleBlock, p.samples - sample0);
        let steps = 0;
        if (sample0 === 0) {
          const ov = out.view();
          const mv = m.view();
          for (let i = 0; i < n; i++) ov.set(mv.subarray(3 * i, 3 * i + 3), 3 * i * ns);
          if (ns > 1) {
            // samples 1..ns-1 go after sample 0 of each trial: run into a scratch area, then interleave
            const rest = c.f64(3 * n * (ns - 1));
            try {
              run(n, p.stepsPerSample, ns - 1, rest.ptr);
              const rv = rest.view();
              const ov2 = out.view();
              for (let i = 0; i < n; i++) ov2.set(rv.subarray(3 * i * (ns - 1), 3 * (i + 1) * (ns - 1)), 3 * (i * ns + 1));
            } finally {
              rest.free();
            }
            steps = n * (ns - 1) * p.stepsPerSample;
          }
        } else {
          run(n, p.stepsPerSample, ns, out.ptr);
          steps = n * ns * p.stepsPerSample;
        }
        done += steps;
        onSteps(done);
        await emit({ trial0: t0, count: n, sample0, nSamples: ns, data: out.view().slice(0, 3 * n * ns) });
        sample0 += ns;
      }
    }
  } finally {
    for (const b of [params, m, rng, out]) b.free();
  }
}
