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
# Each mode is replayed twice: with the ground alone, and with the snippet
# pin evaluation sends beside it for a finding with an installed and a fixed
# version (vulntune_engine/pin.py), so the pin's own cost shows.
# Only the tokenizer is loaded, never the weights.
# Usage: bench/grounded-replay.sh BASE_MODEL_DIR DATASET_DIR
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
source "$(dirname "$0")/replay-env.sh"
cat > "$script" <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
import mlx.core as mx
from mlx_lm.utils import load_tokenizer
from pathlib import Path
from vulntune_engine.grounded import GroundedProcessor, norm_version

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

def pin_of(facts):
    """evaluate.SnippetPin: the versions a fix snippet is held to, or None."""
    inst, fixed = facts.get("installed_version", ""), facts.get("fixed_version", "")
    if not inst or not fixed or norm_version(inst) == norm_version(fixed):
        return None
    return {"installed": inst, "fixed": fixed}

def replay(ids, g, observe, pin):
    """Seconds in the processor over the steps replayed, steps, processor
    and the seconds of the step it rejected (enforcing stops there: the
    reference goes on where grounded decoding would not)."""
    p = GroundedProcessor(tok, g, observe=observe, eos_ids=eos, pin=pin)
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

modes = [(observe, pinned) for pinned in (False, True) for observe in (True, False)]
spent = {m: 0.0 for m in modes}
steps = {m: 0 for m in modes}
changed = []
pinned_rows = 0
for i, row in enumerate(rows):
    answer = row["messages"][-1]["content"]
    ids = tok.encode(answer, add_special_tokens=False)
    facts = (meta.get(i + 1) or {}).get("facts") or {}
    g, pin = ground(row, facts), pin_of(facts)
    pinned_rows += pin is not None
    for observe, pinned in modes:
        s, n, p, walk = replay(ids, g, observe, pin if pinned else None)
        spent[observe, pinned] += s
        steps[observe, pinned] += n
    if p.first_intervention is not None:
        at = p.first_intervention
        changed.append((i, tok.decode(ids[max(0, at - 12):at + 1]), walk, p.deep, p.stuck))
print(f"{len(rows)} reference answers of the {split} split, {pinned_rows} with a snippet pin")
for m in modes:
    observe, pinned = m
    print(f"{'observing' if observe else 'enforcing'}{', pinned' if pinned else ''}: {steps[m]} tokens, {spent[m]:.2f} s in the processor, "
          f"{1000 * spent[m] / max(steps[m], 1):.3f} ms a token")
print(f"{len(changed)} reference answers grounded decoding would change:")
for i, ctx, walk, deep, stuck in changed:
    print(f"  row {i}: at ...{ctx!r}: the step that replaced it took {1000 * walk:.1f} ms"
          f"{' (walked past the top 64)' if deep else ''}{' (stuck)' if stuck else ''}")
PY
replay_run
