#!/bin/sh
# Measures the daemon against the GitHub stand-in: a backlog of RUNS runs
# with small artifacts processed to the dataset (wall, CPU, peak RSS), then
# idle polling (requests, CPU per poll, RSS). Linux (reads /proc).
#
#   bench/daemon.sh [RUNS] [CYCLES]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cd "$root"
go build -o "$work/vulntune" ./cmd/vulntune
go build -o "$work/daemonbench" ./bench/daemonbench
"$work/daemonbench" -vulntune "$work/vulntune" -runs "${1:-100}" -cycles "${2:-30}"
