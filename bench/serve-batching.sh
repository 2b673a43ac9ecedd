#!/usr/bin/env bash
# Measures mlx_lm.server (through `vulntune serve`) at concurrency 1 and 8:
# requests/s and generated tokens/s. Prints figures; asserts nothing.
#
#   bench/serve-batching.sh [MODEL] [REQUESTS] [MAX_TOKENS]
#
# Needs a built vulntune on PATH (or VULNTUNE=path) after `vulntune setup`,
# plus curl. Decoding is greedy and every request asks for exactly
# MAX_TOKENS (ignore_eos is not exposed, so short answers count as fewer).
set -euo pipefail
VULNTUNE=${VULNTUNE:-vulntune}
MODEL=${1:-SmolLM2-135M-Instruct}
N=${2:-16}
MAX=${3:-32}
out=$(mktemp)
"$VULNTUNE" serve --model "$MODEL" --decode-concurrency 8 >"$out" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 1 600); do
	url=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" || true)
	[ -n "$url" ] && break
	sleep 0.5
done
[ -n "$url" ] || { echo "server did not start" >&2; exit 1; }

one() {
	curl -s "$1/v1/chat/completions" -H 'Content-Type: application/json' \
		-d "{\"model\":\"default_model\",\"max_tokens\":$2,\"messages\":[{\"role\":\"user\",\"content\":\"Explain finding $3: SQL injection in a login form.\"}]}" |
		grep -o '"completion_tokens": *[0-9]*' | grep -o '[0-9]*$'
}
export -f one
for c in 1 8; do
	start=$(date +%s.%N)
	toks=$(seq 1 "$N" | xargs -P "$c" -I{} bash -c "one $url $MAX {}" | paste -sd+ | bc)
	end=$(date +%s.%N)
	awk -v c="$c" -v n="$N" -v t="$toks" -v s="$start" -v e="$end" 'BEGIN {
		d = e - s; printf "concurrency %d: %d requests, %d tokens in %.1fs = %.2f req/s, %.1f tokens/s\n", c, n, t, d, n / d, t / d }'
done
