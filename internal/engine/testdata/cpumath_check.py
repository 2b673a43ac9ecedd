# Run by TestCPUMathMatchesMLX in the engine interpreter:
#   cpumath_check.py PACKAGE_ROOT
# Compares each kernel the engine's cpumath installs with MLX's own,
# values and gradients, and prints the largest differences as one JSON
# object.
import json
import os
import sys

sys.path.insert(0, sys.argv[1])
from vulntune_engine import cpumath  # noqa: E402
from vulntune_engine.cpumath import cpumath_install  # noqa: E402

import mlx.core as mx
import mlx.nn as nn
import mlx_lm.models.activations as act

mlx_sdpa, mlx_swiglu, mlx_ce = mx.fast.scaled_dot_product_attention, act.swiglu, nn.losses.cross_entropy
if os.environ.get("CHECK_OFF"):  # a GPU backend, then the opt-out
    gpu = cpumath_install("metal")
    os.environ["VULNTUNE_CPU_KERNELS"] = "mlx"
    off = cpumath_install("cpu")
    print(json.dumps({"gpu": gpu, "opted_out": off, "patched": mx.fast.scaled_dot_product_attention is not mlx_sdpa
                      or act.swiglu is not mlx_swiglu or cpumath.cross_entropy() is not mlx_ce}))
    sys.exit(0)
kernels = cpumath_install("cpu")
fast_sdpa, fast_swiglu, fast_ce = mx.fast.scaled_dot_product_attention, act.swiglu, cpumath.cross_entropy()
mx.random.seed(7)
out = {"kernels": kernels}


def rel(a, b):
    return (mx.max(mx.abs(a - b)) / mx.maximum(mx.max(mx.abs(b)), 1e-30)).item()


def both(name, f_fast, f_mlx, args, argnums):
    """Value and (compiled) gradient of sum(f * w) for both implementations."""
    w = mx.random.normal(f_mlx(*args).shape)
    lf = lambda *a: (f_fast(*a) * w).sum()
    lm = lambda *a: (f_mlx(*a) * w).sum()
    out[name] = rel(f_fast(*args), f_mlx(*args))
    gf = mx.compile(mx.grad(lf, argnums=argnums))(*args)
    gm = mx.grad(lm, argnums=argnums)(*args)
    out[name + " grad"] = max(rel(a, b) for a, b in zip(gf, gm))


x = mx.concatenate([mx.linspace(-87, 88, 200001), mx.array([0.0, -1e-30, 1e-30])])
out["exp"] = rel(mx.compile(cpumath._kernels["exp"])(x) / mx.exp(x), mx.ones_like(x))
out["exp of -inf and -200"] = mx.compile(cpumath._kernels["exp"])(mx.array([-mx.inf, -200.0])).tolist()
for L, S, mask in [(300, 300, "causal"), (260, 300, "causal"), (40, 40, "causal"), (1, 50, None)]:
    q, k, v = mx.random.normal((2, 6, L, 32)), mx.random.normal((2, 2, S, 32)), mx.random.normal((2, 2, S, 32))
    both(f"sdpa {mask} L={L} S={S}", lambda q, k, v: fast_sdpa(q, k, v, scale=0.2, mask=mask),
         lambda q, k, v: mlx_sdpa(q, k, v, scale=0.2, mask=mask), (q, k, v), (0, 1, 2))
q, k, v = mx.random.normal((2, 6, 64, 32)), mx.random.normal((2, 2, 64, 32)), mx.random.normal((2, 2, 64, 32))
pad = mx.arange(64)[None, None, None, :] >= mx.array([0, 10])[:, None, None, None]
keep = pad & (mx.arange(64)[:, None] >= mx.arange(64)[None])
both("sdpa bool mask, padded rows", lambda q, k, v: fast_sdpa(q, k, v, scale=0.2, mask=keep),
     lambda q, k, v: mlx_sdpa(q, k, v, scale=0.2, mask=keep), (q, k, v), (0, 1, 2))
add = mx.where(keep, 0.0, -1e9)
both("sdpa additive mask", lambda q, k, v: fast_sdpa(q, k, v, scale=0.2, mask=add),
     lambda q, k, v: mlx_sdpa(q, k, v, scale=0.2, mask=add), (q, k, v), (0, 1, 2))
# Decoding steps as BatchGenerator takes them: one query per sequence over a
# left-padded cache (the second sequence's first 10 keys are padding; the
# third's are all padding), the mask per sequence or per query head.
q, k, v = mx.random.normal((3, 6, 1, 32)), mx.random.normal((3, 2, 64, 32)), mx.random.normal((3, 2, 64, 32))
# Per-head masks hide 5 more keys for each head, so a mix-up of heads shows.
dpad = mx.arange(64)[None, None, None, :] >= mx.array([0, 10, 64])[:, None, None, None]
hpad = dpad & (mx.arange(64)[None, None, None, :] >= 5 * mx.arange(6)[None, :, None, None])
for name, mask in [("causal", "causal"), ("bool", dpad), ("bool per head", hpad),
                   ("additive per head", mx.where(hpad, 0.0, -1e9)), ("2-d bool", dpad[1, 0])]:
    both(f"sdpa decode {name}", lambda q, k, v: fast_sdpa(q, k, v, scale=0.2, mask=mask),
         lambda q, k, v: mlx_sdpa(q, k, v, scale=0.2, mask=mask), (q, k, v), (0, 1, 2))
g, h = mx.random.normal((3, 50, 64)) * 6, mx.random.normal((3, 50, 64))
both("swiglu", fast_swiglu, mlx_swiglu, (g, h), (0, 1))
logits, targets = mx.random.normal((3, 20, 5000)) * 8, mx.random.randint(0, 5000, (3, 20))
both("cross entropy", lambda z: fast_ce(z, targets), lambda z: mlx_ce(z, targets), (logits,), (0,))
print(json.dumps(out), flush=True)
# As protocol.finish: exit without MLX 0.32's interpreter teardown, which
# can hang or crash intermittently on Linux.
os._exit(0)
