package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExplainFlags checks what explain refuses before it needs an engine.
func TestExplainFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		exit   int
		stderr string
	}{
		{"unknown format", []string{"explain", "--format", "pdf", "x.sarif"}, exitUsage, `unknown format "pdf"`},
		{"unknown severity", []string{"explain", "--min-severity", "urgent", "x.sarif"}, exitUsage, `unknown severity "urgent"`},
		{"no input", []string{"explain"}, exitUsage, "requires at least 1 arg"},
		{"unknown model", []string{"explain", "--model", "nope", "x.sarif"}, exitUsage, `model "nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != tt.exit || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tt.exit, tt.stderr, stderr.String())
			}
		})
	}
}

// TestExplainEndToEnd explains the two most severe sample findings with the
// real engine and the bundled SmolLM2, briefly, then again: the second run
// answers from the cache and says so.
func TestExplainEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("engine test: slow")
	}
	smol := filepath.Join(os.Getenv("VULNTUNE_DATA_DIR"), "models", "base", "SmolLM2-135M-Instruct")
	if d := os.Getenv("VULNTUNE_BASE_MODELS_DIR"); d != "" {
		smol = filepath.Join(d, "SmolLM2-135M-Instruct")
	}
	data := engineDataDir(t)
	if data == "" {
		t.Skip("no engine: run `make setup` and export VULNTUNE_DATA_DIR")
	}
	if _, err := os.Stat(filepath.Join(smol, "model.safetensors")); err != nil {
		t.Skipf("no SmolLM2-135M-Instruct in %s: run `make setup`", smol)
	}
	home := cleanEnv(t)
	t.Setenv("VULNTUNE_DATA_DIR", data)
	t.Setenv("VULNTUNE_FINE_TUNED_MODELS_DIR", filepath.Join(home, "tuned"))
	out := filepath.Join(home, "explained.md")
	args := []string{"explain", "../../examples/artifacts", "--model", smol, "--limit", "2", "--max-tokens", "24"}

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(args, "-o", out), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstderr: %s", code, stderr.String())
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Model `SmolLM2-135M-Instruct` answered 2 finding(s)", "**Model answer**", "**Remediation facts**", "## High (2)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(stderr.String(), "explained 2 finding(s)") || !strings.Contains(stderr.String(), "0 from the cache") {
		t.Errorf("summary missing or wrong:\n%s", stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), append(args, "--format", "json"), &stdout, &stderr); code != exitOK {
		t.Fatalf("second run: exit %d\nstderr: %s", code, stderr.String())
	}
	var r struct {
		Findings []struct {
			Answer       string `json:"answer"`
			FinishReason string `json:"finish_reason"`
			Cached       bool   `json:"cached"`
		} `json:"findings"`
		Summary struct {
			Cached           int `json:"cached"`
			GenerationTokens int `json:"generation_tokens"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, stdout.String())
	}
	if len(r.Findings) != 2 || r.Summary.Cached != 2 || r.Summary.GenerationTokens != 0 {
		t.Fatalf("second run: %d findings, %d cached, %d tokens generated; want 2, 2, 0", len(r.Findings), r.Summary.Cached, r.Summary.GenerationTokens)
	}
	for _, f := range r.Findings {
		if strings.TrimSpace(f.Answer) == "" || f.FinishReason == "" || !f.Cached {
			t.Errorf("answer %+v: want a cached, non-empty answer", f)
		}
		if first := strings.TrimSpace(strings.SplitN(f.Answer, "\n", 2)[0]); !strings.Contains(string(md), first) {
			t.Errorf("cached answer %q is not the first run's", f.Answer)
		}
	}
}
