#!/bin/sh
# Measures ingest on the odd and hostile inputs of issue 14 §5: redaction
# time on whitespace-free minified CSS full of keyword hits, how soon a giant
# redaction stops after SIGTERM, and peak RSS of `vulntune parse` on a
# one-line SARIF log with a 200 MB message and on an 8 MB zip holding a
# 1000 MB entry. Generated files are deleted afterwards.
#
#   bench/hostile.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
for cmd in genhostile redacttime gensarif; do
	go build -o "$work/$cmd" "./bench/$cmd"
done
go build -o "$work/vulntune" ./cmd/vulntune

echo "== redaction of minified CSS (an \"sk-\" keyword hit every 55 bytes, no whitespace)"
for size in 1MB 4MB; do
	"$work/genhostile" css -size $size -o "$work/min.css"
	"$work/redacttime" "$work/min.css"
done

echo "== SIGTERM 3 s into redacting 200 MB of it"
"$work/genhostile" css -size 200MB -o "$work/min.css"
"$work/redacttime" "$work/min.css" &
pid=$!
sleep 3
kill -TERM $pid
wait $pid || true
rm -f "$work/min.css"

peak() { # peak RSS and wall time of vulntune parse on $1
	mkdir -p "$work/tmp"
	TMPDIR="$work/tmp" /usr/bin/time -v "$work/vulntune" parse -o "$work/findings.jsonl" "$1" >"$work/parse.txt" 2>"$work/time.txt"
	tail -n 2 "$work/parse.txt" | head -n 1
	grep -E "Maximum resident|Elapsed" "$work/time.txt"
	echo "temporary files left: $(ls "$work/tmp" | wc -l)"
}

echo "== vulntune parse: one-line SARIF, one result with a 200 MB base64 message"
"$work/genhostile" message -size 200MB -o "$work/one-line.sarif"
peak "$work/one-line.sarif"
rm -f "$work/one-line.sarif"

echo "== vulntune parse: zip holding one 1000 MB SARIF entry (60 MB of results, padded)"
"$work/gensarif" -size 60MB -o "$work/results.sarif"
"$work/genhostile" zip -in "$work/results.sarif" -size 1000MB -o "$work/artifact.zip"
ls -l "$work/artifact.zip" | awk '{print "zip bytes:", $5}'
peak "$work/artifact.zip"
