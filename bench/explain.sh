#!/bin/sh
# Findings per minute of `vulntune explain` over the N most severe bundled
# sample findings (default 6; 0: all 188) with MODEL (default the base
# SmolLM2), answers of at most MAX_TOKENS (default 256), BATCH answers
# decoded together (default explain's), from an empty answer cache; then
# the same again, answered from the cache. Prints where the engine's time
# went (model load, answering) and the prompt tokens it processed. Needs the
# engine (`vulntune setup`): VULNTUNE_DATA_DIR's venv is linked into a
# temporary data dir, so the cache it writes is thrown away. KEEP=DIR keeps
# each pass's JSON report there (cold.json, cached.json).
#   bench/explain.sh [N] [MAX_TOKENS] [MODEL] [BATCH]
set -eu
n=${1:-6}
max=${2:-256}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${VULNTUNE_DATA_DIR:?export VULNTUNE_DATA_DIR (after vulntune setup)}
model=${3:-${VULNTUNE_BASE_MODELS_DIR:-$data/models/base}/SmolLM2-135M-Instruct}
batch=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
go build -o "$work/vulntune" ./cmd/vulntune
mkdir -p "$work/data/engine"
ln -s "$data/engine/venv" "$work/data/engine/venv"
echo "uptime: $(uptime)"
for pass in cold cached; do
	VULNTUNE_DATA_DIR="$work/data" VULNTUNE_FINE_TUNED_MODELS_DIR="$work/tuned" \
		"$work/vulntune" -q explain examples/artifacts --model "$model" --limit "$n" --max-tokens "$max" \
		${batch:+--batch-size "$batch"} --format json -o "$work/$pass.json"
	python3 - "$work/$pass.json" "$pass" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
fpm = s["answered"] / s["seconds"] * 60 if s["seconds"] else float("inf")
print(f'{sys.argv[2]}: {s["answered"]} findings in {s["seconds"]:.1f}s = {fpm:.2f} findings/min; '
      f'{s["grounded"]} grounded, {s["flagged"]} flagged, {s["cached"]} cached, '
      f'{s["generation_tokens"]} tokens at {s["tokens_per_second"]:.1f} tokens/s, {s["looped"]} stopped in a loop; '
      f'engine: load {s["load_seconds"]:.1f}s, answering {s["answer_seconds"]:.1f}s, '
      f'{s["unique_prompts"]} unique prompts, {s["prompt_tokens"]} prompt tokens ({s["shared_prefix_tokens"]} shared, once)')
fr = {}
for f in json.load(open(sys.argv[1]))["findings"]:
    fr[f["finish_reason"]] = fr.get(f["finish_reason"], 0) + 1
print(f'{sys.argv[2]}: finish reasons {fr}')
PY
	if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work/$pass.json" "$KEEP/"; fi
done
