#!/bin/sh
# Wall time of `vulntune dataset --no-llm` over all bundled sample artifacts
# (parse, remediation, narratives, leak-free split, checks, card), 5 runs;
# prints each time and the median.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
go build -o "$work/vulntune" ./cmd/vulntune
times=""
for i in 1 2 3 4 5; do
	s=$(date +%s.%N)
	"$work/vulntune" dataset --artifacts-dir examples/artifacts --no-llm -o "$work/ds" >/dev/null
	e=$(date +%s.%N)
	t=$(echo "$e - $s" | bc)
	echo "run $i: ${t}s"
	times="$times $t"
done
echo "$times" | tr ' ' '\n' | grep . | sort -n | sed -n 3p | sed 's/^/median: /;s/$/s/'
