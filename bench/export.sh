#!/usr/bin/env bash
# `vulntune export` of one model at f16 and q8_0, RUNS times each: wall
# seconds, CPU seconds, peak RSS and the GGUF's size, plus the load average
# before and after, since the machine may be shared.
# Usage: bench/export.sh MODEL_DIR [OUT_DIR] [RUNS]
# Builds ./cmd/vulntune into a temp dir; writes only under OUT_DIR
# (default a temp dir, removed after).
set -euo pipefail
model=${1:?model dir}; out=${2:-}; runs=${3:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ -n "$out" ] || out="$tmp/out"
bin="$tmp/vulntune"
(cd "$(dirname "$0")/.." && go build -o "$bin" ./cmd/vulntune)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| quant | run | wall s | cpu s | peak RSS MiB | file MiB |\n|---|---|---|---|---|---|\n'
for q in f16 q8_0; do
  for r in $(seq "$runs"); do
    rm -rf "$out/$q"
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$bin" export "$model" --quant "$q" -o "$out/$q" -q >/dev/null
    read -r wall user sys rss < "$tmp/time"
    size=$(stat -c %s "$out/$q"/*.gguf)
    awk -v q="$q" -v r="$r" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v b="$size" \
      'BEGIN { printf "| %s | %d | %.2f | %.2f | %.0f | %.1f |\n", q, r, w, u+s, m/1024, b/1048576 }'
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
