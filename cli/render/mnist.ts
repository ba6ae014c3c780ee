/** Rendering of the network commands' results as text: eval's line, mnist's per-epoch line. */
import type { EvalResult } from "../run/eval.js";
import type { NetConfig } from "../network/config.js";
import type { EpochRow } from "../network/checkpoint.js";

/** `stoopt eval` without --json. */
export function evalLine(r: EvalResult): string {
  return `test accuracy ${(100 * r.accuracy).toFixed(2)} % (${r.correct} of ${r.total}), loss ${r.loss.toFixed(4)}\n`;
}

/** The line on stderr when training starts. */
export function runHeader(cfg: NetConfig, threads: number, images: { train: number; test: number; val: number }): string {
  return `stoopt mnist: N=${cfg.n} CM=${cfg.cmOe} Oe tune=${cfg.tune} x0-norm=${cfg.x0Norm ?? "unit"} ${cfg.precision} dt=${cfg.dtS * 1e12} ps x ${cfg.steps} steps, batch ${cfg.batch}, ${threads} thread${threads > 1 ? "s" : ""}, ${images.train} training / ${images.test} test${images.val ? ` / ${images.val} validation (held out from training)` : ""} images`;
}

/** The line on stderr after each epoch, from its row of the history. */
export function epochLine(h: EpochRow, epochs: number): string {
  return (
    `epoch ${h.epoch}/${epochs}: train loss ${h.train_loss.toFixed(4)} acc ${(100 * h.train_accuracy).toFixed(2)} %, test acc ${(100 * h.test_accuracy).toFixed(2)} %, ${h.val_accuracy !== null && h.val_accuracy !== undefined ? `val acc ${(100 * h.val_accuracy).toFixed(2)} %, ` : ""}` +
    `H_appl ${h.h_appl_mean_oe.toFixed(1)} Oe (var ${h.h_appl_var_oe2.toFixed(2)} Oe^2), j_DC ${(h.j_dc_a * 1e3).toFixed(4)} mA, alpha ${h.alpha.toFixed(6)}, ` +
    `${h.images_per_s.toFixed(0)} img/s, ${h.train_s.toFixed(1)} s`
  );
}
