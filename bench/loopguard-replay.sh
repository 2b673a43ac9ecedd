#!/usr/bin/env bash
# The loop guard's own cost, without a model: the reference answers of
# DATASET's held-out split, tokenized with BASE_MODEL_DIR's tokenizer, are
# fed to the guard (internal/engine/py/vulntune_engine/repeat.py
# CycleGuard) token by token as if a model ranked each reference token
# first (random logits otherwise), once with the cycle rule alone, once
# with the section rule too (SectionGuard, the headings of
# engine.DefaultLoopGuard), once with its lists and the line rule
# (LineRepeat) too, once with the word rule (WordRun) too, and once with
# all of DefaultLoopGuard's rules (the item rule, ItemRepeat, as well),
# each built as evaluation
# builds it (repeat.guard_for, read against each example's prompt) from
# DefaultLoopGuard's own settings (bench/loopguard-spec.go). Prints the
# time inside the guard per token for each, the one-off cost of the
# section and word rules' token tables, and the reference answers each would change
# (a step whose reference token it bans). Only the tokenizer is loaded, never the weights.
# Usage: bench/loopguard-replay.sh BASE_MODEL_DIR DATASET_DIR
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
source "$(dirname "$0")/replay-env.sh"
cat > "$script" <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
import mlx.core as mx
from mlx_lm.utils import load_tokenizer
from pathlib import Path
from vulntune_engine.repeat import TokenText, WordTable, guard_for, guard_from

# engine.DefaultLoopGuard as its requests carry it (bench/loopguard-spec.go),
# read as the engine reads a request; the lighter variants drop its rules.
SPEC = guard_from({"loop_guard": json.loads(os.environ["LOOP_GUARD"])})
VARIANTS = (
    ("cycles", SPEC._replace(sections=(), lists=(), line_span=0, line_strikes=0, word_run=0, item_span=0)),
    ("cycles+sections", SPEC._replace(lists=(), line_span=0, line_strikes=0, word_run=0, item_span=0)),
    ("all but words", SPEC._replace(word_run=0, item_span=0)),
    ("all but items", SPEC._replace(item_span=0)),
    ("all rules", SPEC),
)

base, data, split = sys.argv[1], sys.argv[2], sys.argv[3]
tok = load_tokenizer(Path(base))
t0 = time.perf_counter()
TokenText.of(tok)
table_s = time.perf_counter() - t0
t0 = time.perf_counter()
WordTable.of(tok)
word_table_s = time.perf_counter() - t0
rows = [json.loads(l) for l in open(os.path.join(data, split + ".jsonl"))]
answers = [tok.encode(r["messages"][-1]["content"], add_special_tokens=False) for r in rows]
prompts = [tok.encode("\n".join(m["content"] for m in r["messages"][:-1]), add_special_tokens=False) for r in rows]
vocab = len(tok)
mx.random.seed(0)
noise = mx.random.normal((vocab,))

for name, spec in VARIANTS:
    spent, steps, changed = 0.0, 0, 0
    for ids, prompt in zip(answers, prompts):
        g = guard_for(spec, prompt, len(ids) + 1, tok)
        context = [0]
        for t in ids:
            logits = mx.where(mx.arange(vocab) == t, mx.array(100.0), noise)[None]
            mx.eval(logits)
            s = time.perf_counter()
            out = g(mx.array(context), logits)
            mx.eval(out)
            spent += time.perf_counter() - s
            steps += 1
            if int(mx.argmax(out[0]).item()) != t:
                changed += 1
                break
            context.append(t)
    print(f"{name:16s} {len(answers)} reference answers, {steps} tokens: "
          f"{1000 * spent / max(steps, 1):.3f} ms a token in the guard; answers changed: {changed}")
print(f"section rule's token table: {table_s:.2f} s once per tokenizer ({vocab} tokens); "
      f"word rule's: {word_table_s:.2f} s more, {len(WordTable.of(tok).multi_at_least(2))} tokens writing two fields or more")
PY
replay_run LOOP_GUARD="$(cd "$(dirname "$0")/.." && go run bench/loopguard-spec.go)"
