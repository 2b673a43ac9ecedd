# Sourced by the replay benches (grounded-replay.sh, loopguard-replay.sh),
# which feed DATASET's held-out reference answers to one of the engine's
# logits processors with only BASE_MODEL_DIR's tokenizer loaded: their
# arguments, the held-out split (test, else valid), the engine's Python
# package, a temporary file for the replay script, and replay_run, which
# runs that script on the engine's Python under the engine's environment
# (engine-env.sh) with any VAR=value given to it.
set -euo pipefail
base=${1:?base model dir}; data=${2:?dataset dir}
py="$VULNTUNE_DATA_DIR/engine/venv/bin/python"
source "$(dirname "${BASH_SOURCE[0]}")/engine-env.sh"
script=$(mktemp); trap 'rm -f "$script"' EXIT
pkg=$(cd "$(dirname "${BASH_SOURCE[0]}")/../internal/engine/py" && pwd)
split=test; [ -s "$data/test.jsonl" ] || split=valid
replay_run() {
  env "${engine_malloc[@]}" ENGINE_PY="$pkg" LD_PRELOAD="$engine_blas" "$@" "$py" "$script" "$base" "$data" "$split"
}
