"""Faster exp-heavy kernels for MLX's CPU backend on x86-64.

MLX's CPU backend computes exp (and sigmoid, softmax, logsumexp) one scalar
at a time on x86-64: 14 ns an element here, where its adds and multiplies
take 0.3 ns. A training step of SmolLM2-135M spends most of its time there:
the attention softmax over every query-key pair, the SiLU of every MLP and
the logsumexp over the 49k-token vocabulary. cpumath_install() swaps the
first two and offers _cross_entropy for scoring, all built from the backend's
fast element-wise operations, which mx.compile fuses:

  * exp(x) = 2^n * e^r with n = round(x / ln 2), |r| <= ln2 / 2: e^r from
    Cephes expf's polynomial, 2^n written straight into the exponent bits.
    Relative error about 1e-7, the float32 rounding of the polynomial.
  * softmax and logsumexp over the last axis with exact analytic gradients
    (mx.custom_function), so autodiff never differentiates the polynomial;
    training keeps MLX's cross-entropy all the same: the fast one's exp
    does not fuse into one kernel (MLX cannot fuse across the bit cast),
    and its temporaries raised a step's peak memory from 12.4 to 18.0 GB
    for 4 s a step;
  * attention: the causal mask is applied in four query blocks, each scored
    only against the keys it may see, so the masked upper triangle is mostly
    never computed; GQA heads share keys by broadcasting, as MLX does. A
    decoding step (one query) scores the query heads that share a key head
    as rows of one product: about 4 ms a layer for 23 sequences over 700
    keys, against about 8 ms in MLX's kernel, most of it the scalar exp
    (bench/decodestep.sh).

Nothing else changes: the model's weights, matmuls and the rest of the
graph are MLX's own; other dtypes and attention sinks go to MLX's kernel. vulntune's Go side enables this only for x86-64 CPU children
(VULNTUNE_CPU_KERNELS=vulntune); VULNTUNE_CPU_KERNELS=mlx switches it off.
"""

import os
import sys

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
_cross_entropy = None
_cpu_kernels = "mlx"
_kernels = {}  # functions tests call directly: "exp"


def kernels_in_use():
    """"vulntune" when cpumath_install replaced MLX's kernels, else "mlx"."""
    return _cpu_kernels


def cross_entropy():
    """The cross-entropy scoring uses: the fast one once installed, else
    MLX's (set by cpumath_install)."""
    return _cross_entropy


