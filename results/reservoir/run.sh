#!/usr/bin/env bash
# The runs of the reservoir table (README "Reservoir computing"); each writes
# results/reservoir/<name>/ (metrics.csv, result.json, predictions.csv,
# checkpoint.json) and figures in <name>/fig/. Run from the repo root after
# `npm run build`. Variants: run-variants.sh. Table: node results/reservoir/table.mjs
set -euo pipefail
R="nice -n 10 node dist/cli/main.js reservoir"
for task in narma10 mackey-glass memory-capacity; do
  # baseline: echo state network, 50 nodes, hyperparameters chosen on validation
  $R --task $task --n 50 --model esn --out results/reservoir/$task-esn50 --plot results/reservoir/$task-esn50/fig
  # single STO, 50 virtual nodes (field input, 2.5 ns hold: the echo state property holds)
  $R --task $task --n 1 --virtual 50 --input-mode field --in-field 1000Oe --hold 2.5ns --epochs 20 --out results/reservoir/$task-n1v50 --plot results/reservoir/$task-n1v50/fig
  # 50 coupled STOs, current input (the echo state property holds), 100 ps hold
  $R --task $task --n 50 --input-mode current --in-current 2mA --hold 100ps --epochs 60 --out results/reservoir/$task-n50-current --plot results/reservoir/$task-n50-current/fig
  # 50 coupled STOs, field input, 500 ps hold (no echo state property: contrast)
  $R --task $task --n 50 --input-mode field --in-field 1000Oe --hold 500ps --epochs 20 --out results/reservoir/$task-n50 --plot results/reservoir/$task-n50/fig
done
