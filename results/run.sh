#!/usr/bin/env bash
# The training runs of results/README.md, one after the other.
# Usage: bash results/run.sh CASE...   (CASE = a --tune value; CM = 10)
set -euo pipefail
cd "$(dirname "$0")/.."
for tune in "$@"; do
  name=$(echo "$tune" | tr ',' '-')-cm10
  dir=results/$name
  mkdir -p "$dir"
  cmd="node dist/cli/main.js mnist --cm 10 --tune $tune --epochs ${EPOCHS:-15} --seed 1 --threads 2 --out $dir"
  if [ -f "$dir/checkpoint.bin" ]; then cmd="node dist/cli/main.js mnist --resume $dir --threads 2"; fi
  echo "$cmd" >> "$dir/command.txt"
  $cmd 2>> "$dir/log.txt"
done
