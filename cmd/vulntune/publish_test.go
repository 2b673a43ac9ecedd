package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

// TestPublishCommands runs publish without the engine or a Hub: dry runs
// of datasets, refusals and usage errors, and their exit codes.
func TestPublishCommands(t *testing.T) {
	home := cleanEnv(t)
	t.Setenv("HF_HOME", filepath.Join(home, "hf")) // no login token file
	good, leaky := filepath.Join(home, "good"), filepath.Join(home, "leaky")
	hubtest.WriteDataset(t, good, "findings", 30)
	hubtest.WriteDataset(t, leaky, "findings", 30)
	f, _ := os.OpenFile(filepath.Join(leaky, "README.md"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\nbuilt in /home/someone/project\n")
	f.Close()
	tests := []struct {
		name           string
		args           []string
		want           int
		stdout, stderr string
	}{
		{"dataset dry run", []string{"publish", "dataset", good, "--dry-run", "--repo-prefix", "acme"}, exitOK,
			"publish dataset acme/findings (private when created), revision main", ""},
		{"dataset dry run public", []string{"publish", "dataset", good, "--dry-run", "--private=false", "--repo", "me/ds"}, exitOK,
			"publish dataset me/ds (public when created)", ""},
		{"dataset dry run json", []string{"publish", "dataset", good, "--dry-run", "--json"}, exitOK, `"passed": true`, ""},
		{"refused dry run exits 3", []string{"publish", "dataset", leaky, "--dry-run"}, exitGate,
			"README.md:73: home directory path", "publish dataset <your account>/findings refused (1 problem(s)); nothing was sent"},
		{"no token", []string{"publish", "dataset", good}, exitUsage, "", "no Hugging Face token"},
		{"bad repo", []string{"publish", "dataset", good, "--dry-run", "--repo", "no-namespace"}, exitUsage, "", `--repo "no-namespace": want NAMESPACE/NAME`},
		{"unknown model", []string{"publish", "model", "nope", "--dry-run"}, exitUsage, "", `model "nope" not found`},
		{"no args", []string{"publish", "model"}, exitUsage, "", "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.want || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout containing %q, stderr containing %q",
					code, tt.want, stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestPublishEndToEnd publishes a model with `vulntune publish model` to
// the Hub stand-in, pulls it back with `vulntune models pull` into a fresh
// base models dir, and checks that the pulled copy validates and answers.
// A second publish of the same model makes no commit; the write token
// appears in no request but in Authorization headers and in no output.
func TestPublishEndToEnd(t *testing.T) {
	dataDir := os.Getenv("VULNTUNE_DATA_DIR")
	if dataDir == "" {
		t.Skip("no engine: run `make setup` and export VULNTUNE_DATA_DIR to publish to the Hub stand-in")
	}
	if _, err := engine.Open(dataDir); err != nil {
		t.Skipf("no engine in VULNTUNE_DATA_DIR=%s (%v): run `make setup`", dataDir, err)
	}
	// The bundled base model's weights: a model that answers validation's
	// functional check (the tiny random one cannot).
	smol := filepath.Join(dataDir, "models", "base", "SmolLM2-135M-Instruct")
	if d := os.Getenv("VULNTUNE_BASE_MODELS_DIR"); d != "" {
		smol = filepath.Join(d, "SmolLM2-135M-Instruct")
	}
	if _, err := os.Stat(filepath.Join(smol, "model.safetensors")); err != nil {
		t.Skipf("no SmolLM2-135M-Instruct in %s: run `make setup`", smol)
	}
	s := hubtest.New(t, hubtest.Options{})
	home := cleanEnv(t)
	for k, v := range map[string]string{"VULNTUNE_DATA_DIR": dataDir, "HF_HOME": filepath.Join(home, "hf"),
		"HF_ENDPOINT": s.URL, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": hubtest.DefaultWriteToken,
		"VULNTUNE_FINE_TUNED_MODELS_DIR": filepath.Join(home, "tuned"), "VULNTUNE_BASE_MODELS_DIR": filepath.Join(home, "base")} {
		t.Setenv(k, v)
	}
	hubtest.WriteModel(t, filepath.Join(home, "tuned", "sec-model"), hubtest.ModelOptions{Weights: smol})

	var outputs []string
	step := func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, args...)
		outputs = append(outputs, stdout, stderr)
		if code != want {
			t.Fatalf("vulntune %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
		}
		return stdout
	}
	out := step(exitOK, "publish", "model", "sec-model")
	repo := hubtest.DefaultUser + "/sec-model"
	if !strings.Contains(out, "published "+s.URL+"/"+repo+": commit ") || !strings.Contains(out, "tagged v20261126.101500-") {
		t.Errorf("publish output:\n%s", out)
	}
	if out := step(exitOK, "publish", "model", "sec-model"); !strings.Contains(out, "unchanged: "+repo+" already holds this content") {
		t.Errorf("second publish:\n%s", out)
	}
	if n := len(s.History("model", repo, "main")); n != 2 {
		t.Errorf("%d commits, want the Hub's initial one and one publish", n)
	}

	step(exitOK, "models", "pull", repo, "--name", "pulled")
	pulled := filepath.Join(home, "base", "pulled")
	for _, f := range []string{"model.safetensors", "tokenizer.json", "adapters/adapters.safetensors", "README.md", "eval/results.json"} {
		if _, err := os.Stat(filepath.Join(pulled, f)); err != nil {
			t.Errorf("pulled copy lacks %s", f)
		}
	}
	// validate runs the functional check: the pulled copy loads and answers
	// a security prompt.
	if out := step(exitOK, "validate", "pulled"); !strings.Contains(out, "functional answer          PASS") {
		t.Errorf("validate of the pulled copy:\n%s", out)
	}

	for _, r := range s.Leaks() {
		t.Errorf("token outside Authorization: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
	for _, o := range outputs {
		if strings.Contains(o, hubtest.DefaultWriteToken) {
			t.Errorf("the token appears in vulntune's output:\n%s", o)
		}
	}
}
