#!/usr/bin/env bash
# Re-run the trainings of results/README.md, one after the other (each ~5-25 min
# on 2 cores). Usage: bash results/run.sh [CASE...]  (CASE = a --tune value;
# default: all six of Table II at CM = 10). CM=100: see full-cm100/command.txt.
# A folder that already has a checkpoint is resumed instead of restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(full win,wout win,phys win wout,phys wout)
for tune in "${cases[@]}"; do
  dir=results/$(echo "$tune" | tr ',' '-')-cm10
  mkdir -p "$dir"
  if [ -f "$dir/checkpoint.bin" ]; then
    node dist/cli/main.js mnist --resume "$dir" --threads 2 2>> "$dir/log.txt"
  else
    node dist/cli/main.js mnist --cm 10 --tune "$tune" --epochs 15 --seed 1 --threads 2 --out "$dir" 2> "$dir/log.txt"
  fi
done
