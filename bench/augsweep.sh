#!/usr/bin/env bash
# The sweep behind the augmentation and step defaults (issue 16): the main
# job (make demo's `run` flags) for each setting of dataset.augment.copies,
# dataset.augment.max_copies (the balance's bound for small kind/tool
# buckets; 0:0 trains on the originals alone), --max-steps and, optionally,
# --train-seed (the data order, dropout and adapter initialisation: one
# setting under several seeds shows how far a single run's figures are
# from the setting's), then its model evaluated on the other projects
# (examples/corpus, as make demo does), one table row per pair with the
# tuned model's figures, free decoding, in-domain and on other projects
# (snippet coverage and accuracy among them), and the other projects' hallucination
# under grounded decoding.
#
#   bench/augsweep.sh OUT_DIR COPIES:MAX_COPIES:STEPS[:SEED]...
#   bench/augsweep.sh /tmp/sweep 0:0:30 1:3:30 1:3:60
#   bench/augsweep.sh /tmp/seeds 1:3:44:42 1:3:44:7 1:3:44:1234
#
# Other dataset settings pass through the environment
# (VULNTUNE_DATASET_AUGMENT_ECOSYSTEM_SHARE=1 bench/augsweep.sh ...).
#
# Base answers are cached (<data_dir>/cache/evaluate), so only the first
# pair pays for them; quality does not depend on the machine's load, the
# wall times printed do. Needs `make setup`; VULNTUNE_BIN names another
# binary.
set -euo pipefail
out=${1:?output dir}; shift
[ $# -gt 0 ] || { echo "augsweep.sh: give at least one COPIES:MAX_COPIES:STEPS[:SEED] setting" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${VULNTUNE_BIN:-$root/bin/vulntune}
flags=$(sed -n 's/^DEMO_FLAGS ?= //p' "$root/Makefile" | sed 's/--max-steps [0-9]*//')
mkdir -p "$out"
cd "$root"
printf '%-8s %-6s %-5s %-7s | %-54s | %-60s\n' copies:max steps seed wall "in-domain: loss fixed cwe loc halluc cover snip ended" "other: loss fixed cwe loc halluc cover snip ended halluc-grounded"
for pair in "$@"; do
  IFS=: read -r copies max steps seed extra <<<"$pair"
  [ -n "$copies" ] && [ -n "$max" ] && [ -n "$steps" ] && [ -z "$extra" ] || { echo "augsweep.sh: $pair: want COPIES:MAX_COPIES:STEPS[:SEED]" >&2; exit 2; }
  seedflag=(); name="sweep-c$copies-m$max-s$steps"
  if [ -n "$seed" ]; then seedflag=(--train-seed "$seed"); name="$name-r$seed"; fi
  dir="$out/$name"; rm -rf "$dir"; mkdir -p "$dir"
  start=$(date +%s)
  # shellcheck disable=SC2086 # flags are words
  VULNTUNE_DATASET_AUGMENT_COPIES=$copies VULNTUNE_DATASET_AUGMENT_MAX_COPIES=$max VULNTUNE_FINE_TUNED_MODELS_DIR="$dir/models" \
    "$bin" run --artifacts-dir examples/artifacts --output-dir "$dir/run" \
      --fine-tuning-model-name "$name" $flags --max-steps "$steps" "${seedflag[@]}" >"$dir/run.out" 2>"$dir/run.err" ||
    echo "$name: run exited $? (a failed gate still leaves the model to evaluate; see $dir/run.err)" >&2
  VULNTUNE_FINE_TUNED_MODELS_DIR="$dir/models" \
    "$bin" evaluate "$dir/run" --artifacts-dir examples/corpus >"$dir/other.out" 2>"$dir/other.err" ||
    { echo "$name: other projects' evaluation failed: $dir/other.err" >&2; continue; }
  wall=$(( $(date +%s) - start ))
  model="$dir/models/$name"
  python3 - "$copies:$max" "$steps" "${seed:--}" "$wall" "$model/eval/results.json" "$model/eval/other/results.json" <<'PY'
import json, sys
copies, steps, seed, wall, ind, oth = sys.argv[1:]
def row(path, grounded):
    r = json.load(open(path)); t = r["tuned"]
    f = lambda k: "-" if t.get(k) is None else f"{t[k]:.2f}"
    cells = [f("loss"), f("fixed_version_accuracy"), f("cwe_accuracy"), f("location_accuracy"), f("hallucination_rate"), f("snippet_coverage"), f("snippet_accuracy"), f("ended_share")]
    if grounded:
        g = (r.get("grounded") or {}).get("tuned") or {}
        cells.append("-" if g.get("hallucination_rate") is None else f"{g['hallucination_rate']:.2f}")
    return " ".join(cells)
print(f"{copies:<8} {steps:<6} {seed:<5} {int(wall)//60:>3}m{int(wall)%60:02d}s | {row(ind, False):<54} | {row(oth, True)}")
PY
  rm -rf "$model/training/"*.safetensors 2>/dev/null || true
done
