/** Figures of the coupled-STO network on MNIST: Fig. 4 (b-f) and supplement Fig. 8. */
import { lineFigure } from "./figures.js";
import type { Figure } from "./export.js";

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

/** What the run used, from its result: image counts of each set. */
export interface MnistCounts {
  train_images?: number;
  test_images?: number;
  val_images?: number;
}

const series = (h: MnistEpoch[], name: string, f: (e: MnistEpoch) => number) => ({ name, points: h.map((e): [number, number] => [e.epoch, f(e)]) });
const EPOCH = { name: "epoch", unit: "" };
const images = (n: number | undefined, what: string) => (n !== undefined ? ` (${n} ${what} images)` : "");

/** Train and test accuracy against epoch (Fig. 4 b); the legend states the set sizes the run used. */
export function accuracyFigure(h: MnistEpoch[], label: string, counts: MnistCounts = {}): Figure {
  return lineFigure({
    name: "accuracy",
    title: `Accuracy against epoch (${label})`,
    x: EPOCH,
    y: { name: "accuracy", unit: "%" },
    legend: "bottom-right",
    series: [
      series(h, `train accuracy${images(counts.train_images, "training")}`, (e) => 100 * e.train_accuracy),
      series(h, `test accuracy${images(counts.test_images, "test")}`, (e) => 100 * e.test_accuracy),
      ...(h.some((e) => e.val_accuracy != null)
        ? [series(h, `validation accuracy${images(counts.val_images, "held-out")}`, (e) => 100 * (e.val_accuracy ?? NaN))]
        : []),
    ],
  });
}

/** Mean and variance of H_appl, and the shared j_DC and alpha, against epoch (Fig. 4 c-f). */
export function physicsFigures(h: MnistEpoch[]): Figure[] {
  const one = (name: string, title: string, y: { name: string; unit: string }, s: string, f: (e: MnistEpoch) => number): Figure =>
    lineFigure({ name, title, x: EPOCH, y, legend: "top-right", series: [series(h, s, f)] });
  return [
    one("h_appl_mean", "Mean applied field against epoch", { name: "mean H_appl", unit: "Oe" }, "mean of the STOs' H_appl", (e) => e.h_appl_mean_oe),
    one(
      "h_appl_var",
      "Variance of the applied field against epoch",
      { name: "variance of H_appl", unit: "Oe\u00b2" },
      "variance over the STOs",
      (e) => e.h_appl_var_oe2,
    ),
    one("j_dc", "Current against epoch", { name: "j_DC", unit: "A" }, "j_DC (shared)", (e) => e.j_dc_a),
    one("alpha", "Gilbert damping against epoch", { name: "alpha", unit: "" }, "alpha (shared)", (e) => e.alpha),
  ];
}

/** m_x, m_y, m_z of several STOs for one image against time (supplement Fig. 8). */
export function stoDynamicsFigures(
  tag: string,
  tS: number[],
  stos: { index: number; m: [number, number, number][] }[],
  image?: { index: number; label: number },
): Figure[] {
  const which = image ? `test image ${image.index} (digit ${image.label})` : "one image";
  return (["x", "y", "z"] as const).map((c, k): Figure =>
    lineFigure({
      name: `dynamics-${tag}-m${c}`,
      title: `${which}, ${tag} training`,
      x: { name: "t", unit: "s" },
      y: { name: `m_${c}`, unit: "" },
      series: stos.map((s) => ({ name: `STO ${s.index}`, points: tS.map((t, i): [number, number] => [t, s.m[i][k]]) })),
    }),
  );
}
