"""Compare the logits of models with the first one's, on one chat prompt,
with mlx-lm (the engine's runtime): for each further model dir, print the
largest and mean absolute logit difference and the share of positions
whose top token agrees, as JSON keyed by dir.

usage: logits.py REFERENCE_DIR DIR...
"""
import json
import sys

import mlx.core as mx
from mlx_lm import load

PROMPT = ("<|im_start|>system\nYou are a security analyst.<|im_end|>\n"
          "<|im_start|>user\nWhat is SQL injection and how do I fix it in a Flask app?<|im_end|>\n"
          "<|im_start|>assistant\n")

out, ref = {}, None
for d in sys.argv[1:]:
    model, tok = load(d)
    logits = model(mx.array([tok.encode(PROMPT)]))[0].astype(mx.float32)
    mx.eval(logits)
    if ref is None:
        ref = logits
        continue
    diff = mx.abs(logits - ref)
    out[d] = {
        "max_abs": diff.max().item(),
        "mean_abs": diff.mean().item(),
        "argmax_agree": (mx.argmax(logits, -1) == mx.argmax(ref, -1)).astype(mx.float32).mean().item(),
        "positions": int(ref.shape[0]),
    }
print(json.dumps(out))
