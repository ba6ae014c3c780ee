/**
 * Batched simulation through the wasm core (mirrors core-rs/src/simulate.rs):
 * trials in chunks so memory stays bounded, steps in slices so progress can
 * be shown, and samples handed out trial by trial.
 */
import { Simulation, Scheme } from "./core/simulation.js";
import { UsageError } from "./errors.js";
import { checkCount, checkPrecessionStep, U32_MAX } from "./limits.js";
import { pausePoint } from "./signals.js";

export type { Scheme };

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
  // the core counts steps and samples per call in u32; rows are numbered exactly up to 2^53
  checkCount(washoutSteps, "--washout", "the washout steps (--washout / --dt)", Number.MAX_SAFE_INTEGER);
  checkCount(stepsPerSample, "--sample", "the steps per sample (--sample / --dt)", U32_MAX, 1);
  checkCount(samples, "--duration", "the samples per trial (--duration / --sample + 1)", U32_MAX, 1);
  checkCount(spec.trials * samples, "--trials", "the rows (trials x samples per trial)", Number.MAX_SAFE_INTEGER, 1);
  checkPrecessionStep(spec.params, spec.dtS, "--dt", `--H_appl ${spec.params[1]} Oe (H_K ${spec.params[3]} Oe, M ${spec.params[2]} emu/cm3)`);
  return { washoutSteps, stepsPerSample, samples, totalSteps: spec.trials * (washoutSteps + intervals * stepsPerSample) };
}

const MAX_BLOCK_DOUBLES = 1 << 21;
/** trial-steps per core call: about 0.1 s, so that signals are seen between calls */
const CALL_STEPS = 1_000_000;

/**
 * Run the simulation, calling `emit` for each block of samples in row order
 * (trial, then time) and `onSteps` with the number of steps done so far.
 * Each core call does at most about CALL_STEPS trial-steps, with a
 * `pausePoint` between calls (throws `Interrupted` on a signal; the blocks
 * emitted before are whole).
 */
export async function simulate(spec: SimulationSpec, emit: (b: TrialBlock) => Promise<void>, onSteps: (done: number) => void = () => undefined): Promise<void> {
  const p = plan(spec);
  const perTrialDoubles = 3 * p.samples;
  const chunk = Math.max(1, Math.min(spec.trials, 256, Math.floor(MAX_BLOCK_DOUBLES / perTrialDoubles)));
  const sampleBlock = chunk === 1 ? Math.max(1, Math.min(p.samples, Math.floor(MAX_BLOCK_DOUBLES / 3))) : p.samples;
  // samples per core call, so that a call does at most CALL_STEPS trial-steps (at least one sample)
  const perCall = Math.max(1, Math.min(sampleBlock, Math.floor(CALL_STEPS / (chunk * p.stepsPerSample))));
  const sim = new Simulation(spec.params, chunk, spec.scheme, spec.dtS, spec.temperatureK);
  const out = new Float64Array(3 * chunk * sampleBlock);
  let done = 0;
  const run = (n: number, steps: number, samples: number, record: boolean) => sim.run(n, steps, samples, record);
  /** integrate `steps` without recording, in calls of at most CALL_STEPS trial-steps */
  const advance = async (n: number, steps: number) => {
    const slice = Math.max(1, Math.floor(CALL_STEPS / n));
    for (let s = 0; s < steps; s += slice) {
      const k = Math.min(slice, steps - s);
      run(n, k, 1, false);
      done += n * k;
      onSteps(done);
      await pausePoint();
    }
  };
  try {
    for (let t0 = 0; t0 < spec.trials; t0 += chunk) {
      const n = Math.min(chunk, spec.trials - t0);
      sim.seed(spec.seed, BigInt(t0), n);
      if (spec.m0) sim.setStates(spec.m0, n);
      else sim.randomStates(n);
      await advance(n, p.washoutSteps);
      // sample 0 is the state at t = 0 (end of the washout)
      for (let sample0 = 0; sample0 < p.samples;) {
        const ns = Math.min(sampleBlock, p.samples - sample0);
        let s = 0;
        if (sample0 === 0) {
          const mv = sim.states();
          for (let i = 0; i < n; i++) out.set(mv.subarray(3 * i, 3 * i + 3), 3 * i * ns);
          s = 1;
        }
        while (s < ns) {
          const r = Math.min(perCall, ns - s);
          let sv: Float64Array;
          if (r === 1 && n * p.stepsPerSample > CALL_STEPS) {
            // one sample needs more than a call's steps: advance in slices, then record with the last step
            await advance(n, p.stepsPerSample - 1);
            sv = run(n, 1, 1, true)!;
            done += n;
          } else {
            sv = run(n, p.stepsPerSample, r, true)!;
            done += n * r * p.stepsPerSample;
          }
          // the core writes [trial][sample]; place these r samples at s..s+r of each trial's block row
          for (let i = 0; i < n; i++) out.set(sv.subarray(3 * i * r, 3 * (i + 1) * r), 3 * (i * ns + s));
          s += r;
          onSteps(done);
          await pausePoint();
        }
        await emit({ trial0: t0, count: n, sample0, nSamples: ns, data: out.slice(0, 3 * n * ns) });
        sample0 += ns;
      }
    }
  } finally {
    sim.free();
  }
}
