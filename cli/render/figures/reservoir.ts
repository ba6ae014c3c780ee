/** Figures of `stoopt reservoir`: prediction vs target (test part), memory-capacity curve, NRMSE and the physical parameters against epoch. */
import { DEFAULT_EXPORT, ExportOptions, Figure, writeFigures } from "./export.js";
import { lineFigure } from "./figures.js";

export interface ReservoirResultLike {
  model: string;
  outputs: string[];
  test_prediction: { t0: number; target: number[]; prediction: number[] };
  mc_curve?: number[];
  history: {
    epoch: number;
    val_nrmse: number;
    test_nrmse: number;
    h_appl_mean_oe: number;
    h_appl_min_oe: number;
    h_appl_max_oe: number;
    j_dc_a: number;
    alpha: number;
    in_field_oe: number;
    in_current_a: number;
  }[];
}

const EPOCH = { name: "epoch", unit: "" };

export function reservoirFigures(r: ReservoirResultLike, points = 300): Figure[] {
  const p = r.test_prediction;
  const k = Math.min(points, p.target.length);
  const idx = Array.from({ length: k }, (_, i) => i);
  const figs: Figure[] = [
    lineFigure({
      name: "prediction",
      title: `Test part: ${r.outputs[0]}, first ${k} holds`,
      x: { name: "hold index t", unit: "" },
      y: { name: r.outputs[0], unit: "" },
      series: [
        { name: "target", points: idx.map((i): [number, number] => [p.t0 + i, p.target[i]]) },
        { name: `prediction (${r.model.split(",")[0]})`, points: idx.map((i): [number, number] => [p.t0 + i, p.prediction[i]]), dashed: true },
      ],
    }),
  ];
  if (r.mc_curve) {
    figs.push(
      lineFigure({
        name: "memory_capacity",
        title: `Memory curve (MC = ${r.mc_curve.reduce((a, b) => a + b, 0).toFixed(2)})`,
        x: { name: "delay k (holds)", unit: "" },
        y: { name: "squared correlation r^2", unit: "" },
        series: [{ name: "test part", points: r.mc_curve.map((v, i): [number, number] => [i + 1, v]) }],
      }),
    );
  }
  const h = r.history;
  if (h.length > 1) {
    const ser = (name: string, f: (e: ReservoirResultLike["history"][number]) => number) => ({ name, points: h.map((e): [number, number] => [e.epoch, f(e)]) });
    const one = (name: string, title: string, y: { name: string; unit: string }, series: ReturnType<typeof ser>[]) =>
      lineFigure({ name, title, x: EPOCH, y, legend: "top-right", series });
    figs.push(
      one("nrmse", "NRMSE against epoch (epoch 0: untuned)", { name: "NRMSE", unit: "" }, [
        ser("validation", (e) => e.val_nrmse),
        ser("test", (e) => e.test_nrmse),
      ]),
    );
    figs.push(
      one("h_appl", "Applied field against epoch", { name: "H_appl", unit: "Oe" }, [
        ser("mean over STOs", (e) => e.h_appl_mean_oe),
        ser("min", (e) => e.h_appl_min_oe),
        ser("max", (e) => e.h_appl_max_oe),
      ]),
    );
    figs.push(one("j_dc", "Current against epoch", { name: "j_DC", unit: "A" }, [ser("j_DC", (e) => e.j_dc_a)]));
    figs.push(one("alpha", "Gilbert damping against epoch", { name: "alpha", unit: "" }, [ser("alpha", (e) => e.alpha)]));
    figs.push(one("input_field_scale", "Input field scale against epoch", { name: "s_f", unit: "Oe" }, [ser("s_f", (e) => e.in_field_oe)]));
    figs.push(one("input_current_scale", "Input current scale against epoch", { name: "s_c", unit: "A" }, [ser("s_c", (e) => e.in_current_a)]));
  }
  return figs;
}

/** Write the figures (and their data as CSV) into `dir`; returns the files written. */
export async function plotReservoir(r: ReservoirResultLike, dir: string, o: ExportOptions = DEFAULT_EXPORT): Promise<string[]> {
  return writeFigures(dir, reservoirFigures(r), o, "--plot");
}
