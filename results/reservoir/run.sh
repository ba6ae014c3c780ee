#!/usr/bin/env bash
# The runs of the reservoir table (README "Reservoir computing"); each writes
# results/reservoir/<name>/ (metrics.csv, result.json, predictions.csv,
# checkpoint.json) and figures in <name>/fig/. Run from the repo root.
set -euo pipefail
R="nice -n 10 node dist/cli/main.js reservoir"
E=${EPOCHS:-20}
for task in narma10 mackey-glass memory-capacity; do
  $R --task $task --n 50 --model esn --out results/reservoir/$task-esn50 --plot results/reservoir/$task-esn50/fig
  $R --task $task --n 1 --virtual 50 --hold 2.5ns --epochs $E --out results/reservoir/$task-n1v50 --plot results/reservoir/$task-n1v50/fig
done
for task in narma10 mackey-glass memory-capacity; do
  $R --task $task --n 50 --epochs $E --out results/reservoir/$task-n50 --plot results/reservoir/$task-n50/fig
done
