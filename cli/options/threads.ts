/** The default of mnist's and eval's --threads: every core. */
import os from "node:os";

export function defaultThreads(): number {
  return Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
}
