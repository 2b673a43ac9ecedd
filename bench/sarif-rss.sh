#!/bin/sh
# Measures the SARIF parser: throughput on the real 2 MB Semgrep sample and
# throughput plus peak RSS on a generated SARIF file (default 500 MB), parsed
# on one core (GOMAXPROCS=1). The generated file is deleted afterwards.
#
#   bench/sarif-rss.sh [SIZE]      e.g. bench/sarif-rss.sh 500MB
set -eu
size=${1:-500MB}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
go build -o "$work/gensarif" ./bench/gensarif
go build -o "$work/sarifparse" ./bench/sarifparse

echo "== real sample: examples/artifacts/semgrep/semgrep.sarif"
GOMAXPROCS=1 "$work/sarifparse" examples/artifacts/semgrep/semgrep.sarif

echo "== generated: $size"
"$work/gensarif" -size "$size" -o "$work/big.sarif"
# Each streams findings (the parser's own footprint); -collect keeps them
# all as Parse does (footprint of the parser plus its output).
for mode in "" -collect; do
	if [ -x /usr/bin/time ]; then
		GOMAXPROCS=1 /usr/bin/time -v "$work/sarifparse" $mode "$work/big.sarif" 2>"$work/time.txt"
		grep -E "Maximum resident|Elapsed" "$work/time.txt"
	else
		GOMAXPROCS=1 "$work/sarifparse" $mode "$work/big.sarif"
	fi
done

# The whole ingest as users run it: parse, fingerprint, redact, merge and
# write findings.jsonl, with findings spilled to disk (DESIGN.md §8).
go build -o "$work/vulntune" ./cmd/vulntune
echo "== vulntune parse (end to end) on the generated file"
if [ -x /usr/bin/time ]; then
	GOMAXPROCS=1 /usr/bin/time -v "$work/vulntune" parse -o "$work/findings.jsonl" "$work/big.sarif" >"$work/parse.txt" 2>"$work/time.txt"
	tail -n 2 "$work/parse.txt" | head -n 1
	grep -E "Maximum resident|Elapsed|User time" "$work/time.txt"
else
	GOMAXPROCS=1 "$work/vulntune" parse -o "$work/findings.jsonl" "$work/big.sarif" | tail -n 2
fi
