#!/usr/bin/env bash
# One LoRA training step of SmolLM2-135M on the CPU backend (batch 4 x 736
# tokens, rank 8 on all 7 projections of all layers, compiled step as
# the engine's trainer does), with glibc's default malloc, with the settings the engine
# gives its children (internal/engine/malloc.go), with those plus the
# engine's CPU kernels (internal/engine/py/vulntune_engine/cpumath.py, x86-64), and with
# all that plus the loss's output layer only at the supervised 60 % of
# positions (vulntune_engine/lmhead.py, data.py's loss_at). Prints seconds per step,
# user and system CPU seconds per step, page faults per step, MLX's peak
# memory and the loss after the timed steps: the same in the first two
# runs, and within float32 rounding of it in the others.
# Usage: bench/trainstep.sh BASE_MODEL_DIR [STEPS] [LENGTH]
# LAYERS=N adapts only the last N layers (fine_tuning.lora.num_layers;
# default all): the backward pass stops at the lowest adapted layer.
# ENGINE_ONLY=1 runs only the last (the engine's own) configuration, for
# comparing BLAS libraries (BLAS=engine|system|PATH, bench/engine-env.sh).
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
base=${1:?base model dir}; steps=${2:-2}; length=${3:-736}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
source "$(dirname "$0")/engine-env.sh"
script=$(mktemp); trap 'rm -f "$script"' EXIT
export ENGINE_PY=$(cd "$(dirname "$0")/../internal/engine/py" && pwd)
cat > "$script" <<'PY'
import os, resource, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
from vulntune_engine.cpumath import cpumath_install
from vulntune_engine.lmhead import lm_head_split
from functools import partial
import numpy as np
import mlx.core as mx, mlx.nn as nn, mlx.optimizers as optim
from mlx_lm import load
from mlx_lm.tuner.utils import linear_to_lora_layers

base, steps, L = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
B = 4
cpumath_install("cpu")  # a no-op unless VULNTUNE_CPU_KERNELS=vulntune
model, _ = load(base)
head = lm_head_split(model, range(3, 19)) if os.environ.get("GATHER") else None
mx.random.seed(0)
model.freeze()
keys = [f"self_attn.{k}_proj" for k in "qkvo"] + [f"mlp.{k}_proj" for k in ("gate", "up", "down")]
linear_to_lora_layers(model, int(os.environ.get("LAYERS") or len(model.layers)), {"rank": 8, "scale": 2.0, "dropout": 0.05, "keys": keys})
vocab = model.args.vocab_size
inputs, targets = mx.random.randint(0, vocab, (B, L)), mx.random.randint(0, vocab, (B, L))
mask = (mx.arange(L)[None, :] > int(L * 0.4)).astype(mx.float32) * mx.ones((B, 1))

sel = mx.array(np.flatnonzero(np.array(mask)).astype(np.int32))  # the mask's 60 %: 1764 at length 736

def loss(model, inputs, targets, mask):
    if head is None:
        ce = nn.losses.cross_entropy(model(inputs), targets) * mask
    else:
        h = model.model(inputs)
        ce = nn.losses.cross_entropy(head(h.reshape(-1, h.shape[-1])[sel]), targets.reshape(-1)[sel])
    return ce.sum() / mask.sum()

opt = optim.AdamW(learning_rate=1e-4)
opt.init(model.trainable_parameters())
state = [model.state, opt.state, mx.random.state]
grad = nn.value_and_grad(model, loss)

@partial(mx.compile, inputs=state, outputs=state)
def step(i, t, m):
    l, g = grad(model, i, t, m)
    opt.update(model, g)
    return l

mx.eval(step(inputs, targets, mask), state)  # compile and warm up
mx.reset_peak_memory()
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(steps):
    l = step(inputs, targets, mask)
    mx.eval(l, state)
dt, r1 = (time.perf_counter() - t0) / steps, resource.getrusage(resource.RUSAGE_SELF)
print(f"{dt:.2f} s/step, {B * L / dt:.1f} tokens/s, user {(r1.ru_utime - r0.ru_utime) / steps:.1f} s, "
      f"sys {(r1.ru_stime - r0.ru_stime) / steps:.1f} s, page faults {(r1.ru_minflt - r0.ru_minflt) // steps}, "
      f"peak {mx.get_peak_memory() / 1e9:.1f} GB, loss {l.item():.6f}")
PY
if [ -z "${ENGINE_ONLY:-}" ]; then
echo -n "glibc defaults:        "
VULNTUNE_CPU_KERNELS=mlx LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$steps" "$length"
echo -n "engine malloc settings: "
env "${engine_malloc[@]}" VULNTUNE_CPU_KERNELS=mlx LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$steps" "$length"
echo -n "  + engine CPU kernels: "
env "${engine_malloc[@]}" VULNTUNE_CPU_KERNELS=vulntune LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$steps" "$length"
fi
echo -n "  + logits where scored: "
env "${engine_malloc[@]}" VULNTUNE_CPU_KERNELS=vulntune GATHER=1 LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$steps" "$length"
