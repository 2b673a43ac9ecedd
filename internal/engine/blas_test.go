package engine_test

import (
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

// envWith is a getenv where only key is set, to v.
func envWith(key, v string) func(string) string {
	return func(k string) string {
		if k == key {
			return v
		}
		return ""
	}
}

func TestMallocTuning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, goos, env string
		want            bool
	}{
		{"linux tunes glibc", "linux", "", true},
		{"default opts out", "linux", "default", false},
		{"macOS has no glibc", "darwin", "", false},
	}
	for _, tt := range tests {
		got := engine.MallocTuning(tt.goos, envWith(engine.MallocEnv, tt.env))
		if has := slices.Contains(got, "MALLOC_MMAP_MAX_=0"); has != tt.want {
			t.Errorf("%s: got %q, want tuning %v", tt.name, got, tt.want)
		}
	}
}

func TestCPUKernels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, goarch, env string
		want              bool
	}{
		{"x86-64 gets vulntune's kernels", "amd64", "", true},
		{"any other value still does", "amd64", "fast", true},
		{"mlx opts out", "amd64", " mlx ", false},
		{"other architectures keep MLX's (only x86-64 was measured)", "arm64", "", false},
	}
	for _, tt := range tests {
		got := engine.CPUKernels(tt.goarch, envWith(engine.CPUKernelsEnv, tt.env))
		if has := slices.Contains(got, engine.CPUKernelsEnv+"=vulntune"); has != tt.want {
			t.Errorf("%s: got %q, want kernels %v", tt.name, got, tt.want)
		}
	}
}
