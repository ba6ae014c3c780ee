/** Figures of the coupled-STO network on MNIST: Fig. 4 (b-f) and supplement Fig. 8. */
import { lineFigure } from "./figures.js";
import type { Spec } from "./render.js";

export interface MnistEpoch {
  epoch: number;
  train_accuracy: number;
  test_accuracy: number;
  val_accuracy?: number | null;
  h_appl_mean_oe: number;
  h_appl_var_oe2: number;
  j_dc_a: number;
  alpha: number;
}

const series = (h: MnistEpoch[], name: string, f: (e: MnistEpoch) => number) => ({ name, points: h.map((e): [number, number] => [e.epoch, f(e)]) });

/** Train and test accuracy against epoch (Fig. 4 b). */
export function accuracyFigure(h: MnistEpoch[], label: string): Spec {
  return lineFigure({
    title: `Accuracy against epoch (${label})`,
    xTitle: "epoch [1]",
    yTitle: "accuracy [%]",
    series: [series(h, "train accuracy", (e) => 100 * e.train_accuracy), series(h, "test accuracy (10,000 test images)", (e) => 100 * e.test_accuracy), ...(h.some((e) => e.val_accuracy != null) ? [series(h, "validation accuracy (held out)", (e) => 100 * (e.val_accuracy ?? NaN))] : [])],
  });
}

/** Mean and variance of H_appl, and the shared j_DC and alpha, against epoch (Fig. 4 c-f). */
export function physicsFigures(h: MnistEpoch[]): [string, Spec][] {
  const one = (file: string, title: string, yTitle: string, name: string, f: (e: MnistEpoch) => number): [string, Spec] => [file, lineFigure({ title, xTitle: "epoch [1]", yTitle, series: [series(h, name, f)] })];
  return [
    one("h_appl_mean.svg", "Mean applied field against epoch", "mean H_appl [Oe]", "mean of the STOs' H_appl", (e) => e.h_appl_mean_oe),
    one("h_appl_var.svg", "Variance of the applied field against epoch", "variance of H_appl [Oe^2]", "variance over the STOs", (e) => e.h_appl_var_oe2),
    one("j_dc.svg", "Current against epoch", "j_DC [mA]", "j_DC (shared)", (e) => 1e3 * e.j_dc_a),
    one("alpha.svg", "Gilbert damping against epoch", "alpha [1]", "alpha (shared)", (e) => e.alpha),
  ];
}

/** m_x, m_y, m_z of several STOs for one image against time (supplement Fig. 8). */
export function stoDynamicsFigures(tag: string, tS: number[], stos: { index: number; m: [number, number, number][] }[]): [string, Spec][] {
  return (["x", "y", "z"] as const).map((c, k): [string, Spec] => [
    `dynamics-${tag}-m${c}.svg`,
    lineFigure({
      title: `m_${c} of ${stos.length} STOs for one image, ${tag} training`,
      xTitle: "t [ps]",
      yTitle: `m_${c} [1]`,
      series: stos.map((s) => ({ name: `STO ${s.index}`, points: tS.map((t, i): [number, number] => [t * 1e12, s.m[i][k]]) })),
    }),
  ]);
}
