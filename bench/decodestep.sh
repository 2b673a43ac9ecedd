#!/usr/bin/env bash
# One batched greedy-decoding step of SmolLM2-135M on the CPU backend, as
# evaluation takes it (BATCH sequences, default 23, one new token each, over a
# KV cache of CACHE tokens), with MLX's kernels and with the engine's CPU kernels
# (internal/engine/py/vulntune_engine/cpumath.py, x86-64). Prints milliseconds per attention
# call of one layer's shape (9 query heads, 3 key heads, head size 64) and
# seconds per whole decoding step and tokens/s, each the mean of 10 after a
# warm-up. KERNELS=vulntune times only the engine's own kernels.
# Usage: bench/decodestep.sh BASE_MODEL_DIR [CACHE] [BATCH]
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
base=${1:?base model dir}; cache=${2:-700}; batch=${3:-23}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
source "$(dirname "$0")/engine-env.sh"
script=$(mktemp); trap 'rm -f "$script"' EXIT
pkg=$(cd "$(dirname "$0")/../internal/engine/py" && pwd)
cat > "$script" <<'PY'
import os, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
from vulntune_engine.cpumath import cpumath_install
import mlx.core as mx
from mlx_lm import load
from mlx_lm.models.cache import make_prompt_cache

base, S, B = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cpumath_install("cpu")  # a no-op unless VULNTUNE_CPU_KERNELS=vulntune
model, _ = load(base)
mx.random.seed(0)

def mean(f, n=10):
    mx.eval(f())
    t0 = time.perf_counter()
    for _ in range(n):
        mx.eval(f())
    return (time.perf_counter() - t0) / n

q = mx.random.normal((B, 9, 1, 64))
k, v = mx.random.normal((B, 3, S, 64)), mx.random.normal((B, 3, S, 64))
attn = mean(lambda: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.125, mask=None))
c = make_prompt_cache(model)
mx.eval(model.model(mx.random.randint(0, 49000, (B, S)), cache=c), [x.state for x in c])
y = mx.random.randint(0, 49000, (B, 1))
# The cache grows by one token a step, as in generation.
step = mean(lambda: model(y, cache=c))
print(f"batch {B}: attention {attn * 1000:.2f} ms a layer, decoding step {step:.3f} s, {B / step:.0f} tokens/s")
PY
if [ "${KERNELS:-}" != vulntune ]; then
	echo -n "MLX kernels:    "
	env "${engine_malloc[@]}" ENGINE_PY="$pkg" VULNTUNE_CPU_KERNELS=mlx LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$cache" "$batch"
fi
echo -n "engine kernels: "
env "${engine_malloc[@]}" ENGINE_PY="$pkg" VULNTUNE_CPU_KERNELS=vulntune LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$cache" "$batch"
