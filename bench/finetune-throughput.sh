#!/usr/bin/env bash
# LoRA training throughput of `vulntune finetune` against a plain
# `python -m mlx_lm lora` run with the same data and settings (SmolLM2-135M,
# rank 8, all 7 projections of all layers, batch 2, max_seq 512, loss on the
# assistant turn: --mask-prompt matches vulntune's mask on one-turn data).
# Usage: bench/finetune-throughput.sh DATASET_DIR BASE_MODEL_DIR [STEPS] [DTYPE]
# STEPS = ceil(train examples / 2) is one epoch: both loops then train on the
# same tokens (in another order), so their tokens/s compare like for like.
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`). Prints tokens/s.
# vulntune runs on MLX's own kernels here (VULNTUNE_CPU_KERNELS=mlx), as
# mlx-lm does; set KERNELS=vulntune to include the engine's CPU kernels.
# Its loss computes the output layer only at assistant tokens
# (vulntune_engine/lmhead.py), where mlx-lm's computes it everywhere, so since that
# change the ratio is the loop's overhead less that saving, not the
# overhead alone.
set -euo pipefail
ds=${1:?dataset dir}; base=${2:?base model dir}; steps=${3:-8}; dtype=${4:-float32}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
go build -o "$work/vulntune" ./cmd/vulntune
VULNTUNE_CPU_KERNELS="${KERNELS:-mlx}" VULNTUNE_BASE_MODELS_DIR="$(dirname "$base")" VULNTUNE_DEFAULT_BASE_MODEL="$(basename "$base")" VULNTUNE_FINE_TUNED_MODELS_DIR="$work/models" "$work/vulntune" finetune --dataset "$ds" \
  --output-name bench --max-steps "$steps" --batch-size 2 --max-seq-length 512 \
  --eval-steps 100000 --save-steps 100000 --eval-batches 1 --learning-rate 2e-4 --lora-rank 8 --lora-alpha 16 \
  --dtype "$dtype" --json > "$work/vt.json"
"$py" - "$work/vt.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["engine"]
print(f"vulntune: dtype {r['dtype']} blas {r['blas']} steps {r['steps']} tokens/s all {r['tokens_per_second']:.1f} "
      f"supervised {r['supervised_tokens_per_second']:.1f} peak {r['peak_memory']/1e9:.2f} GB")
PY
# mlx-lm's own loop, with the BLAS and malloc settings vulntune's engine
# gives its children (bench/engine-env.sh), for a fair comparison.
source "$(dirname "$0")/engine-env.sh"
# mlx-lm's LoRA defaults differ from vulntune's (dropout 0.0, scale 20):
# give it vulntune's, dropout included, which costs time on every layer.
printf 'lora_parameters:\n  rank: 8\n  dropout: 0.05\n  scale: 2.0\n' > "$work/mlxlm.yaml"
env "${engine_malloc[@]}" LD_PRELOAD="$engine_blas" "$py" -m mlx_lm lora -c "$work/mlxlm.yaml" --model "$base" --train --data "$ds" --iters "$steps" --batch-size 2 \
  --max-seq-length 512 --num-layers -1 --mask-prompt --learning-rate 2e-4 --steps-per-report "$steps" \
  --steps-per-eval 100000 --val-batches 1 --adapter-path "$work/mlxlm" 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g' | grep -E "Tokens/sec|Peak mem|tok/s|^ *[0-9]+ +[0-9.]+ " | tail -3
# mlx-lm 0.32 prints a table: "iter train_loss tok/s tokens", tok/s counting
# the tokens the loss is taken on (with --mask-prompt, the supervised ones);
# older releases print "Tokens/sec".
