#!/usr/bin/env bash
# Variants of the NARMA10 N = 50 run (README "Reservoir computing"), and the two
# N = 1 runs of run.sh repeated with the final training rule (steps that raise
# the objective are undone). Run from the repo root.
set -euo pipefail
R="nice -n 10 node dist/cli/main.js reservoir"
E=${EPOCHS:-20}
for task in narma10 mackey-glass; do
  $R --task $task --n 1 --virtual 50 --hold 2.5ns --epochs $E --out results/reservoir/$task-n1v50 --plot results/reservoir/$task-n1v50/fig
done
$R --task narma10 --n 50 --features mz --epochs $E --out results/reservoir/narma10-n50-mz --plot results/reservoir/narma10-n50-mz/fig
$R --task narma10 --n 50 --train 6000 --epochs $E --out results/reservoir/narma10-n50-train6000 --plot results/reservoir/narma10-n50-train6000/fig
# current-modulation input (the echo state property holds, see README), hold 100 ps
for task in narma10 memory-capacity; do
  $R --task $task --n 50 --input-mode current --in-current 2mA --hold 100ps --epochs $E --out results/reservoir/$task-n50-current --plot results/reservoir/$task-n50-current/fig
done
