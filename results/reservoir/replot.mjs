// Redraw every run's figures from its result.json (results/reservoir/*/fig/).
// node results/reservoir/replot.mjs   (after `npm run build`)
import { readdirSync, existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { plotReservoir } from "../../dist/cli/plots/reservoir.js";
const dir = path.dirname(fileURLToPath(import.meta.url));
for (const d of readdirSync(dir)) {
  const f = path.join(dir, d, "result.json");
  if (!existsSync(f)) continue;
  rmSync(path.join(dir, d, "fig"), { recursive: true, force: true });
  const files = await plotReservoir(JSON.parse(readFileSync(f, "utf8")), path.join(dir, d, "fig"));
  console.error(`${d}: ${files.length} files`);
}
