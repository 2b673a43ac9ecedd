#!/usr/bin/env bash
# The main job (make demo's `run`, same flags) once per BLAS library, one
# after the other, each in a fresh run dir with its own model name and
# fine-tuned models dir, so neither resumes the other's checkpoints.
# Prints wall time, peak RSS, the load average sampled every 30 s, and the
# run summary's quality line for each. Run it on a quiet machine: the two
# runs are compared like for like only when nothing else shares the cores.
# Usage: bench/mainjob-blas.sh OUT_DIR BLAS...   (BLAS: engine|system|PATH,
# as VULNTUNE_BLAS takes it). Needs `make setup` (bin/vulntune, the engine);
# VULNTUNE_BIN names another binary. Base answers an earlier run cached
# make a run faster: FRESH_CACHE=1 empties <data_dir>/cache/evaluate before
# each run, so each is timed as a first run.
set -euo pipefail
out=${1:?output dir}; shift
[ $# -gt 0 ] || set -- engine system
# make demo's flags, read from the Makefile so the two cannot drift apart.
flags=${DEMO_FLAGS:-$(sed -n 's/^DEMO_FLAGS ?= //p' "$(dirname "$0")/../Makefile")}
[ -n "$flags" ] || { echo "no DEMO_FLAGS in the Makefile" >&2; exit 2; }
mkdir -p "$out"
for blas in "$@"; do
  label=$(basename "$blas" | tr -c 'A-Za-z0-9\n' '-')
  dir="$out/$label"; rm -rf "$dir"; mkdir -p "$dir"
  name="bench-blas-$label-$(date +%s)"
  ( while sleep 30; do echo "$(date +%T) $(cut -d' ' -f1-3 /proc/loadavg)"; done ) >"$dir/load.log" &
  sampler=$!
  if [ "${FRESH_CACHE:-}" = 1 ]; then
    data=$("${VULNTUNE_BIN:-bin/vulntune}" config show | awk '$1 == "data_dir" {print $2}')
    rm -rf "${data:?}/cache/evaluate"
  fi
  start=$(date +%s)
  rc=0
  VULNTUNE_BLAS=$blas VULNTUNE_FINE_TUNED_MODELS_DIR="$dir/models" \
    /usr/bin/time -v -o "$dir/time.txt" "${VULNTUNE_BIN:-bin/vulntune}" run --artifacts-dir examples/artifacts \
      --output-dir "$dir/run" --fine-tuning-model-name "$name" $flags >"$dir/stdout.txt" 2>"$dir/stderr.txt" || rc=$?
  end=$(date +%s)
  kill $sampler 2>/dev/null || true
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f GB", $2/1048576}' "$dir/time.txt")
  load=$(awk '{print $2}' "$dir/load.log" | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%s-%s", a[1], a[NR]}')
  printf '%s: exit %d, wall %dm%02ds, peak RSS %s, load %s\n' "$blas" "$rc" $(((end-start)/60)) $(((end-start)%60)) "$rss" "$load"
  grep -E 'gate|loss|BLAS' "$dir/stdout.txt" "$dir/stderr.txt" | head -8 || true
  rm -rf "$dir/models"
done
