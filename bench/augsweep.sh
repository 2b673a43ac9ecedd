#!/usr/bin/env bash
# The sweep behind the augmentation and step defaults (issue 16): the main
# job (make demo's `run` flags) for each setting of dataset.augment.copies,
# dataset.augment.max_copies (the balance's bound for small kind/tool
# buckets; 0:0 trains on the originals alone) and --max-steps, then its model evaluated on the other projects
# (examples/corpus, as make demo does), one table row per pair with the
# tuned model's figures, free decoding, in-domain and on other projects,
# and the other projects' hallucination under grounded decoding.
#
#   bench/augsweep.sh OUT_DIR COPIES:MAX_COPIES:STEPS...
#   bench/augsweep.sh /tmp/sweep 0:0:30 1:3:30 1:3:60
#
# Base answers are cached (<data_dir>/cache/evaluate), so only the first
# pair pays for them; quality does not depend on the machine's load, the
# wall times printed do. Needs `make setup`; VULNTUNE_BIN names another
# binary.
set -euo pipefail
out=${1:?output dir}; shift
[ $# -gt 0 ] || { echo "augsweep.sh: give at least one COPIES:MAX_COPIES:STEPS setting" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${VULNTUNE_BIN:-$root/bin/vulntune}
flags=$(sed -n 's/^DEMO_FLAGS ?= //p' "$root/Makefile" | sed 's/--max-steps [0-9]*//')
mkdir -p "$out"
cd "$root"
printf '%-8s %-6s %-7s | %-44s | %-50s\n' copies:max steps wall "in-domain: loss fixed cwe loc halluc ended" "other: loss fixed cwe loc halluc ended halluc-grounded"
for pair in "$@"; do
  IFS=: read -r copies max steps <<<"$pair"
  [ -n "$copies" ] && [ -n "$max" ] && [ -n "$steps" ] || { echo "augsweep.sh: $pair: want COPIES:MAX_COPIES:STEPS" >&2; exit 2; }
  name="sweep-c$copies-m$max-s$steps"
  dir="$out/$name"; rm -rf "$dir"; mkdir -p "$dir"
  start=$(date +%s)
  # shellcheck disable=SC2086 # flags are words
  VULNTUNE_DATASET_AUGMENT_COPIES=$copies VULNTUNE_DATASET_AUGMENT_MAX_COPIES=$max VULNTUNE_FINE_TUNED_MODELS_DIR="$dir/models" \
    "$bin" run --artifacts-dir examples/artifacts --output-dir "$dir/run" \
      --fine-tuning-model-name "$name" $flags --max-steps "$steps" >"$dir/run.out" 2>"$dir/run.err" ||
    echo "$name: run exited $? (a failed gate still leaves the model to evaluate; see $dir/run.err)" >&2
  VULNTUNE_FINE_TUNED_MODELS_DIR="$dir/models" \
    "$bin" evaluate "$dir/run" --artifacts-dir examples/corpus >"$dir/other.out" 2>"$dir/other.err" ||
    { echo "$name: other projects' evaluation failed: $dir/other.err" >&2; continue; }
  wall=$(( $(date +%s) - start ))
  model="$dir/models/$name"
  python3 - "$copies:$max" "$steps" "$wall" "$model/eval/results.json" "$model/eval/other/results.json" <<'PY'
import json, sys
copies, steps, wall, ind, oth = sys.argv[1:]
def row(path, grounded):
    r = json.load(open(path)); t = r["tuned"]
    f = lambda k: "-" if t.get(k) is None else f"{t[k]:.2f}"
    cells = [f("loss"), f("fixed_version_accuracy"), f("cwe_accuracy"), f("location_accuracy"), f("hallucination_rate"), f("ended_share")]
    if grounded:
        g = (r.get("grounded") or {}).get("tuned") or {}
        cells.append("-" if g.get("hallucination_rate") is None else f"{g['hallucination_rate']:.2f}")
    return " ".join(cells)
print(f"{copies:<8} {steps:<6} {int(wall)//60:>3}m{int(wall)%60:02d}s | {row(ind, False):<44} | {row(oth, True)}")
PY
  rm -rf "$model/training/"*.safetensors 2>/dev/null || true
done
