#!/usr/bin/env bash
# Which generated answers the loop guard's item rule would first steer at
# each span: the tuned answers of an evaluation (EVAL_DIR/generations.jsonl,
# free and grounded) read by repeat.py's first_item_ban against each
# example's prompt (DATASET_JSONL, the split the evaluation answered, in its
# order), as decoding reads them. Run on answers generated before the rule
# (or with another span) to see the rule's reach; on answers generated with
# it at span N, spans from N up find nothing by construction.
# Only the tokenizer is loaded, never the weights.
# Usage: bench/itemreach.sh BASE_MODEL_DIR EVAL_DIR DATASET_JSONL [SPAN...]
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`).
set -euo pipefail
base=${1:?base model dir}; eval_dir=${2:?evaluation dir}; data=${3:?dataset jsonl}
shift 3
spans=${*:-3 4 5 6 8}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
pkg=$(cd "$(dirname "$0")/../internal/engine/py" && pwd)
ENGINE_PY="$pkg" "$py" - "$base" "$eval_dir/generations.jsonl" "$data" $spans <<'PY'
import json, os, sys
from pathlib import Path

sys.path.insert(0, os.environ["ENGINE_PY"])
from mlx_lm.utils import load_tokenizer
from vulntune_engine.repeat import first_item_ban

base, gens, data, *spans = sys.argv[1:]
tok = load_tokenizer(Path(base))
examples = [json.loads(l)["messages"] for l in open(data)]
tuned = [r for r in map(json.loads, open(gens)) if r["model"] == "tuned"]
n = len(examples)
# Evaluation writes the free answers first, then the grounded ones.
for label, part in (("free", tuned[:n]), ("grounded", tuned[n:])):
    for span in map(int, spans):
        hits = []
        for r in part:
            m = examples[r["index"]]
            prompt = tok.encode("\n".join(x["content"] for x in m[:-1]), add_special_tokens=False)
            if first_item_ban(tok.encode(r["text"], add_special_tokens=False), tok, span, prompt) >= 0:
                hits.append(r["index"])
        print(f"{label:8s} span {span}: {len(hits)} of {len(part)} answers {hits}")
PY
