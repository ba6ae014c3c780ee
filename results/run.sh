#!/usr/bin/env bash
# Re-run the trainings of results/README.md, one after the other (~5-25 min each
# on 2 cores), into $OUT (default results/rerun; the committed folders are finished
# runs). Usage: bash results/run.sh [CASE...]  (CASE = a --tune value; default: all
# six of Table II at CM = 10; set CM=100 for another coupling). A folder that
# already has a checkpoint is resumed instead of restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results/rerun}
cm=${CM:-10}
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(full win,wout win,phys win wout,phys wout)
for tune in "${cases[@]}"; do
  dir=$out/$(echo "$tune" | tr ',' '-')-cm$cm
  mkdir -p "$dir"
  if [ -f "$dir/checkpoint.bin" ]; then
    node dist/cli/main.js mnist --resume "$dir" --threads 2 2>> "$dir/log.txt"
  else
    node dist/cli/main.js mnist --cm "$cm" --tune "$tune" --epochs 15 --seed 1 --threads 2 --out "$dir" 2> "$dir/log.txt"
  fi
done
