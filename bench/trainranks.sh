#!/usr/bin/env bash
# Data-parallel training (engine.Train, vulntune_engine/ranks.py): the same
# `vulntune finetune` in one process (VULNTUNE_ENGINE_WORKERS=1) and in
# the engine's choice (two processes with one OpenBLAS thread each on a
# Linux CPU with two cores or more), make demo's settings (batch 4,
# max_seq_length 1152), STEPS steps each. Prints per run the processes,
# training seconds, tokens/s, peak memory (the leader's) and the losses,
# which should agree: the first training loss exactly, the validation
# loss after STEPS to the dropout noise.
#
#   bench/trainranks.sh DATASET_DIR [STEPS]
#
# Needs `make setup` (VULNTUNE_DATA_DIR, the base model); timings need a
# quiet machine.
set -euo pipefail
ds=${1:?dataset dir (train.jsonl + valid.jsonl)}; steps=${2:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/vulntune" ./cmd/vulntune)
for w in 1 auto; do
  VULNTUNE_ENGINE_WORKERS=$w VULNTUNE_FINE_TUNED_MODELS_DIR="$work/models" "$work/vulntune" finetune --dataset "$ds" \
    --output-name "ranks-$w" --max-steps "$steps" --batch-size 4 --max-seq-length 1152 \
    --eval-steps "$steps" --eval-batches 2 --json > "$work/$w.json"
  python3 - "$w" "$work/$w.json" <<'PY'
import json, sys
w, path = sys.argv[1:]
r = json.load(open(path))["engine"]
print(f"workers={w:<4} processes {r['ranks']} steps {r['steps']} train {r['train_seconds']:.1f} s "
      f"tokens/s {r['tokens_per_second']:.1f} peak {r['peak_memory']/1e9:.2f} GB "
      f"first loss {r['first_train_loss']:.6f} val loss {r['initial_val_loss']:.4f} -> {r['final_val_loss']:.4f}")
PY
done
