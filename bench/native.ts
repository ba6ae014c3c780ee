/** Run the native bench binary of core-rs (cargo), if cargo is available. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function nativeBench(example: string): Record<string, number> | undefined {
  const home = process.env.HOME ?? "/root";
  const cargo = [path.join(home, ".cargo/bin/cargo"), "cargo"].find((c) => spawnSync(c, ["--version"]).status === 0);
  if (!cargo) return undefined;
  const r = spawnSync(cargo, ["run", "--quiet", "--release", "-p", "stoopt-core", "--example", example], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(`native bench '${example}' failed:\n${r.stderr}\n`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
}
