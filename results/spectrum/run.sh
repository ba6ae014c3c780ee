#!/usr/bin/env bash
# The spectrum experiments of README "Spectrum of an oscillator": re-run from the
# repository root with `bash results/spectrum/run.sh` (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
stoopt() { node ../../dist/cli/main.js "$@"; }
# Acceptance 2: f(I) at 1750 Oe, alpha 0.0055, 2.5-7.5 mA, noise-free, 100 ns washout + 20 ns window (as the bench)
stoopt spectrum --sweep j_DC=2.5mA:7.5mA:0.25mA --washout 100ns --max-washout 100ns --duration 20ns --plot fI -o fI.csv --json > fI.json 2> fI.log
# Near threshold: settling and "no auto-oscillation" (1.0-2.4 mA, washout 20 ns up to 400 ns until settled)
stoopt spectrum --sweep j_DC=1mA:2.4mA:0.2mA --washout 20ns --max-washout 400ns --duration 20ns -o threshold.csv --json > threshold.json 2> threshold.log
# Linewidth at 300 K at three currents: Heun, 4 trials x 6 us each, Welch segments of 2 us (resolution 0.72 MHz)
stoopt spectrum --sweep j_DC=3mA,5mA,7mA --temperature 300K --trials 4 --duration 6us --segment 2us --washout 50ns --plot linewidth-300K -o linewidth-300K.csv --json > linewidth-300K.json 2> linewidth-300K.log
# Acceptance 3: fit H_appl and alpha to a noise-free f(I) table made at H_appl 1820 Oe, alpha 0.007
stoopt spectrum --sweep j_DC=2.5mA:7.5mA:0.5mA --H_appl 1820 --alpha 0.007 -o fit-table.csv 2> fit-table.log
stoopt sysid --spectrum fit-table.csv --fit H_appl,alpha --json > fit.json 2> fit.log
