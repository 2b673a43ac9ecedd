package engine_test

import (
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

func TestSystemBLAS(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == engine.BLASEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, goos, env, want string
	}{
		{"macOS never preloads", "darwin", "/x/libblas.so", ""},
		{"explicit path wins", "linux", "/opt/blas/libblas.so.3", "/opt/blas/libblas.so.3"},
		{"bundled opts out", "linux", "bundled", ""},
	}
	for _, tt := range tests {
		if got := engine.SystemBLAS(tt.goos, env(tt.env)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMallocTuning(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == engine.MallocEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, goos, env string
		want            bool
	}{
		{"linux tunes glibc", "linux", "", true},
		{"default opts out", "linux", "default", false},
		{"macOS has no glibc", "darwin", "", false},
	}
	for _, tt := range tests {
		got := engine.MallocTuning(tt.goos, env(tt.env))
		if has := slices.Contains(got, "MALLOC_MMAP_MAX_=0"); has != tt.want {
			t.Errorf("%s: got %q, want tuning %v", tt.name, got, tt.want)
		}
	}
}
