package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPipelineCommands runs the phase commands in-process without the
// engine: usage errors, the deterministic phases, and validation's exit
// code on a broken model directory.
func TestPipelineCommands(t *testing.T) {
	home := cleanEnv(t)
	broken := filepath.Join(home, "broken-model")
	os.MkdirAll(broken, 0o755)
	// The original plan `touch`ed its model files; validation must fail that.
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json"} {
		os.WriteFile(filepath.Join(broken, f), nil, 0o644)
	}
	out := filepath.Join(home, "out")
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout string
		files  []string // must exist afterwards
	}{
		{"finetune needs a dataset", []string{"finetune"}, exitUsage, "", nil},
		{"finetune epochs and steps", []string{"finetune", "--dataset", out, "--epochs", "1", "--max-steps", "2"}, exitUsage, "", nil},
		{"evaluate needs a dataset", []string{"evaluate", "x"}, exitUsage, "", nil},
		{"run needs artifacts", []string{"run"}, exitUsage, "", nil},
		{"dataset needs one input", []string{"dataset", "--no-llm"}, exitUsage, "", nil},
		{"dataset no-llm", []string{"dataset", "--artifacts-dir", "../../examples/artifacts", "--no-llm", "-o", filepath.Join(out, "ds")},
			exitOK, "188 findings -> 111 examples (0 suppressed excluded, 77 over the cap of 10 per rule left out)", []string{"ds/train.jsonl", "ds/valid.jsonl", "ds/README.md", "ds/stats.json", "ds/examples.meta.jsonl"}},
		{"run without fine-tuning", []string{"run", "--artifacts-dir", "../../examples/artifacts", "--skip-fine-tuning", "--output-dir", filepath.Join(out, "run")},
			exitOK, "skipped: finetune, evaluate, validate", []string{"run/run.json", "run/findings.jsonl", "run/dataset/train.jsonl", "run/report.html"}},
		{"run again does nothing", []string{"run", "--artifacts-dir", "../../examples/artifacts", "--skip-fine-tuning", "--output-dir", filepath.Join(out, "run")},
			exitOK, "up to date (not run again): parse, dataset", nil},
		{"report of a run", []string{"report", filepath.Join(out, "run"), "-o", filepath.Join(out, "elsewhere.html")},
			exitOK, filepath.Join(out, "elsewhere.html"), []string{"elsewhere.html"}},
		{"report needs a run dir", []string{"report", filepath.Join(out, "no-such-run")}, exitError, "", nil},
		{"validate a touched model", []string{"validate", "--skip-functional", broken}, exitGate, "0-byte", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("missing %s", f)
				}
			}
		})
	}
}
