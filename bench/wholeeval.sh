#!/usr/bin/env bash
# Whole-answer evaluation of the bundled base model (issue 16): the sample
# split answered with the bound evaluation derives from its reference
# answers and with the repetition stop, and the stop's cost per token.
#
# 1. Builds the sample dataset (`vulntune dataset --no-llm`, the main job's
#    split settings) from examples/artifacts.
# 2. Times the repetition stop (vulntune_engine/repeat.py CycleStop) over
#    every reference answer's tokens: microseconds per token, and how many
#    reference answers it would stop (must be 0).
# 3. Evaluates the base model against a copy of itself (cp -a: same files,
#    so the copy's answers come from the evaluation cache and the time is
#    one model's), printing results.json's bound, durations and the
#    ended, truncated and repetition figures.
#
# Usage: bench/wholeeval.sh VULNTUNE_BIN BASE_MODELS_DIR WORKDIR
# Needs VULNTUNE_DATA_DIR with an engine (`vulntune setup`); WORKDIR gets
# the dataset, the model copy and the evaluation cache.
set -euo pipefail
bin=${1:?vulntune binary}; models=${2:?base models dir}; work=${3:?work dir}
repo=$(cd "$(dirname "$0")/.." && pwd)
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
base=SmolLM2-135M-Instruct
mkdir -p "$work"
"$bin" dataset --artifacts-dir "$repo/examples/artifacts" --no-llm -o "$work/dataset" -q

ENGINE_PY="$repo/internal/engine/py" "$py" - "$models/$base" "$work/dataset" <<'PY'
import glob, json, os, sys, time
sys.path.insert(0, os.environ["ENGINE_PY"])
from pathlib import Path
from mlx_lm.utils import load_tokenizer
from vulntune_engine.repeat import CycleStop

tok = load_tokenizer(Path(sys.argv[1]))
refs = []
for f in sorted(glob.glob(os.path.join(sys.argv[2], "*.jsonl"))):
    if f.endswith("meta.jsonl"):
        continue
    for line in open(f):
        msgs = json.loads(line)["messages"]
        refs.append(tok.encode([m["content"] for m in msgs if m["role"] == "assistant"][-1], add_special_tokens=False))
n = sum(map(len, refs))
stopped, t0 = 0, time.perf_counter()
for ids in refs:
    guard = CycleStop(256, 3, 48, capacity=len(ids))
    stopped += any(guard.push(t) for t in ids)
dt = time.perf_counter() - t0
print(f"repeat stop: {len(refs)} reference answers, {n} tokens, longest {max(map(len, refs))}; "
      f"{dt / n * 1e6:.1f} us per token; {stopped} stopped")
PY

rm -rf "$work/copy"
cp -a "$models/$base" "$work/copy"
export VULNTUNE_BASE_MODELS_DIR=$models
start=$(date +%s)
"$bin" evaluate "$work/copy" --dataset "$work/dataset" --base-model "$base" -v 2> "$work/evaluate.log"
echo "evaluate: $(( $(date +%s) - start )) s wall"
"$py" - "$work/copy/eval/results.json" "$work/copy/eval/generations.jsonl" <<'PY'
import collections, json, sys
r = json.load(open(sys.argv[1]))
b = r["base"]
print("bound:", json.dumps(r["max_tokens"]), json.dumps(r["bound"]))
print("durations:", json.dumps(r["durations"]))
print(f"base: n={b['n']} ended={b['ended_share']:.3f} truncated={b['truncated']} repeating={b['repeating']} "
      f"repetition_share={b['repetition_share']:.3f}")
gens = [json.loads(l) for l in open(sys.argv[2]) if json.loads(l)["model"] == "base"]
toks = sorted(g["generation_tokens"] for g in gens)
print("generation tokens: min", toks[0], "median", toks[len(toks) // 2], "max", toks[-1], "total", sum(toks))
print("finish reasons:", dict(collections.Counter(g["finish_reason"] for g in gens)))
PY
