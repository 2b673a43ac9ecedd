// Package enginetest finds the engine's Python for tests that run it: the
// engine packages' own tests and every other package's cross-checks
// against the engine's modules (the grounding rule, the Hub client, the
// model card's snippets).
package enginetest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// RunScript runs a Python script on the engine's interpreter (Python's
// what names it when there is none) with the engine's package importable:
// the directory holding vulntune_engine is the script's sys.argv[1]. in is
// handed to the script as JSON on stdin, and its stdout is decoded as JSON
// into out. A script that fails, or prints no JSON, fails t.
func RunScript(t testing.TB, what, script string, in, out any) {
	t.Helper()
	py := Python(t, what)
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("enginetest: cannot locate the engine's Python package")
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", script, filepath.Join(filepath.Dir(self), "..", "py"))
	cmd.Stdin = bytes.NewReader(b)
	cmd.Stderr = os.Stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(got, out); err != nil {
		t.Fatalf("%s printed %.200q: %v", what, got, err)
	}
}
