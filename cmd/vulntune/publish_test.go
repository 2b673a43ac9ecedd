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
			"README.md:75: home directory path", "publish dataset <your account>/findings refused (1 problem(s)); nothing was sent"},
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
	// a security prompt (a WARN says what the answer invented; the model's
	// words are not what this test holds).
	if out := step(exitOK, "validate", "pulled"); !strings.Contains(out, "functional answer          PASS") && !strings.Contains(out, "functional answer          WARN") {
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

// engineDataDir is a fresh data dir whose engine is the test engine's venv
// (VULNTUNE_DATA_DIR's, or VULNTUNE_TEST_ENGINE_PYTHON's), so the engine's
// logs land in the test's temp dir; "" when there is none. Call it before
// cleanEnv, which clears VULNTUNE_DATA_DIR.
func engineDataDir(t *testing.T) string {
	t.Helper()
	venv := ""
	if dir := os.Getenv("VULNTUNE_DATA_DIR"); dir != "" {
		if e, err := engine.Open(dir); err == nil {
			venv = filepath.Dir(filepath.Dir(e.Python))
		}
	}
	if py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON"); venv == "" && py != "" {
		venv = filepath.Dir(filepath.Dir(py))
	}
	if venv == "" {
		return ""
	}
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "engine"), 0o755)
	if err := os.Symlink(venv, filepath.Join(data, "engine", "venv")); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Open(data); err != nil {
		return ""
	}
	return data
}

// TestRunPublish runs `vulntune run --skip-fine-tuning --upload` over the
// bundled samples against the Hub stand-in: a missing or read-only token
// fails with exit 2 before the parse phase, naming the fix; the dataset is
// published, a rerun is up to date and makes no commit, and
// --skip-dataset-upload skips. The token appears in no output or run.json.
func TestRunPublish(t *testing.T) {
	data := engineDataDir(t)
	home := cleanEnv(t)
	s := hubtest.New(t, hubtest.Options{})
	for k, v := range map[string]string{"VULNTUNE_DATA_DIR": data, "HF_ENDPOINT": s.URL, "HF_HUB_DISABLE_XET": "1"} {
		t.Setenv(k, v)
	}
	runDir := filepath.Join(home, "runs", "samples")
	repo := hubtest.DefaultUser + "/samples-dataset"
	args := func(dir string, extra ...string) []string {
		return append([]string{"run", "--artifacts-dir", "../../examples/artifacts", "--skip-fine-tuning", "--upload", "--output-dir", dir}, extra...)
	}
	tests := []struct {
		name, token    string
		args           []string
		engine         bool
		want           int
		stdout, stderr string
		commits        int  // on the dataset repo afterwards, the Hub's initial one included
		parsed         bool // the run dir has findings.jsonl afterwards
	}{
		{"no token: exit 2 before parse", "", args(runDir), false, exitUsage, "",
			"hint: export HF_TOKEN with a write token", 0, false},
		{"read-only token: exit 2 before parse", hubtest.DefaultReadToken, args(runDir), true, exitUsage, "",
			"cannot write to vulntune-tester: the token is read-only", 0, false},
		{"skip dataset upload", "", args(filepath.Join(home, "runs", "skip"), "--skip-dataset-upload"), false, exitOK,
			"skipped: publish-dataset, finetune, evaluate, validate, publish-model", "", 0, false},
		{"publishes the dataset", hubtest.DefaultWriteToken, args(runDir), true, exitOK,
			`publish-dataset {"bytes":`, "", 2, true},
		{"rerun is up to date", hubtest.DefaultWriteToken, args(runDir), true, exitOK,
			"up to date (not run again): parse, dataset, publish-dataset", "", 2, true},
	}
	var outputs []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.engine && data == "" {
				t.Skip("no engine: run `make setup` (or export VULNTUNE_DATA_DIR / VULNTUNE_TEST_ENGINE_PYTHON) to publish to the Hub stand-in")
			}
			t.Setenv("HF_TOKEN", tt.token)
			s.ResetLog()
			code, stdout, stderr := runCLI(t, tt.args...)
			outputs = append(outputs, stdout, stderr)
			if code != tt.want || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout containing %q, stderr containing %q",
					code, tt.want, stdout, stderr, tt.stdout, tt.stderr)
			}
			if n := len(s.History("dataset", repo, "main")); n != tt.commits {
				t.Errorf("%d commits on %s, want %d", n, repo, tt.commits)
			}
			if tt.want != exitOK {
				for _, w := range s.Writes() {
					t.Errorf("a refused run wrote to the Hub: %s %s", w.Method, w.Path)
				}
			}
			if _, err := os.Stat(filepath.Join(runDir, "findings.jsonl")); (err == nil) != tt.parsed {
				t.Errorf("findings.jsonl exists: %v, want %v", err == nil, tt.parsed)
			}
			b, _ := os.ReadFile(filepath.Join(runDir, "run.json"))
			outputs = append(outputs, string(b))
		})
	}
	for _, o := range outputs {
		if strings.Contains(o, hubtest.DefaultWriteToken) || strings.Contains(o, hubtest.DefaultReadToken) {
			t.Errorf("a token appears in vulntune's output or run.json:\n%s", o)
		}
	}
	for _, r := range s.Leaks() {
		t.Errorf("token outside Authorization: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
}

// TestFinetuneUploadChecksFirst: `finetune --upload` refuses before any
// training when there is nothing to evaluate on or no token.
func TestFinetuneUploadChecksFirst(t *testing.T) {
	home := cleanEnv(t)
	ws := filepath.Join(home, "ws")
	t.Setenv("VULNTUNE_FINE_TUNING_WORKSPACE_DIR", ws)
	ds := filepath.Join(home, "ds")
	hubtest.WriteDataset(t, ds, "findings", 30)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"a JSONL file has no held-out split", []string{"finetune", "--dataset", filepath.Join(ds, "train.jsonl"), "--upload"},
			"--dataset must be a dataset directory"},
		{"no token", []string{"finetune", "--dataset", ds, "--upload"}, "hint: export HF_TOKEN with a write token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stderr containing %q", code, exitUsage, stdout, stderr, tt.stderr)
			}
			if _, err := os.Stat(filepath.Join(ws, "finetune")); err == nil {
				t.Error("training started")
			}
		})
	}
}
