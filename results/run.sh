#!/usr/bin/env bash
# Re-run the trainings of results/README.md, one after the other (~5-25 min each
# on 2 cores), into $OUT (default results/rerun; the committed folders are finished
# runs). Usage: bash results/run.sh [CASE...]  (CASE = a --tune value; default: all
# six of Table II at CM = 10; set CM=100 for another coupling; X0=raw BATCH=5
# THREADS=1 for the --x0-norm raw runs). A folder that already has a checkpoint
# is resumed instead of restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results/rerun}
cm=${CM:-10}
x0=${X0:-unit}
batch=${BATCH:-100}
threads=${THREADS:-2}
suffix=""
[ "$x0" != unit ] && suffix="-$x0-b$batch"
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(full win,wout win,phys win wout,phys wout)
for tune in "${cases[@]}"; do
  dir=$out/$(echo "$tune" | tr ',' '-')$suffix-cm$cm
  mkdir -p "$dir"
  if [ -f "$dir/checkpoint.bin" ]; then
    node dist/cli/main.js mnist --resume "$dir" --threads "$threads" 2>> "$dir/log.txt"
  else
    node dist/cli/main.js mnist --cm "$cm" --tune "$tune" --x0-norm "$x0" --batch "$batch" --epochs 15 --seed 1 --threads "$threads" --out "$dir" 2> "$dir/log.txt"
  fi
done
