/**
 * The grid of `stoopt landscape`: n evenly spaced points over each axis's
 * range, ends included. One definition for the evaluation (cli/run/landscape.ts)
 * and the figure and CSV drawn from a result (cli/render/figures/sysid.ts).
 */

/** An axis of the grid: its range and its number of points. */
export interface GridAxis {
  range: [number, number];
  n: number;
}

/** The value of point `i` (0-based) of an axis; a one-point axis sits at the range's start. */
export const gridValue = (a: GridAxis, i: number): number => (a.n === 1 ? a.range[0] : a.range[0] + ((a.range[1] - a.range[0]) * i) / (a.n - 1));

/** The spacing of neighbouring points of an axis. */
export const gridStep = (a: GridAxis): number => (a.range[1] - a.range[0]) / (a.n - 1);
