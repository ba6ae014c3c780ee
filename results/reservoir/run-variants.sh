#!/usr/bin/env bash
# Variants of the NARMA10 N = 50 field-input run (README "Reservoir computing").
# Run from the repo root after `npm run build`.
set -euo pipefail
R="nice -n 10 node dist/cli/main.js reservoir"
E=${EPOCHS:-20}
$R --task narma10 --n 50 --input-mode field --in-field 1000Oe --hold 500ps --features mz --epochs $E --out results/reservoir/narma10-n50-mz --plot results/reservoir/narma10-n50-mz/fig
$R --task narma10 --n 50 --input-mode field --in-field 1000Oe --hold 500ps --train 6000 --epochs $E --out results/reservoir/narma10-n50-train6000 --plot results/reservoir/narma10-n50-train6000/fig
# after the step-rule fix: the single STO (1000 Oe input field) with the held-out objective
$R --task narma10 --n 1 --virtual 50 --input-mode field --in-field 1000Oe --hold 2.5ns --epochs 20 --objective heldout --out results/reservoir/narma10-n1v50-heldout --plot results/reservoir/narma10-n1v50-heldout/fig
