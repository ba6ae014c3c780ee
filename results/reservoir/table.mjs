// Print the reservoir results table (markdown) from results/reservoir/*/result.json.
// node results/reservoir/table.mjs
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
const dir = path.dirname(fileURLToPath(import.meta.url));
const read = (name) => {
  const f = path.join(dir, name, "result.json");
  return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
};
const fmt = (v, d = 3) => (v === undefined || v === null ? "n/a" : v.toFixed(d));
const metric = (task, r, which) => {
  if (!r) return "not run";
  if (task === "memory-capacity") return `MC ${fmt(which === "untuned" ? r.history[0]?.test_mc : r.memory_capacity, 2)}`;
  const mean = r.test_nrmse.reduce((a, b) => a + b, 0) / r.test_nrmse.length;
  if (which === "untuned") return fmt(r.history[0].test_nrmse);
  return r.test_nrmse.length > 1 ? `${fmt(mean)} (${r.test_nrmse.map((v) => fmt(v)).join(" / ")})` : fmt(mean);
};
const rows = [];
for (const task of ["narma10", "mackey-glass", "memory-capacity"]) {
  const esn = read(`${task}-esn50`);
  for (const [tag, label] of [["n1v50", "N = 1, 50 virtual nodes, field input 1000 Oe, 2.5 ns hold"], ["n1v50-f100", "N = 1, 50 virtual nodes, field input 100 Oe (chosen on validation), 2.5 ns hold"], ["n50-current", "N = 50 coupled, current input, 100 ps hold"], ["n50", "N = 50 coupled, field input, 500 ps hold (no echo state property)"]]) {
    const r = read(`${task}-${tag}`);
    const untunedVal = r ? fmt(r.history[0].val_nrmse) : "n/a";
    const tunedVal = r ? fmt(r.history.find((h) => h.epoch === r.chosen_epoch)?.val_nrmse) : "n/a";
    const acc = r ? r.history.slice(1).reduce((a, h) => a + h.accepted, 0) : 0;
    rows.push(`| ${task} | ${label} | ${r ? metric(task, r, "untuned") : "not run"} | ${r ? `${metric(task, r, "tuned")} (epoch ${r.chosen_epoch})` : "not run"} | ${untunedVal} -> ${tunedVal} | ${esn ? metric(task, esn, "tuned") : "not run"} | ${r ? `${r.epochs_done} (${acc} kept)` : ""} | ${r ? fmt(r.wall_s, 0) : ""} |`);
  }
}
console.log("| task | STO reservoir | untuned (centre values), test | tuned, test (chosen epoch) | validation NRMSE untuned -> tuned | ESN, 50 nodes, test | epochs (steps kept) | wall [s] |");
console.log("|---|---|---|---|---|---|---|---|");
console.log(rows.join("\n"));
