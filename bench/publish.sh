#!/usr/bin/env bash
# Time and bytes of publishing a model of the demo's size (SmolLM2-135M-
# Instruct fp32 weights in the fine-tuned layout, about 540 MB) to the Hub
# stand-in (internal/hub/hubtest) through the engine's official
# huggingface_hub client: gate-s (plan, SHA-256s, validation with its
# functional answer, privacy scan), publish-s (whoami, create, compare,
# LFS upload, commit, tag), republish-s (the same content again: no
# commit, nothing sent), plan-MB, sent-MB and MB/s of the upload.
# Usage: bench/publish.sh [RUNS]   (needs VULNTUNE_DATA_DIR, `make setup`)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VULNTUNE_DATA_DIR:?export VULNTUNE_DATA_DIR (make setup)}"
go test ./internal/hub -run '^$' -bench BenchmarkPublishModel -benchtime 1x -count "${1:-1}" -timeout 30m
