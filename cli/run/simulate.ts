/** The work of `stoopt simulate`: trajectories streamed as CSV (cli/render/simulate.ts) to stdout or a file, and the settings sidecar FILE.json. */
import path from "node:path";
import { PARAMS } from "../model.js";
import { plan, simulate, SimulationSpec } from "../simulator.js";
import { checkOutput, sinkFor, writeFileAtomic } from "../io/output.js";
import { Interrupted } from "../errors.js";
import { stopsCleanly } from "../signals.js";
import { progress } from "../log.js";
import { TRAJECTORY_HEADER, trajectoryRows } from "../render/simulate.js";
import { toJsonIndented } from "../render/text.js";

export interface SimulateSettings {
  spec: SimulationSpec;
  /** the CSV's file (written atomically, with FILE.json beside it); undefined or - for stdout */
  output?: string;
}

/** FILE.json beside a simulated teacher: the settings it was simulated with (sysid and plot read it). */
export interface SimulateSidecar {
  command: "simulate";
  parameters: Record<string, { value: number; unit: string }>;
  scheme: SimulationSpec["scheme"];
  dt_s: number;
  temperature_K: number;
  seed: string;
  trials: number;
  washout_s: number;
  sample_s: number;
  duration_s: number;
  m0: [number, number, number] | "random";
}

export interface SimulateResult {
  /** data rows written */
  rows: number;
  sidecar?: { file: string; meta: SimulateSidecar };
}

export function sidecarOf(spec: SimulationSpec): SimulateSidecar {
  return {
    command: "simulate",
    parameters: Object.fromEntries(PARAMS.map((q) => [q.name, { value: spec.params[q.index], unit: q.unit }])),
    scheme: spec.scheme,
    dt_s: spec.dtS,
    temperature_K: spec.temperatureK,
    seed: spec.seed.toString(),
    trials: spec.trials,
    washout_s: spec.washoutS,
    sample_s: spec.sampleS,
    duration_s: spec.durationS,
    m0: spec.m0 ?? "random",
  };
}

export async function runSimulate(s: SimulateSettings): Promise<SimulateResult> {
  const spec = s.spec;
  const p = plan(spec);
  // both outputs checked before the work (cli/io/output.ts); a device or pipe gets no sidecar
  const toFile = s.output !== undefined && s.output !== "-";
  const target = toFile ? checkOutput(s.output!, "--output") : undefined;
  // beside the data as the user named it; beside the real file if a link leads to another folder (/dev/stdout > file)
  const sidecar =
    target?.mode === "atomic" ? (path.dirname(path.resolve(target.given)) === path.dirname(target.file) ? target.given : target.file) + ".json" : undefined;
  if (sidecar) checkOutput(sidecar, "--output (sidecar)");
  const sink = sinkFor(s.output, "--output");
  const bar = progress(p.totalSteps, "simulate");
  const release = stopsCleanly();
  let rows = 0;
  try {
    await sink.write(TRAJECTORY_HEADER);
    await simulate(
      spec,
      async (b) => {
        const lines = trajectoryRows(b, spec.sampleS);
        await sink.write(lines.join(""));
        rows += lines.length;
      },
      (d) => bar.update(d),
    );
  } catch (e) {
    bar.stop();
    if (e instanceof Interrupted) {
      // a signal: the rows on stdout are whole; a file is not created (an earlier one stays)
      sink.abort();
      throw new Interrupted(
        e.signal,
        toFile
          ? `interrupted by ${e.signal}: ${s.output} was not written`
          : `interrupted by ${e.signal}: stdout has the header and ${rows} whole rows, fewer than requested`,
      );
    }
    sink.abort();
    throw e;
  } finally {
    release();
  }
  bar.stop();
  await sink.commit();
  const meta: SimulateSidecar | undefined = sidecar ? sidecarOf(spec) : undefined;
  if (sidecar) writeFileAtomic(sidecar, toJsonIndented(meta), "--output (sidecar)");
  return { rows, ...(sidecar ? { sidecar: { file: sidecar, meta: meta! } } : {}) };
}
