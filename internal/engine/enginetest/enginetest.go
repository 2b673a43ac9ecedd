// Package enginetest finds the engine's Python for tests that run it: the
// engine packages' own tests and every other package's cross-checks
// against the engine's modules (the grounding rule, the Hub client, the
// model card's snippets).
package enginetest

import (
	"os"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

// Python returns the interpreter of the engine venv the tests run on:
// $VULNTUNE_TEST_ENGINE_PYTHON, else the venv under $VULNTUNE_DATA_DIR (as
// `make test` sets it). Without either it skips t, naming what would run
// (what). A VULNTUNE_DATA_DIR without an engine fails t: the test was asked
// to run on an engine that is not there.
func Python(t testing.TB, what string) string {
	t.Helper()
	if py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON"); py != "" {
		return py
	}
	if dir := os.Getenv("VULNTUNE_DATA_DIR"); dir != "" {
		e, err := engine.Open(dir)
		if err != nil {
			t.Fatalf("VULNTUNE_DATA_DIR=%s: %v (run `make setup`)", dir, err)
		}
		return e.Python
	}
	t.Skipf("no engine: run `make setup` and export VULNTUNE_DATA_DIR=DIR (or VULNTUNE_TEST_ENGINE_PYTHON) to run %s", what)
	return ""
}
