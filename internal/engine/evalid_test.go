package engine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEvaluateID(t *testing.T) {
	t.Parallel()
	venv := t.TempDir()
	py := VenvPython(venv)
	stamp := func(lock string) {
		os.WriteFile(filepath.Join(venv, stampName), []byte(`{"lock_sha256":"`+lock+`","python_version":"3.11"}`), 0o644)
	}
	stamp("aaa")
	id := func(python, preload string, kernels ...string) string {
		e := New(python, t.TempDir())
		e.Preload = preload
		e.Kernels = kernels
		return e.EvaluateID()
	}
	first := id(py, "")
	if first != id(py, "") {
		t.Error("the same engine has two ids")
	}
	for name, other := range map[string]string{
		"another interpreter": id(filepath.Join(t.TempDir(), "bin", "python"), ""),
		"another BLAS":        id(py, "/usr/lib/libopenblas.so.0"),
		"other CPU kernels":   id(py, "", CPUKernelsEnv+"=vulntune"),
	} {
		if other == first {
			t.Errorf("%s: same id", name)
		}
	}
	stamp("bbb")
	if id(py, "") == first {
		t.Error("a reinstall with other packages kept the id")
	}
}
