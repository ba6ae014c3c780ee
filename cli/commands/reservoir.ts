/** `stoopt reservoir`: STO reservoir computing on temporal tasks, physics tuned by the exact gradient; the work is cli/run/reservoir.ts. */
import { Command } from "commander";
import { addFigureOptions } from "../options/figures.js";
import { toJsonIndented } from "../render/text.js";

const HELP_AFTER = `
Model: the coupled-STO network of 'stoopt mnist' (N LLG STOs, Table I, coupling eq. 8
H_i = CM sum_k w_ik m_k,x along e_x at every RK4 stage, w Gaussian / spectral radius,
RK4 with |m| = 1 after every step) driven by an input series u_t: each value is held
for --hold, split into --virtual intervals of equal length; during interval k STO i
gets the current j_DC + s_c W_in[k,i] u_t (--input-mode current, the default) and/or
the field s_f W_in[k,i] u_t along x (field). W_in uniform in [-1, 1]. --n 1 --virtual K is
the time-multiplexed single oscillator (W_in = the random mask). Features: the state
at the end of every interval (m_x only, or all three components).

Readout: ridge regression in closed form on the training part, with its bias
unpenalized and lambda chosen on the validation part from 1e-14 .. 1e0 (exact and
cheap, and by the envelope theorem the gradient of the ridge-optimal loss needs no
derivative of the solution; a readout trained jointly by Adam is not implemented).

Training the physics: each epoch is one forward pass over the whole series, the
ridge readout re-solved, and one Adam step on the chosen parameters (--tune) with
the exact gradient of the training objective sum_o (|X w_o - y_o|^2 + lambda0 |w_o|^2)
/ (T var y_o) / n_out (ridge-optimal w, lambda0 = the validation choice of epoch 0)
through the whole driven trajectory: the discrete adjoint of every
RK4 stage, with checkpointing (state kept every --checkpoint-every holds, each
segment recomputed in the backward pass). H_appl, j_DC, alpha are clipped to the
paper's ranges. A step that raises the objective is undone, every rate halved
(the paper's rule) and Adam's moments restarted (kept moments can point uphill at
the old point: the run would never move again). --objective heldout descends instead
the held-out loss: features standardized on the training part, readout fitted on its
first half at lambda0, loss on its second half (gradient through the ridge solution). The reported model is the epoch with the lowest validation NRMSE
(epoch 0 = untuned: the paper's centre values).

Washout: the first --washout holds (default 200) are used by no readout: the
initial state must be forgotten (echo state property). Measured with two random
initial states under the same input (results/reservoir/echo-state.txt): the
features agree to rounding after 10 holds (N = 1, 50 virtual nodes), 50 holds
(N = 50, current input, 500 ps hold) and 200 holds (current input, 100 ps hold).
With field input at the paper's centre values the N = 50 network never forgets
its initial state (the free-running oscillators' phases do not lock): no washout
helps, and the table says so.

Tasks (seeded by --seed): narma10 (u uniform in [0, 0.5], target y(t+1) of the
standard NARMA10 recurrence); mackey-glass (tau 17, RK4 at 0.1, sampled every time
unit, input x(t), targets x(t+h) for every --horizons h: direct one- and multi-step
prediction); memory-capacity (u uniform in [-0.5, 0.5], targets u(t-k) for k = 1 ..
--mc-delays; MC = sum of squared correlations on the test part); or --input FILE
--target COLUMN (CSV with a header; input column --input-column).

--model esn: the echo state network baseline, N x virtual tanh nodes, spectral
radius, input scale and bias scale chosen on validation.

Outputs (--out DIR, after every epoch, atomically): metrics.csv, result.json,
predictions.csv (test part), checkpoint.json; --resume DIR continues a run; a DIR that
holds a run is refused (use --resume DIR, or --force to start afresh). SIGINT/SIGTERM stop
at the next pass over the series: DIR keeps the last finished epoch (exit 130/143);
--plot DIR draws prediction vs target, the memory-capacity curve and the
parameters against epoch.

Examples:
  stoopt reservoir --task narma10 --n 50 --epochs 60 --out results/reservoir/narma10-n50-current
  stoopt reservoir --task narma10 --n 1 --virtual 50 --input-mode field --hold 2.5ns --out /tmp/n1
  stoopt reservoir --task memory-capacity --model esn --n 50 --json`;

