#!/usr/bin/env bash
# Grounded decoding's own cost, without a model: the reference answers of
# DATASET's held-out split, tokenized with BASE_MODEL_DIR's tokenizer, are
# fed to the logits processor (internal/engine/py/vulntune_engine/grounded.py)
# token by token as if a model ranked each reference token first (random
# logits otherwise), with each example's ground as evaluation builds it
# (evaluate.Ground: prompt turns and the finding's facts). Prints the time
# inside the processor per token, observing (evaluation's first pass) and
# enforcing, and the reference answers grounded decoding would change (a
# step whose reference token it rejects), with the identifier it stopped at.
# Only the tokenizer is loaded, never the weights.
# Usage: bench/grounded-replay.sh BASE_MODEL_DIR DATASET_DIR
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
base=${1:?base model dir}; data=${2:?dataset dir}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
source "$(dirname "$0")/engine-env.sh"
script=$(mktemp); trap 'rm -f "$script"' EXIT
pkg=$(cd "$(dirname "$0")/../internal/engine/py" && pwd)
split=test; [ -s "$data/test.jsonl" ] || split=valid
cat > "$script" <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
import mlx.core as mx
from mlx_lm.utils import load_tokenizer
from pathlib import Path
from vulntune_engine.grounded import GroundedProcessor

base, data, split = sys.argv[1], sys.argv[2], sys.argv[3]
tok = load_tokenizer(Path(base))
rows = [json.loads(l) for l in open(os.path.join(data, split + ".jsonl"))]
meta = {m["line"]: m for m in map(json.loads, open(os.path.join(data, "examples.meta.jsonl"))) if m["split"] == split}
vocab = len(tok.get_vocab())
mx.random.seed(0)
noise = mx.random.normal((vocab,))
eos = list(tok.eos_token_ids)

def ground(row, facts):
    turns = [m for m in row["messages"] if m["role"] != "assistant"]
    prompt = "\n".join(m["content"] for m in turns)
    return "\n".join([prompt, facts.get("package", ""), facts.get("fixed_version", ""),
                      facts.get("installed_version", ""), "\n".join(facts.get("cwe") or []), facts.get("location", "")])

def replay(ids, g, observe):
    """Seconds in the processor over the steps replayed, steps, processor
    and the seconds of the step it rejected (enforcing stops there: the
    reference goes on where grounded decoding would not)."""
    p = GroundedProcessor(tok, g, observe=observe, eos_ids=eos)
    context = mx.array([0])
    spent, n = 0.0, 0
    for t in ids + eos[:1]:
        logits = mx.where(mx.arange(vocab) == t, 100.0, noise)[None]
        mx.eval(logits)
        t0 = time.perf_counter()
        p(context, logits)
        dt = time.perf_counter() - t0
        if not observe and p.interventions:
            return spent, n, p, dt
        spent, n = spent + dt, n + 1
        context = mx.array([t])
    return spent, n, p, None

spent = {True: 0.0, False: 0.0}
steps = {True: 0, False: 0}
changed = []
for i, row in enumerate(rows):
    answer = row["messages"][-1]["content"]
    ids = tok.encode(answer, add_special_tokens=False)
    g = ground(row, (meta.get(i + 1) or {}).get("facts") or {})
    for observe in (True, False):
        s, n, p, walk = replay(ids, g, observe)
        spent[observe] += s
        steps[observe] += n
    if p.first_intervention is not None:
        at = p.first_intervention
        changed.append((i, tok.decode(ids[max(0, at - 12):at + 1]), walk, p.deep, p.stuck))
print(f"{len(rows)} reference answers of the {split} split")
for observe in (True, False):
    print(f"{'observing' if observe else 'enforcing'}: {steps[observe]} tokens, {spent[observe]:.2f} s in the processor, "
          f"{1000 * spent[observe] / max(steps[observe], 1):.3f} ms a token")
print(f"{len(changed)} reference answers grounded decoding would change:")
for i, ctx, walk, deep, stuck in changed:
    print(f"  row {i}: at ...{ctx!r}: the step that replaced it took {1000 * walk:.1f} ms"
          f"{' (walked past the top 64)' if deep else ''}{' (stuck)' if stuck else ''}")
PY
env "${engine_malloc[@]}" ENGINE_PY="$pkg" LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$data" "$split"
