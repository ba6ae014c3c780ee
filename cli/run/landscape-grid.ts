/** The loss of eq. (4) on a grid of two parameters (Fig. 3 a-b), evaluated in the wasm core. */
import { Evaluator } from "../sysid.js";
import { ParamSpec } from "../model.js";

export interface Axis {
  spec: ParamSpec;
  range: [number, number];
  n: number;
}

export interface Landscape {
  x: Axis;
  y: Axis;
  /** loss[j * nx + i] at (x_i, y_j) */
  loss: Float64Array;
}

export const gridValue = (a: Axis, i: number) => (a.n === 1 ? a.range[0] : a.range[0] + ((a.range[1] - a.range[0]) * i) / (a.n - 1));

export async function evaluateLandscape(
  ev: Evaluator,
  nTrials: number,
  base: Float64Array,
  x: Axis,
  y: Axis,
  onPoint: (done: number) => void = () => undefined,
): Promise<Landscape> {
  const all = Array.from({ length: nTrials }, (_, i) => i);
  const loss = new Float64Array(x.n * y.n);
  const v = Float64Array.from(base);
  for (let j = 0; j < y.n; j++) {
    for (let i = 0; i < x.n; i++) {
      v[x.spec.index] = gridValue(x, i);
      v[y.spec.index] = gridValue(y, j);
      const p = await ev.evaluate(v, [], "loss", all);
      loss[j * x.n + i] = p.sumAbs / p.count;
      onPoint(j * x.n + i + 1);
    }
  }
  return { x, y, loss };
}

/** The grid point with the lowest (finite) loss. */
export function minimum(l: Landscape): { i: number; j: number; x: number; y: number; loss: number } {
  let best = -1;
  for (let k = 0; k < l.loss.length; k++) if (Number.isFinite(l.loss[k]) && (best < 0 || l.loss[k] < l.loss[best])) best = k;
  const i = best % l.x.n;
  const j = Math.floor(best / l.x.n);
  return { i, j, x: gridValue(l.x, i), y: gridValue(l.y, j), loss: l.loss[best] };
}
