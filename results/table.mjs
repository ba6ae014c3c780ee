// Writes the Table II style table of results/README.md from the run folders.
// Usage: node results/table.mjs > results/table.md
import fs from "node:fs";
import path from "node:path";
const here = path.dirname(new URL(import.meta.url).pathname);
// Table II of the paper, CM = 10.0 column (and CM = 100 for full-cm100)
const cases = [
  ["(1)", "full", "W_in, physics, W_out", 98.42],
  ["(1)", "full-cm100", "W_in, physics, W_out", 98.49],
  ["(2)", "win-wout", "W_in, W_out", 98.35],
  ["(3)", "win-phys", "W_in, physics", 97.66],
  ["(4)", "win", "W_in", 97.57],
  ["(5)", "wout-phys", "physics, W_out", 95.66],
  ["(6)", "wout", "W_out", 95.49],
  // --x0-norm raw --batch 5 or 2 (results/validation/README.md)
  ["(5)", "wout-phys-raw-b5", "physics, W_out; raw x(0), batch 5", 95.66],
  ["(6)", "wout-raw-b5", "W_out; raw x(0), batch 5", 95.49],
  ["(6)", "wout-raw-b2", "W_out; raw x(0), batch 2", 95.49],
];
const out = [
  "| case | tuned | CM [Oe] | epochs | test accuracy [%] (last epoch) | paper, Table II [%] | train accuracy [%] | mean H_appl [Oe] (variance [Oe^2]) | j_DC [mA] | alpha | wall time [s] | mean images/s |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|",
];
for (const [id, dir, what, paper] of cases) {
  const f = path.join(here, dir.endsWith("cm100") ? dir : `${dir}-cm10`, "result.json");
  if (!fs.existsSync(f)) {
    out.push(`| ${id} | ${what} | ${dir.endsWith("cm100") ? 100 : 10} | not run | | ${paper.toFixed(2)} | | | | | | |`);
    continue;
  }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  const h = r.history;
  const last = h[h.length - 1];
  const ips = h.reduce((a, e) => a + e.images_per_s, 0) / h.length;
  const ep = r.epochs_done < r.config.epochs ? `${r.epochs_done} of ${r.config.epochs}` : String(r.epochs_done);
  out.push(
    `| ${id} | ${what} | ${r.config.cmOe} | ${ep} | **${(100 * last.test_accuracy).toFixed(2)}** | ${paper.toFixed(2)} | ${(100 * last.train_accuracy).toFixed(2)} | ${last.h_appl_mean_oe.toFixed(1)} (${last.h_appl_var_oe2.toFixed(1)}) | ${(1e3 * last.j_dc_a).toFixed(3)} | ${last.alpha.toFixed(5)} | ${last.wall_s.toFixed(0)} | ${ips.toFixed(0)} |`,
  );
}
console.log(out.join("\n"));
