/** The trajectory CSV of `stoopt simulate` (trial,t,mx,my,mz; t in seconds from the end of the washout). */
import type { TrialBlock } from "../simulator.js";

export const TRAJECTORY_HEADER = "trial,t,mx,my,mz\n";

/** The rows of one block of samples, in row order (trial, then time), each ending in a newline. */
export function trajectoryRows(b: TrialBlock, sampleS: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < b.count; i++) {
    for (let s = 0; s < b.nSamples; s++) {
      const k = 3 * (i * b.nSamples + s);
      const t = (b.sample0 + s) * sampleS;
      lines.push(`${b.trial0 + i},${t},${b.data[k]},${b.data[k + 1]},${b.data[k + 2]}\n`);
    }
  }
  return lines;
}