export function reservoirCommand(): Command {
  const cmd = new Command("reservoir")
    .description("Reservoir computing with coupled STOs on temporal tasks (NARMA10, Mackey-Glass, memory capacity), physics tuned by the exact gradient")
    .usage("[options]")
    .option("--task <name>", "narma10, mackey-glass or memory-capacity (ignored with --input)", "narma10")
    .option("--input <file>", "a CSV series instead of a generated task (needs --target)")
    .option("--input-column <name>", "column of the CSV holding the input", "u")
    .option("--target <name>", "column of the CSV holding the target")
    .option("--model <m>", "sto (the STO reservoir) or esn (echo state network baseline)", "sto")
    .option("--n <N>", "number of STOs (ESN: nodes = N x virtual)", "50")
    .option("--virtual <K>", "virtual nodes per hold (time multiplexing with a random mask)", "1")
    .option(
      "--features <f>",
      "all (m_x, m_y, m_z of every STO and interval), mx (m_x only: what a magnetoresistive read-out measures) or mz (m_z only: the precession cone, i.e. the amplitude an envelope detector measures)",
      "all",
    )
    .option(
      "--input-mode <m>",
      "current (j_DC + s_c W_in u, as in experiments; the echo state property holds, see README), field (s_f W_in u along x) or both",
      "current",
    )
    .option("--dt <time>", "RK4 step (bare number: ns)", "50ps")
    .option("--hold <time>", "time each input value is held, a whole number of steps per virtual node (bare number: ns)", "100ps")
    .option("--cm <Oe>", "coupling strength CM of eq. (8) (bare number: Oe)", "10Oe")
    .option("--H_appl <value>", "initial applied field of every STO (bare number: Oe)", "1750Oe")
    .option("--j_DC <value>", "initial current (bare number: A)", "5mA")
    .option("--alpha <value>", "initial Gilbert damping", "0.0055")
    .option("--in-field <value>", "input field scale s_f (bare number: Oe)", "1000Oe")
    .option("--in-current <value>", "input current scale s_c (bare number: A)", "2mA")
    .option("--tune <groups>", "trained parameters: any of happl,jdc,alpha,scale,win (or none)", "happl,jdc,alpha,scale,win")
    .option("--epochs <n>", "Adam steps on the physics (0: untuned only)", "30")
    .option(
      "--objective <o>",
      "what the physics descends: train (the ridge-optimal training loss) or heldout (features standardized on the training part, readout fitted on its first half, loss on its second half: tracks validation when the training loss overfits, see results/reservoir/n1-diagnosis.txt)",
      "train",
    )
    .option("--lr-happl <Oe>", "Adam learning rate of H_appl [Oe]", "5")
    .option("--lr-jdc <A>", "Adam learning rate of j_DC [A]", "5e-5")
    .option("--lr-alpha <x>", "Adam learning rate of alpha", "2e-4")
    .option("--lr-field <Oe>", "Adam learning rate of s_f [Oe]", "20")
    .option("--lr-current <A>", "Adam learning rate of s_c [A]", "5e-5")
    .option("--lr-win <x>", "Adam learning rate of W_in", "0.02")
    .option("--washout <holds>", "holds used by no readout at the start", "200")
    .option("--train <holds>", "training part", "2000")
    .option("--val <holds>", "validation part (chooses lambda, the reported epoch, the ESN's hyperparameters)", "1000")
    .option("--test <holds>", "test part (only reported)", "1000")
    .option("--length <holds>", "length of the generated series (default: washout + train + val + test)")
    .option("--horizons <list>", "mackey-glass prediction horizons", "1,10")
    .option("--mc-delays <k>", "memory-capacity delays 1..k", "60")
    .option(
      "--checkpoint-every <holds>",
      "adjoint checkpoint interval C (default: the C minimizing checkpoints + one recorded segment, sqrt(3 T / (20 x RK4 steps per hold)))",
    )
    .option("--seed <n>", "seed of the series, coupling, W_in and initial state", "1")
    .option("--out <dir>", "write metrics.csv, result.json, predictions.csv and checkpoint.json here")
    .option("--resume <dir>", "continue the run whose checkpoint.json is in DIR (settings come from it; --epochs may extend)")
    .option("--force", "with --out: start afresh even if DIR holds a run (its files are replaced after the first tuned epoch)")
    .option("--plot <dir>", "at the end, draw the figures into DIR")
    .option("--json", "print result.json to stdout at the end");
  addFigureOptions(cmd, "--plot");
  cmd.addHelpText("after", HELP_AFTER);
  cmd.action(async (opts: Record<string, string | boolean | undefined>) => {
    const { reservoirSettingsFromFlags } = await import("../options/reservoir.js");
    const settings = reservoirSettingsFromFlags(opts, (k) => cmd.getOptionValueSource(k) === "cli");
    const { runReservoir } = await import("../run/reservoir.js");
    const result = await runReservoir(settings);
    if (settings.json) process.stdout.write(toJsonIndented(result));
  });
  return cmd;
}
