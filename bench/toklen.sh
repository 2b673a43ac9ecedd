#!/usr/bin/env bash
# Token lengths of a dataset's examples as the engine trains on them:
# system + user + assistant rendered with the base model's chat template and
# tokenized with its tokenizer (vulntune_engine/data.py's encode, without
# the mask), per split; how many exceed each candidate training length;
# and the padded tokens the main job's 30 steps of batch 4 would train at a
# length (the engine's batch order: seeded windows sorted by length, each
# batch padded to its longest row, rounded up to 32 + 1).
# Usage: bench/toklen.sh DATASET_DIR BASE_MODEL_DIR [LENGTH...]
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
ds=${1:?dataset dir}; base=${2:?base model dir}; shift 2
[ $# -gt 0 ] || set -- 768 1024 1152
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
ENGINE_PY=$(cd "$(dirname "$0")/../internal/engine/py" && pwd) "$py" - "$ds" "$base" "$@" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["ENGINE_PY"])
from transformers import AutoTokenizer
from vulntune_engine.data import Order

ds, base, lengths = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
tok = AutoTokenizer.from_pretrained(base)
count = lambda text: len(tok(text, add_special_tokens=False)["input_ids"])
rows = {}
for split in ("train", "valid"):
    path = os.path.join(ds, split + ".jsonl")
    if not os.path.exists(path):
        continue
    rows[split] = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            msgs = json.loads(line)["messages"]
            full = count(tok.apply_chat_template(msgs, tokenize=False))
            answer = count(msgs[-1]["content"])
            rows[split].append((full, answer))
for split, rs in rows.items():
    full = sorted(r[0] for r in rs)
    ans = sorted(r[1] for r in rs)
    n = len(full)
    print(f"{split}: {n} examples, tokens min {full[0]} median {full[n // 2]} p90 {full[int(n * 0.9)]} max {full[-1]}; "
          f"answer median {ans[n // 2]} max {ans[-1]}")
    for L in lengths:
        print(f"  longer than {L}: {sum(f > L for f in full)}/{n}")
train = [min(f, 10**9) for f, _ in rows.get("train", [])]
for L in lengths:
    lens = [min(f, L) for f in train]
    o, total = Order(lens, 4, 120, 42), 0
    for s in range(1, 31):
        idx = o.batch(s)
        total += min(1 + 32 * ((max(lens[i] for i in idx) - 1 + 31) // 32), L) * len(idx)
    print(f"length {L}: 30 steps x batch 4 train {total} padded tokens")
PY
