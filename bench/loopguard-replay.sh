#!/usr/bin/env bash
# The loop guard's own cost, without a model: the reference answers of
# DATASET's held-out split, tokenized with BASE_MODEL_DIR's tokenizer, are
# fed to the guard (internal/engine/py/vulntune_engine/repeat.py
# CycleGuard) token by token as if a model ranked each reference token
# first (random logits otherwise), once with the cycle rule alone, once
# with the section rule too (SectionGuard, the headings of
# engine.DefaultLoopGuard), and once with all of DefaultLoopGuard's rules
# (its lists and the line rule, LineRepeat, read against each example's
# prompt). Prints the time inside the guard per token for each, the one-off cost of the section rule's token table, and the
# reference answers either would change (a step whose reference token it
# bans). Only the tokenizer is loaded, never the weights.
# Usage: bench/loopguard-replay.sh BASE_MODEL_DIR DATASET_DIR
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
source "$(dirname "$0")/replay-env.sh"
cat > "$script" <<'PY'
import json, os, re, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
import mlx.core as mx
from mlx_lm.utils import load_tokenizer
from pathlib import Path
from vulntune_engine.repeat import CycleGuard, LineRepeat, SectionGuard, TokenText

# engine.DefaultLoopGuard's settings (internal/engine/evalops.go); its
# headings are chat.Headings, read from chat.go's one list.
SETTINGS, MAX_BANS, LINE_SPAN, LINE_STRIKES = (256, 3, 16), 12, 16, 4
src = open(os.environ["CHAT_GO"]).read()


def headings(var):
    body = re.search(r"var " + var + r" = \[\]string\{([^}]*)\}", src).group(1)
    return ["**" + s + "**" for s in re.findall(r'"([^"]+)"', body)]


HEADINGS, LISTS = headings("Sections"), headings("ListSections")

base, data, split = sys.argv[1], sys.argv[2], sys.argv[3]
tok = load_tokenizer(Path(base))
t0 = time.perf_counter()
TokenText.of(tok)
table_s = time.perf_counter() - t0
rows = [json.loads(l) for l in open(os.path.join(data, split + ".jsonl"))]
answers = [tok.encode(r["messages"][-1]["content"], add_special_tokens=False) for r in rows]
prompts = [tok.encode("\n".join(m["content"] for m in r["messages"][:-1]), add_special_tokens=False) for r in rows]
vocab = len(tok)
mx.random.seed(0)
noise = mx.random.normal((vocab,))

for name, rules in (("cycles", 0), ("cycles+sections", 1), ("all rules", 2)):
    spent, steps, changed = 0.0, 0, 0
    for ids, prompt in zip(answers, prompts):
        g = CycleGuard(SETTINGS, prompt=[], capacity=len(ids) + 1, max_bans=MAX_BANS,
                       sections=SectionGuard(tok, HEADINGS, LISTS if rules == 2 else ()) if rules else None,
                       lines=LineRepeat(tok, LINE_SPAN, prompt, LINE_STRIKES) if rules == 2 else None)
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
print(f"section rule's token table: {table_s:.2f} s once per tokenizer ({vocab} tokens)")
PY
replay_run CHAT_GO="$(dirname "$0")/../internal/chat/chat.go"
