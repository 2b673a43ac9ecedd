#!/usr/bin/env bash
# The cost of grounded decoding (internal/engine/py/vulntune_engine/grounded.py)
# in tokens/s: the first N held-out prompts of DATASET answered greedily in
# one batch, as evaluation decodes them (mlx-lm's BatchGenerator), three
# ways: free; free with the processor observing (evaluation's first pass:
# it reports where grounded decoding would intervene, never changes a
# token); and grounded. Each answer's ground is its prompt (evaluation adds
# the finding's facts). Prints, per way, seconds, tokens and tokens/s, the
# time spent inside the processors, and for the grounded run how many
# answers and tokens it changed.
# Usage: bench/grounded.sh BASE_MODEL_DIR DATASET_DIR [N] [MAX_TOKENS]
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
base=${1:?base model dir}; data=${2:?dataset dir with valid.jsonl or test.jsonl}
n=${3:-8}; max_tokens=${4:-160}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
source "$(dirname "$0")/engine-env.sh"
script=$(mktemp); trap 'rm -f "$script"' EXIT
pkg=$(cd "$(dirname "$0")/../internal/engine/py" && pwd)
split="$data/test.jsonl"; [ -s "$split" ] || split="$data/valid.jsonl"
cat > "$script" <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
from vulntune_engine import cpumath
from vulntune_engine.chat import prompt_turns
from vulntune_engine.grounded import GroundedProcessor
from vulntune_engine.runtime import mlx_backend
cpumath.cpumath_install(mlx_backend())
from mlx_lm import load
from mlx_lm.generate import BatchGenerator

base, split, n, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
model, tok = load(base)
rows = [json.loads(l) for l in open(split)][:n]
turns = [prompt_turns(r["messages"]) for r in rows]
prompts = [tok.apply_chat_template(t, add_generation_prompt=True, tokenize=True) for t in turns]
grounds = ["\n".join(m["content"] for m in t) for t in turns]

class Timed:
    """A processor with the time spent in it."""
    def __init__(self, p):
        self.p, self.seconds = p, 0.0
    def __call__(self, context, logits):
        t = time.perf_counter()
        out = self.p(context, logits)
        self.seconds += time.perf_counter() - t
        return out

def run(mode):
    procs = None
    if mode != "free":
        procs = [Timed(GroundedProcessor(tok, g, observe=mode == "observe", eos_ids=list(tok.eos_token_ids))) for g in grounds]
    gen = BatchGenerator(model, stop_tokens=[[t] for t in tok.eos_token_ids], completion_batch_size=n, prefill_batch_size=n)
    t0 = time.perf_counter()
    uids = gen.insert(prompts, [max_tokens] * n, logits_processors=[[p] for p in procs] if procs else None)
    out = {u: [] for u in uids}
    pending = set(uids)
    t1 = None
    while pending and (resps := gen.next_generated()):
        if t1 is None:
            t1 = time.perf_counter()  # prefill done, first tokens out
        for r in resps:
            if r.finish_reason != "stop":
                out[r.uid].append(r.token)
            if r.finish_reason is not None:
                pending.discard(r.uid)
    t2 = time.perf_counter()
    gen.close()
    texts = [tok.decode(out[u]) for u in uids]
    tokens = sum(len(out[u]) for u in uids)
    inside = sum(p.seconds for p in procs) if procs else 0.0
    stats = [p.p.stats() for p in procs] if procs else []
    print(f"{mode:8s} {t2 - t0:7.1f} s ({t1 - t0:5.1f} s prefill)  {tokens:5d} tokens  "
          f"{tokens / (t2 - t1):6.2f} tokens/s after prefill  in processors {inside:6.2f} s "
          f"({1000 * inside / max(tokens, 1):.2f} ms a token, the forward pass they wait on included)", flush=True)
    return texts, stats

free, _ = run("free")
observed, ostats = run("observe")
grounded, gstats = run("grounded")
would = sum(s["first_intervention"] is not None for s in ostats)
print(f"observe: {sum(a == b for a, b in zip(free, observed))}/{n} answers identical to free; "
      f"{would} would change under grounded decoding")
print(f"grounded: {sum(a != b for a, b in zip(free, grounded))}/{n} answers changed, "
      f"{sum(s['interventions'] for s in gstats)} tokens replaced, {sum(s['deep'] for s in gstats)} walks past the top 64, "
      f"{sum(s['stuck'] for s in gstats)} answers ended for want of any token; "
      f"answers without intervention identical to free: "
      f"{sum(a == b for a, b, s in zip(free, grounded, gstats) if s['interventions'] == 0)}/"
      f"{sum(s['interventions'] == 0 for s in gstats)}")
PY
env "${engine_malloc[@]}" ENGINE_PY="$pkg" LD_PRELOAD="$engine_blas" "$py" "$script" "$base" "$split" "$n" "$max_tokens"
