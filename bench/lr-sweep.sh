#!/bin/sh
# A small learning-rate sweep on the sample dataset, the measurement behind
# the fine-tuning defaults: each setting trains the same number of steps on
# the same data and seed, and the validation loss on the same validation
# batches is compared. Prints one line per setting.
#
#   bench/lr-sweep.sh DATASET_DIR [STEPS] [LRS...]
# Needs VULNTUNE_DATA_DIR / VULNTUNE_BASE_MODELS_DIR of an installed engine.
set -eu
ds=${1:?dataset dir}
steps=${2:-10}
shift 2 || true
lrs=${*:-1e-4 3e-4 1e-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
go build -o "$work/vulntune" ./cmd/vulntune
for lr in $lrs; do
	name="sweep-lr$lr"
	VULNTUNE_FINE_TUNED_MODELS_DIR="$work/models" VULNTUNE_FINE_TUNING_WORKSPACE_DIR="$work/ws" \
		"$work/vulntune" finetune --dataset "$ds" --output-name "$name" --max-steps "$steps" \
		--learning-rate "$lr" --warmup-steps 2 --eval-steps "$steps" --save-steps "$steps" \
		--max-seq-length 512 --eval-batches 5 --patience -1 --json >"$work/$name.json"
	python3 - "$work/$name.json" "$lr" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["metrics"]
print(f"lr {sys.argv[2]:>6}: valid loss {m['initial_val_loss']:.4f} -> {m['best_val_loss']:.4f}, "
      f"last train loss {m.get('last_train_loss', float('nan')):.4f}, {m['tokens_per_second']:.1f} tokens/s")
PY
	rm -rf "$work/models/$name" "$work/ws"
done
