package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolate points every vulntune directory at a temp dir and PATH at dir.
func isolate(t *testing.T, pathDir string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("VULNTUNE_CONFIG", "")
	for _, k := range []string{"VULNTUNE_DATA_DIR", "VULNTUNE_ENGINE_PYTHON", "VULNTUNE_BASE_MODELS_DIR", "HF_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	if pathDir != "" {
		t.Setenv("PATH", pathDir)
	}
	return home
}

func TestEngineCommands(t *testing.T) {
	oldPython := t.TempDir()
	if err := os.WriteFile(filepath.Join(oldPython, "python3"), []byte("#!/bin/sh\necho 3.9.18\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		path       string
		wantExit   int
		wantStdout []string
		wantStderr []string
	}{
		{"setup without a recent python", []string{"setup", "--backend", "cpu"}, oldPython, exitError, nil,
			[]string{`step "find python"`, "no Python >= 3.11 found", "3.9.18 is too old", "hint:", "--python"}},
		{"setup with an unknown backend", []string{"setup", "--backend", "rocm"}, oldPython, exitUsage, nil,
			[]string{"rocm"}},
		{"doctor without engine", []string{"doctor"}, "", exitError,
			[]string{"engine", "fail", "vulntune setup", "default base model", "HF token", "unset"},
			[]string{"problem"}},
		{"doctor json", []string{"doctor", "--json"}, "", exitError,
			[]string{`"checks"`, `"go_version"`, `"base_models": []`}, nil},
		{"generate unknown model", []string{"generate", "--model", "nope", "hi"}, "", exitUsage, nil,
			[]string{`model "nope" not found`, "hint:"}},
		{"serve without engine", []string{"serve", "--model", "./missing-dir"}, "", exitUsage, nil,
			[]string{"not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t, tt.path)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantExit {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantExit, stdout.String(), stderr.String())
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}
