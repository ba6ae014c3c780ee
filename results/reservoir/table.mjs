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
  if (task === "memory-capacity") {
    if (which === "untuned") return fmt(r.history[0]?.test_mc, 2);
    return fmt(r.memory_capacity, 2);
  }
  const h0 = r.history[0];
  if (which === "untuned") {
    if (task === "mackey-glass") return "see below";
    return fmt(h0.test_nrmse);
  }
  return r.test_nrmse.map((v) => fmt(v)).join(" / ");
};
const rows = [];
for (const task of ["narma10", "mackey-glass", "memory-capacity"]) {
  const esn = read(`${task}-esn50`);
  for (const [tag, label] of [["n1v50", "N = 1, 50 virtual nodes"], ["n50", "N = 50 coupled"]]) {
    const r = read(`${task}-${tag}`);
    const untunedVal = r ? fmt(r.history[0].val_nrmse) : "n/a";
    const tunedVal = r ? fmt(r.history.find((h) => h.epoch === r.chosen_epoch)?.val_nrmse) : "n/a";
    rows.push(`| ${task} | ${label} | ${r ? fmt(r.history[0].test_nrmse) : "n/a"}${task === "memory-capacity" ? ` (MC ${metric(task, r, "untuned")})` : ""} | ${r ? `${metric(task, r, "tuned")} (epoch ${r.chosen_epoch})` : "not run"} | ${untunedVal} -> ${tunedVal} | ${esn ? metric(task, esn, "tuned") : "not run"} | ${r ? r.epochs_done : ""} | ${r ? fmt(r.wall_s, 0) : ""} |`);
  }
}
console.log("| task | STO reservoir | untuned (centre values) test | tuned test (chosen epoch) | validation untuned -> tuned | ESN, 50 nodes, test | epochs | wall [s] |");
console.log("|---|---|---|---|---|---|---|---|");
console.log(rows.join("\n"));
