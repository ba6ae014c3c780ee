#!/usr/bin/env bash
# The STO rows of the reservoir table (run.sh without the ESN baselines, which
# the Adam fix does not touch), re-run after the undo rule was changed to restart
# Adam's moments (results/reservoir/n1-diagnosis.txt). Run from the repo root
# after `npm run build`. Table: node results/reservoir/table.mjs
set -euo pipefail
R="nice -n 10 node dist/cli/main.js reservoir"
for task in narma10 mackey-glass memory-capacity; do
  $R --task $task --n 1 --virtual 50 --input-mode field --in-field 1000Oe --hold 2.5ns --epochs 20 --out results/reservoir/$task-n1v50 --plot results/reservoir/$task-n1v50/fig
  $R --task $task --n 50 --input-mode current --in-current 2mA --hold 100ps --epochs 60 --out results/reservoir/$task-n50-current --plot results/reservoir/$task-n50-current/fig
done
for task in narma10 mackey-glass memory-capacity; do
  $R --task $task --n 50 --input-mode field --in-field 1000Oe --hold 500ps --epochs 20 --out results/reservoir/$task-n50 --plot results/reservoir/$task-n50/fig
done
# single STO, 50 virtual nodes, input field scale 100 Oe (the best untuned validation NRMSE
# on NARMA10 over s_f in 100 .. 2000 Oe, n1-diagnosis.txt section 2), s_f rate 2 Oe (2 % of
# s_f, as the default 20 Oe is of 1000 Oe), 60 epochs
for task in narma10 mackey-glass memory-capacity; do
  $R --task $task --n 1 --virtual 50 --input-mode field --in-field 100Oe --lr-field 2 --hold 2.5ns --epochs 60 --out results/reservoir/$task-n1v50-f100 --plot results/reservoir/$task-n1v50-f100/fig
done
