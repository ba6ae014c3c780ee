/** Figures of `stoopt reservoir`: prediction vs target (test part), memory-capacity curve, parameters against epoch. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { lineFigure } from "./figures.js";
import { Spec, writeSvg } from "./render.js";

export interface ReservoirResultLike {
  model: string;
  outputs: string[];
  test_prediction: { t0: number; target: number[]; prediction: number[] };
  mc_curve?: number[];
  history: { epoch: number; val_nrmse: number; test_nrmse: number; h_appl_mean_oe: number; h_appl_min_oe: number; h_appl_max_oe: number; j_dc_a: number; alpha: number; in_field_oe: number; in_current_a: number }[];
}

export function reservoirFigures(r: ReservoirResultLike, points = 300): [string, Spec][] {
  const p = r.test_prediction;
  const k = Math.min(points, p.target.length);
  const idx = Array.from({ length: k }, (_, i) => i);
  const figs: [string, Spec][] = [
    [
      "prediction.svg",
      lineFigure({
        title: `Test part: ${r.outputs[0]}, target and prediction (first ${k} holds)`,
        xTitle: "hold index t [1]",
        yTitle: `${r.outputs[0]} [1]`,
        series: [
          { name: "target", points: idx.map((i): [number, number] => [p.t0 + i, p.target[i]]) },
          { name: `prediction (${r.model.split(",")[0]})`, points: idx.map((i): [number, number] => [p.t0 + i, p.prediction[i]]), dashed: true },
        ],
        width: 560,
      }),
    ],
  ];
  if (r.mc_curve) {
    figs.push(["memory_capacity.svg", lineFigure({ title: `Memory curve: squared correlation against delay (MC = ${r.mc_curve.reduce((a, b) => a + b, 0).toFixed(2)})`, xTitle: "delay k [holds]", yTitle: "r^2(u(t-k), prediction) [1]", series: [{ name: "test part", points: r.mc_curve.map((v, i): [number, number] => [i + 1, v]) }] })]);
  }
  const h = r.history;
  if (h.length > 1) {
    const ser = (name: string, f: (e: ReservoirResultLike["history"][number]) => number) => ({ name, points: h.map((e): [number, number] => [e.epoch, f(e)]) });
    figs.push(["nrmse.svg", lineFigure({ title: "NRMSE against epoch (epoch 0: untuned)", xTitle: "epoch [1]", yTitle: "NRMSE [1]", series: [ser("validation", (e) => e.val_nrmse), ser("test", (e) => e.test_nrmse)] })]);
    figs.push(["h_appl.svg", lineFigure({ title: "Applied field against epoch", xTitle: "epoch [1]", yTitle: "H_appl [Oe]", series: [ser("mean over STOs", (e) => e.h_appl_mean_oe), ser("min", (e) => e.h_appl_min_oe), ser("max", (e) => e.h_appl_max_oe)] })]);
    figs.push(["j_dc.svg", lineFigure({ title: "Current against epoch", xTitle: "epoch [1]", yTitle: "j_DC [mA]", series: [ser("j_DC", (e) => 1e3 * e.j_dc_a)] })]);
    figs.push(["alpha.svg", lineFigure({ title: "Gilbert damping against epoch", xTitle: "epoch [1]", yTitle: "alpha [1]", series: [ser("alpha", (e) => e.alpha)] })]);
    figs.push(["input_scale.svg", lineFigure({ title: "Input field scale against epoch", xTitle: "epoch [1]", yTitle: "s_f [Oe]", series: [ser("s_f", (e) => e.in_field_oe)] })]);
  }
  return figs;
}

export async function plotReservoir(r: ReservoirResultLike, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const figs = reservoirFigures(r);
  for (const [f, spec] of figs) await writeSvg(path.join(dir, f), spec, "--plot");
  return figs.map(([f]) => f);
}
