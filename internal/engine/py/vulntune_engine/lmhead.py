"""The output layer apart from the transformer, for losses that need logits
at only some positions.

A training step's loss counts only assistant tokens (60% of the sample
dataset's), and scoring needs no logits over the prompt at all; the output
layer (576 x 49152 for SmolLM2) and the cross-entropy over its vocabulary
cost as much at the positions no one reads. lm_head_split(model, ids)
returns head, a function of the final hidden states, when
model(x) == head(model.model(x)): the layout of mlx-lm's llama, olmo2,
qwen2, mistral and most others (an inner model, then lm_head or the tied
embedding). It checks this numerically on a few tokens rather than trusting
names, so a model that scales or soft-caps its logits gets None and callers
keep computing the full logits.
"""


def lm_head_split(model, ids):
    """head(h) with model(x) == head(model.model(x)) on ids, or None."""
    import mlx.core as mx

    body = getattr(model, "model", None)
    if body is None or not callable(body):
        return None
    if getattr(model, "lm_head", None) is not None:
        head = lambda h: model.lm_head(h)  # noqa: E731: reads the module at call time (LoRA, fusing)
    elif callable(getattr(getattr(body, "embed_tokens", None), "as_linear", None)):
        head = lambda h: model.model.embed_tokens.as_linear(h)  # noqa: E731
    else:
        return None
    x = mx.array(list(ids)[:16] or [0])[None]
    try:
        full, split = model(x), head(body(x))
        ok = full.shape == split.shape and mx.allclose(full, split, rtol=1e-4, atol=1e-4).item()
    except Exception:  # a body with another signature: keep the full logits
        return None
    return head if ok else None

