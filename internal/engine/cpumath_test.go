package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

// runJSONCheck writes src to a script, runs it in the engine interpreter
// with args, launched as the engine launches its scripts, and decodes the
// one JSON object it prints.
func runJSONCheck(t *testing.T, e *engine.Engine, op string, src []byte, args []string, env ...string) map[string]any {
	t.Helper()
	script := filepath.Join(t.TempDir(), op+".py")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := e.Run(context.Background(), engine.Call{Op: op, Args: append([]string{"-I", script}, args...), Env: env, Stdout: &out}); err != nil {
		t.Fatalf("%s script: %v", op, err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%s script printed %q: %v", op, out.String(), err)
	}
	return got
}

// runCPUMathCheck runs testdata/cpumath_check.py against the installed
// package's cpumath module (see runJSONCheck).
func runCPUMathCheck(t *testing.T, env ...string) map[string]any {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "cpumath_check.py"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := engine.InstallPython(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return runJSONCheck(t, newEngine(t), "cpumath-check", src, []string{root}, env...)
}

// TestCPUMathMatchesMLX holds every kernel cpumath installs to MLX's
// own: values and compiled gradients within float32 rounding, on the masks
// mlx-lm passes (causal in blocks and with a cache offset, left-padded
// boolean, additive) and on decoding steps over a left-padded cache.
func TestCPUMathMatchesMLX(t *testing.T) {
	got := runCPUMathCheck(t, "VULNTUNE_CPU_KERNELS=vulntune")
	if got["kernels"] != "vulntune" {
		t.Fatalf("kernels = %v, want vulntune", got["kernels"])
	}
	if z, ok := got["exp of -inf and -200"].([]any); !ok || len(z) != 2 || z[0] != 0.0 || z[1] != 0.0 {
		t.Errorf("exp(-inf), exp(-200) = %v, want exactly 0", got["exp of -inf and -200"])
	}
	for _, tt := range []struct {
		name string
		tol  float64 // largest difference relative to the largest magnitude
	}{
		{"exp", 3e-7},
		{"sdpa causal L=300 S=300", 1e-5}, {"sdpa causal L=300 S=300 grad", 1e-5},
		{"sdpa causal L=260 S=300", 1e-5}, {"sdpa causal L=260 S=300 grad", 1e-5},
		{"sdpa causal L=40 S=40", 1e-5}, {"sdpa causal L=40 S=40 grad", 1e-5},
		{"sdpa None L=1 S=50", 1e-5}, {"sdpa None L=1 S=50 grad", 1e-5},
		{"sdpa decode causal", 1e-5}, {"sdpa decode causal grad", 1e-5},
		{"sdpa decode bool", 1e-5}, {"sdpa decode bool grad", 1e-5},
		{"sdpa decode bool per head", 1e-5}, {"sdpa decode bool per head grad", 1e-5},
		{"sdpa decode additive per head", 1e-5}, {"sdpa decode additive per head grad", 1e-5},
		{"sdpa decode 2-d bool", 1e-5}, {"sdpa decode 2-d bool grad", 1e-5},
		{"sdpa bool mask, padded rows", 1e-5}, {"sdpa bool mask, padded rows grad", 1e-5},
		{"sdpa additive mask", 1e-5}, {"sdpa additive mask grad", 1e-5},
		{"swiglu", 1e-5}, {"swiglu grad", 1e-5},
		{"cross entropy", 1e-5}, {"cross entropy grad", 1e-5},
	} {
		v, ok := got[tt.name].(float64)
		if !ok {
			t.Errorf("%s: no figure in %v", tt.name, got)
			continue
		}
		if v > tt.tol {
			t.Errorf("%s: relative difference %.3g, want <= %.3g", tt.name, v, tt.tol)
		}
	}
}

// On a GPU backend, or with VULNTUNE_CPU_KERNELS=mlx, nothing of MLX's is
// replaced.
func TestCPUMathOnlyOnCPU(t *testing.T) {
	got := runCPUMathCheck(t, "VULNTUNE_CPU_KERNELS=vulntune", "CHECK_OFF=1")
	if got["gpu"] != "mlx" || got["opted_out"] != "mlx" || got["patched"] != false {
		t.Errorf("got %v, want mlx for both and MLX's kernels in place", got)
	}
}
