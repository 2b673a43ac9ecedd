#!/usr/bin/env bash
# What mlx-lm's BatchGenerator pays when one answer of a decoding batch
# ends (BatchKVCache.filter: every layer's keys and values gathered into
# new arrays) and when the next prompt joins (BatchKVCache.extend: padded
# and concatenated again): a KV cache of SmolLM2-135M's shape (30 layers, 3
# key heads of 64, float32) over BATCH rows of CACHE tokens, each the mean
# of 3. Retiring finished answers in groups to save these copies was
# measured and reverted (bench/RESULTS.md, Explain, 2026-12-04 fourth session).
# Usage: bench/kvcopy.sh [CACHE] [BATCH]   (defaults 1000 and 48)
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
cache=${1:-1000}; batch=${2:-48}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
source "$(dirname "$0")/engine-env.sh"
echo "uptime: $(uptime)"
env "${engine_malloc[@]}" LD_PRELOAD="$engine_blas" "$py" - "$cache" "$batch" <<'PY'
import sys, time
import mlx.core as mx
from mlx_lm.models.cache import BatchKVCache

T, B = int(sys.argv[1]), int(sys.argv[2])
L, H, D = 30, 3, 64

def caches(b, t):
    cs = []
    for _ in range(L):
        c = BatchKVCache([0] * b)
        c.update_and_fetch(mx.random.normal((b, H, t, D)), mx.random.normal((b, H, t, D)))
        cs.append(c)
    mx.eval([c.state for c in cs])
    return cs

cs = caches(B, T)
gb = sum(c.nbytes for c in cs) / 1e9
f = e = 0.0
for _ in range(3):
    keep = [i for i in range(B) if i != B // 2]
    t0 = time.perf_counter()
    for c in cs:
        c.filter(keep)
    mx.eval([c.state for c in cs])
    f += time.perf_counter() - t0
    one = caches(1, T // 2)
    t0 = time.perf_counter()
    for c, o in zip(cs, one):
        c.extend(o)
    mx.eval([c.state for c in cs])
    e += time.perf_counter() - t0
print(f"KV cache {B} rows x {T} tokens ({gb:.2f} GB): filter {f / 3:.2f} s, extend {e / 3:.2f} s")
PY
