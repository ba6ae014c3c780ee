#!/usr/bin/env bash
# Linewidths in `sysid --spectrum` (README "Linewidths in the fit"): re-run from the repository root with
# `bash results/spectrum-linewidth/run.sh` (about 5 minutes on 2 cores, most of it the 300 K sweeps).
set -euo pipefail
cd "$(dirname "$0")"
stoopt() { node ../../dist/cli/main.js "$@"; }
# (a) simulated linewidths at 300 K (Heun, Welch segments of 2 us): 5 currents x 4 trials, then 4 and 5 mA with 16 trials and another seed
stoopt spectrum --sweep j_DC=3mA:7mA:1mA --temperature 300K --trials 4 --duration 6us --segment 2us --washout 50ns -o lw-300K.csv --json > lw-300K.json 2> lw-300K.log
stoopt spectrum --sweep j_DC=4mA,5mA --temperature 300K --trials 16 --duration 6us --segment 2us --washout 50ns --seed 7 --no-threshold -o lw-300K-16trials.csv --json > lw-300K-16trials.json 2> lw-300K-16trials.log
# (b) fits to the 5-point table: frequencies only, and with the linewidths (--temperature 300K);
# the same with f_err = half the width (weighted fits), and with f_err = 1 GHz (the linewidths alone)
python3 - <<'PY'
lines = open("lw-300K.csv").read().strip().split("\n")
w = lines[0].split(",").index("linewidth_Hz")
for name, err in (("lw-300K-ferr.csv", lambda l: float(l.split(",")[w]) / 2), ("lw-300K-lwonly.csv", lambda l: 1e9)):
    open(name, "w").write("\n".join([lines[0] + ",f_err_Hz"] + [l + "," + repr(err(l)) for l in lines[1:]]) + "\n")
PY
for fit in alpha H_appl,alpha; do
  for t in "" "--temperature 300K"; do
    for tab in lw-300K.csv lw-300K-ferr.csv; do
      n=fit-${fit/,/-}-$([ -n "$t" ] && echo lw || echo f)-${tab%.csv}
      # shellcheck disable=SC2086
      stoopt sysid --spectrum $tab --fit $fit $t --threads 1 --json > $n.json 2> $n.log
    done
  done
  stoopt sysid --spectrum lw-300K-lwonly.csv --fit $fit --temperature 300K --threads 1 --json > fit-${fit/,/-}-lwonly.json 2> fit-${fit/,/-}-lwonly.log
done
# (a) computed (phase-response-curve) against simulated linewidths: compare.csv
node --input-type=module - > compare.csv <<'JS'
import fs from "node:fs";
import { prcLinewidth } from "../../dist/cli/spectrum/linewidth.js";
import { PARAMS } from "../../dist/cli/model.js";
import { startOnCone } from "../../dist/cli/oscillator.js";
console.log("table,j_DC_A,trials,sim_linewidth_Hz,sim_err_Hz,prc_linewidth_Hz,deviation_sigma,weak_noise_ratio");
for (const [file, trials] of [["lw-300K.csv", 4], ["lw-300K-16trials.csv", 16], ["../spectrum/linewidth-300K.csv", 4]]) {
  const [head, ...rows] = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(","));
  for (const r of rows) {
    const p = Float64Array.from(PARAMS.map((q) => q.defaultValue));
    const j = Number(r[head.indexOf("j_DC_A")]);
    p[PARAMS.find((q) => q.name === "j_DC").index] = j;
    const th = prcLinewidth(p, 300, [], startOnCone(p)[2]);
    const [w, e] = [Number(r[head.indexOf("linewidth_Hz")]), Number(r[head.indexOf("linewidth_err_Hz")])];
    console.log([file, j, trials, w, e, th.fwhm_Hz, ((th.fwhm_Hz - w) / e).toFixed(2), th.weakNoiseRatio.toFixed(4)].join(","));
  }
}
JS