def cpumath_install(backend, blocks=4):
    """Install the kernels when the environment asks for them and the
    backend is the CPU. Call before mlx_lm loads a model: model modules bind
    swiglu when they are imported. Returns "vulntune" or "mlx"."""
    global _cross_entropy, _cpu_kernels
    import mlx.core as mx
    import mlx.nn as nn
    import mlx_lm.models.activations as act

    if _cpu_kernels == "vulntune":  # installed already: do not wrap the wrappers
        return _cpu_kernels
    _cross_entropy = nn.losses.cross_entropy
    if backend != "cpu" or os.environ.get("VULNTUNE_CPU_KERNELS") != "vulntune":
        _cpu_kernels = "mlx"
        return _cpu_kernels

    def _exp(x):
        # Clipping to [-127, 127] makes n = -127 encode exactly 0.0 and keeps
        # 2^n finite; e^r <= 1.42, so 2^127 * e^r stays below float32's max.
        y = mx.clip(x * _LOG2E, -127.0, 127.0)
        n = mx.floor(y + 0.5)
        r = (y - n) * _LN2
        p = r * 1.9875691500e-4 + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * r * r + r + 1.0
        return p * mx.view((n.astype(mx.int32) + 127) << 23, mx.float32)

    @mx.custom_function
    def fexp(x):
        return _exp(x)

    @fexp.vjp
    def _fexp_vjp(primals, cotangent, output):
        return (cotangent * output,)

    # Compiled on its own as well as inside a compiled training step, so
    # scoring and decoding (not compiled) get one fused pass too (timed ad
    # hoc: 35 ms instead of 58 ms on 400 x 1600 scores for 9 heads). A new
    # shape costs a trace, not a kernel build: the fused kernel does not
    # depend on it.
    @mx.compile
    def _softmax(x):
        e = _exp(x - mx.max(x, axis=-1, keepdims=True))
        return e / mx.sum(e, axis=-1, keepdims=True)

    @mx.custom_function
    def softmax(x):
        return _softmax(x)

    @softmax.vjp
    def _softmax_vjp(primals, cotangent, output):
        return (output * (cotangent - mx.sum(cotangent * output, axis=-1, keepdims=True)),)

    @mx.custom_function
    def logsumexp(x):
        m = mx.max(x, axis=-1, keepdims=True)
        return (m + mx.log(mx.sum(fexp(x - m), axis=-1, keepdims=True))).squeeze(-1)

    @logsumexp.vjp
    def _logsumexp_vjp(primals, cotangent, output):
        # A one-argument custom function gets its primal as an array, not
        # a tuple.
        return (mx.expand_dims(cotangent, -1) * fexp(primals - mx.expand_dims(output, -1)),)

    @mx.compile
    def _fast_ce(logits, targets):
        picked = mx.take_along_axis(logits, mx.expand_dims(targets, -1), axis=-1).squeeze(-1)
        return logsumexp(logits) - picked

    mlx_ce = nn.losses.cross_entropy

    def cross_entropy(logits, targets):
        """nn.losses.cross_entropy(logits, targets) for integer targets."""
        if logits.dtype != mx.float32:
            return mlx_ce(logits, targets)
        return _fast_ce(logits, targets)

    mlx_sdpa = mx.fast.scaled_dot_product_attention

    def _weigh(scores, v, keep, neg):
        if keep is not None:
            scores = mx.where(keep, scores, neg) if keep.dtype == mx.bool_ else scores + keep
        return softmax(scores) @ v

    def _attend(q, k, v, keep, neg):
        return _weigh(q @ k.swapaxes(-1, -2), v, keep, neg)

    def sdpa(q, k, v, *, scale, mask=None, sinks=None, **kw):
        if sinks is not None or kw or q.dtype != mx.float32:
            return mlx_sdpa(q, k, v, scale=scale, mask=mask, sinks=sinks, **kw)
        B, H, L, D = q.shape
        Hk, S = k.shape[1], k.shape[2]
        rep = H // Hk
        # MLX masks with the dtype's lowest value, not -inf, so a row that is
        # wholly masked (left padding in batched generation) stays finite.
        neg = mx.finfo(mx.float32).min
        if L == 1:
            # One query per sequence: the rep query heads that share a key
            # head become rows of one (rep, D) @ (D, S) product, with no
            # broadcast copy of the keys. A single query sees every key, so
            # "causal" masks nothing.
            if isinstance(mask, str):
                mask = None
            elif mask is not None:
                while mask.ndim < 4:
                    mask = mx.expand_dims(mask, 0)
                if mask.shape[1] == H > 1:  # per query head: (B, H, 1, S) to the rows' layout
                    mask = mask.reshape(mask.shape[0], Hk, rep, mask.shape[-1])
            # The scores come as k @ q^T, then transposed: MLX's CPU matmul
            # copies a transposed right operand (the keys, B x S x D per
            # head) before each product, where this copies only the
            # scores, S x rep. Timed ad hoc at 32 sequences over 700 keys:
            # 5.3 ms a layer instead of 8.8 (bench/decodestep.sh's step).
            qt = mx.contiguous((q * scale).reshape(B, Hk, rep, D).swapaxes(-1, -2))
            scores = mx.contiguous((k @ qt).swapaxes(-1, -2))
            return _weigh(scores, v, mask, neg).reshape(B, H, 1, D)
        q5 = (q * scale).reshape(B, Hk, rep, L, D)
        k5, v5 = mx.expand_dims(k, 2), mx.expand_dims(v, 2)
        if isinstance(mask, str):  # "causal": query i sees keys up to i + S - L
            off = S - L
            step = -(-L // blocks) if L >= 256 else L
            outs = []
            for a in range(0, L, step):
                b = min(a + step, L)
                keep = (mx.arange(a, b)[:, None] + off) >= mx.arange(b + off)[None]
                outs.append(_attend(q5[..., a:b, :], k5[..., : b + off, :], v5[..., : b + off, :], keep, neg))
            out = outs[0] if len(outs) == 1 else mx.concatenate(outs, axis=-2)
        else:
            if mask is not None and mask.ndim == 4:
                mask = mx.expand_dims(mask, 2) if mask.shape[1] == 1 else mask.reshape(mask.shape[0], Hk, rep, L, S)
            out = _attend(q5, k5, v5, mask, neg)
        return out.reshape(B, H, L, D)

    mlx_swiglu = act.swiglu

    @mx.compile
    def _fast_swiglu(gate, x):
        return gate / (1.0 + fexp(-gate)) * x

    def swiglu(gate, x):
        if gate.dtype != mx.float32:
            return mlx_swiglu(gate, x)
        return _fast_swiglu(gate, x)

    mx.fast.scaled_dot_product_attention = sdpa
    act.swiglu = swiglu
    # A model module imported earlier holds its own reference.
    for name, mod in list(sys.modules.items()):
        if name.startswith("mlx_lm.models.") and getattr(mod, "swiglu", None) is mlx_swiglu:
            mod.swiglu = swiglu
    _cross_entropy = cross_entropy
    _cpu_kernels = "vulntune"
    _kernels["exp"] = fexp
    return _cpu_kernels
