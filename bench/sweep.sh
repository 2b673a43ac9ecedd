#!/bin/sh
# A small fine-tuning sweep on the sample dataset, the measurement behind the
# training defaults: each setting of one `vulntune finetune` flag trains the
# same number of steps on the same data and seed, and the validation loss on
# the same validation batches is compared. Prints one line per setting.
#
#   bench/sweep.sh DATASET_DIR STEPS FLAG VALUE...
#   bench/sweep.sh runs/demo/dataset 10 --learning-rate 1e-4 3e-4 1e-3
#   bench/sweep.sh runs/demo/dataset 10 --lora-rank 4 8 16
# Other settings are the defaults (config file and VULNTUNE_* variables
# apply). Needs VULNTUNE_DATA_DIR / VULNTUNE_BASE_MODELS_DIR of an installed
# engine. Rows are 1152 tokens, the main job's: every example trains whole
# (bench/RESULTS.md, "whole training examples"); sweeps before 2026-12-04
# ran at 768 and cut 42 % of them.
set -eu
ds=${1:?dataset dir}
steps=${2:?steps}
flag=${3:?flag, e.g. --learning-rate}
shift 3
[ $# -gt 0 ] || { echo "sweep.sh: give at least one value for $flag" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
go build -o "$work/vulntune" ./cmd/vulntune
for v in "$@"; do
	name="sweep$(echo "$flag$v" | tr -c 'a-zA-Z0-9.-' '-')"
	VULNTUNE_FINE_TUNED_MODELS_DIR="$work/models" VULNTUNE_FINE_TUNING_WORKSPACE_DIR="$work/ws" \
		"$work/vulntune" finetune --dataset "$ds" --output-name "$name" --max-steps "$steps" \
		"$flag" "$v" --eval-steps "$steps" --save-steps "$steps" \
		--max-seq-length 1152 --eval-batches 5 --patience -1 --json >"$work/$name.json"
	python3 - "$work/$name.json" "$flag $v" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["metrics"]
print(f"{sys.argv[2]:>20}: valid loss {m['initial_val_loss']:.4f} -> {m['best_val_loss']:.4f}, "
      f"last train loss {m.get('last_train_loss', float('nan')):.4f}, {m['tokens_per_second']:.1f} tokens/s")
PY
	rm -rf "$work/models/$name" "$work/ws"
done
