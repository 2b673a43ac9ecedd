# Run by TestLossAtSupervisedPositions in the engine interpreter:
#   lmhead_check.py PACKAGE_ROOT LLAMA_DIR OLMO2_DIR
# Imports the engine's training data module and compares, on each model,
# the loss and gradients computed at the gathered supervised positions
# (pad(gather=True), loss_at) with the full-logits loss (masked_loss);
# then checks that a model whose logits are not head(body(x)) gets no split.
# Prints one JSON object.
import json
import os
import sys

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten
from mlx_lm import load

sys.path.insert(0, sys.argv[1])
from vulntune_engine import data as tr  # noqa: E402
from vulntune_engine.lmhead import lm_head_split  # noqa: E402

out = {"bucket": tr.GATHER_BUCKET}
ids = list(range(3, 43))
# Three rows of different lengths: a prompt then an answer, an answer
# between two unscored stretches, and a long answer.
data = [(ids[:30], [0] * 10 + [1] * 20), (ids[:21], [0] * 5 + [1] * 10 + [0] * 6), (ids[:37], [0] * 20 + [1] * 17)]
for kind, path in (("llama", sys.argv[2]), ("olmo2", sys.argv[3])):
    model, _ = load(path)
    head = lm_head_split(model, ids)
    out[kind + " split"] = head is not None
    if head is None:
        continue
    full, _ = tr.pad(data, [0, 1, 2], 64)
    gathered, _ = tr.pad(data, [0, 1, 2], 64, gather=True)
    (lf, nf), gf = nn.value_and_grad(model, tr.masked_loss)(model, *full)
    (lg, ng), gg = nn.value_and_grad(model, tr.loss_at(head))(model, *gathered)
    out[kind + " positions"] = gathered[1].size
    out[kind + " tokens"] = [nf.item(), ng.item()]
    out[kind + " loss"] = abs(lf.item() - lg.item()) / abs(lf.item())
    out[kind + " grad"] = max(
        (mx.max(mx.abs(a - b)) / mx.maximum(mx.max(mx.abs(a)), 1e-30)).item()
        for (_, a), (_, b) in zip(tree_flatten(gf), tree_flatten(gg))
    )


class Scaled(nn.Module):
    """Logits halved after the output layer, as a soft-capping model's are
    transformed: head(body(x)) is not model(x)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.model = inner.model

    def __call__(self, x):
        return self.inner(x) * 0.5


model, _ = load(sys.argv[2])
out["scaled split"] = lm_head_split(Scaled(model), ids) is not None
print(json.dumps(out), flush=True)
# As protocol.finish: exit without MLX 0.32's interpreter teardown, which
# can hang or crash intermittently on Linux.
os._exit(0)
