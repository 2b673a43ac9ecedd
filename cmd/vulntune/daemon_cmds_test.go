package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

// artifactZip packs sample reports as GitHub hands an artifact out.
func artifactZip(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("../../examples/artifacts", f))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(f)
		w.Write(data)
	}
	zw.Close()
	return b.Bytes()
}

// TestDaemonOnce is the "done when": against the GitHub stand-in,
// `daemon run --once` takes a repository with new runs from nothing to a
// dataset, and does nothing on the second call.
func TestDaemonOnce(t *testing.T) {
	home := cleanEnv(t)
	const token = "ghs_cmdTestToken0123456789"
	s := ghtest.New(t, ghtest.Options{Token: token})
	created := time.Now().Add(-2 * time.Hour)
	r1 := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: created})
	s.AddArtifact(r1, ghtest.ArtifactSpec{Name: "semgrep-sarif", Zip: artifactZip(t, "semgrep/semgrep.sarif")})
	r2 := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: created.Add(time.Minute)})
	s.AddArtifact(r2, ghtest.ArtifactSpec{Name: "trivy-sarif", Zip: artifactZip(t, "trivy/webauthn-comprehensive.sarif")})
	s.AddArtifact(r2, ghtest.ArtifactSpec{Name: "build-logs", Zip: artifactZip(t, "semgrep/semgrep-results.json")})
	fork := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Event: "pull_request", HeadRepo: "mallory/app", Created: created.Add(2 * time.Minute)})
	s.AddArtifact(fork, ghtest.ArtifactSpec{Name: "semgrep-sarif", Zip: artifactZip(t, "gitleaks/results.sarif")})
	data := filepath.Join(home, "data")
	t.Setenv("VULNTUNE_DATA_DIR", data)
	t.Setenv("VULNTUNE_GITHUB_API_URL", s.URL())
	t.Setenv("VULNTUNE_GITHUB_ARTIFACT_PATTERNS", "*-sarif")
	t.Setenv("VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON", "true")
	t.Setenv("GH_TOKEN", token)
	args := []string{"daemon", "run", "--repo", "acme/app", "--workflow", "security.yml", "--branch", "main", "--once"}

	code, out, errOut := runCLI(t, args...)
	if code != exitOK || !strings.Contains(out, "3 new run(s), 2 processed") || !strings.Contains(out, "dataset rebuilt:") ||
		!strings.Contains(out, "fine-tuning skipped (fine_tuning.skip_in_daemon)") {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, token) {
		t.Fatal("the token appears in the output")
	}
	var processed int
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON off a terminal: %q", line)
		}
		if rec["msg"] == "run processed" {
			processed++
			if rec["findings"] == nil || rec["new_findings"] == nil {
				t.Fatalf("run log without counts: %v", rec)
			}
		}
	}
	if processed != 2 {
		t.Fatalf("%d run log lines, want 2", processed)
	}
	if _, err := os.Stat(filepath.Join(data, "daemon", "dataset", "train.jsonl")); err != nil {
		t.Fatalf("no dataset: %v", err)
	}

	code, out, errOut = runCLI(t, args...)
	if code != exitOK || !strings.Contains(out, "nothing new") || !strings.Contains(out, "(1 unchanged)") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, _ = runCLI(t, "daemon", "status", "--json")
	var st daemon.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.Dataset == nil || st.Dataset.Examples == 0 ||
		st.Runs[daemon.StateDataset] != 2 || st.Runs[daemon.StateSkipped] != 1 || len(st.Targets) != 1 || st.Polls != 2 {
		t.Fatalf("status --json: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "daemon", "status")
	if code != exitOK || !strings.Contains(out, "2 dataset, 1 skipped") || !strings.Contains(out, "acme/app") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

func TestDaemonCommandErrors(t *testing.T) {
	home := cleanEnv(t)
	s := ghtest.New(t, ghtest.Options{Token: "right"})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: time.Now().Add(-time.Hour)})
	t.Setenv("VULNTUNE_DATA_DIR", filepath.Join(home, "data"))
	t.Setenv("VULNTUNE_GITHUB_API_URL", s.URL())
	t.Setenv("VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON", "true")
	t.Setenv("GH_TOKEN", "ghs_wrongToken42")
	tests := []struct {
		name string
		args []string
		want int
		text string
	}{
		{"status before any run", []string{"daemon", "status"}, exitOK, "has not run yet"},
		{"no repository", []string{"daemon", "run", "--once"}, exitUsage, "no repository"},
		{"bad repository", []string{"daemon", "run", "--once", "--repo", "acme"}, exitUsage, "OWNER/NAME"},
		{"bad interval", []string{"daemon", "run", "--once", "--repo", "acme/app", "--interval", "often"}, exitUsage, "duration"},
		{"bad token", []string{"daemon", "run", "--once", "--repo", "acme/app"}, exitError, "HTTP 401"},
		{"install needs a repository", []string{"daemon", "install", "--print"}, exitUsage, "no repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.want || !strings.Contains(out+errOut, tt.text) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s\n%s", code, tt.want, tt.text, out, errOut)
			}
			if strings.Contains(out+errOut, "ghs_wrongToken42") {
				t.Fatal("the token appears in the output")
			}
		})
	}
}

func TestDaemonInstallPrint(t *testing.T) {
	cleanEnv(t)
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("launchd and systemd only")
	}
	t.Setenv("VULNTUNE_DAEMON_FINETUNE_AFTER", "20")
	t.Setenv("GH_TOKEN", "ghs_mustNotBeWritten")
	code, out, errOut := runCLI(t, "daemon", "install", "--print", "--repo", "acme/app", "--repo", "acme/api", "--interval", "10m")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"daemon", "run", "--repo", "acme/api", "--interval", "10m", "VULNTUNE_DAEMON_FINETUNE_AFTER"} {
		if !strings.Contains(out, want) {
			t.Errorf("service file lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ghs_mustNotBeWritten") || strings.Contains(out, "GH_TOKEN") || strings.Contains(out, "--print") {
		t.Fatalf("service file carries the token or install's own flags:\n%s", out)
	}
}

// TestDaemonStopsOnSignal: the context main cancels on SIGTERM stops a
// polling daemon within 10 s, with exit 0 (a stop, not a failure: the
// service manager may start it again).
func TestDaemonStopsOnSignal(t *testing.T) {
	home := cleanEnv(t)
	s := ghtest.New(t, ghtest.Options{Token: "tok"})
	r := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: time.Now().Add(-time.Hour)})
	s.AddArtifact(r, ghtest.ArtifactSpec{Name: "sarif", Zip: artifactZip(t, "semgrep/semgrep.sarif")})
	data := filepath.Join(home, "data")
	t.Setenv("VULNTUNE_DATA_DIR", data)
	t.Setenv("VULNTUNE_GITHUB_API_URL", s.URL())
	t.Setenv("VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON", "true")
	t.Setenv("GH_TOKEN", "tok")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() { done <- run(ctx, []string{"daemon", "run", "--repo", "acme/app"}, &out, &errb) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := daemon.ReadStatus(filepath.Join(data, "daemon"))
		if err == nil && st.Polls >= 1 {
			if st.NextPoll.IsZero() || !st.Running {
				t.Fatalf("a looping daemon's status: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no poll within 30 s: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopped := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after the stop signal: %s", code, errb.String())
		}
		if d := time.Since(stopped); d > 10*time.Second {
			t.Fatalf("took %v to stop", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop within 10 s")
	}
}

// TestDaemonOncePublishes: with upload_enabled, `daemon run --once`
// publishes the dataset it built to the Hub (stand-in), records where,
// and the second call publishes nothing again. Without a token the daemon
// still builds the dataset and says why it did not publish.
func TestDaemonOncePublishes(t *testing.T) {
	data := engineDataDir(t)
	if data == "" {
		t.Skip("no engine: run `make setup` (or export VULNTUNE_DATA_DIR) to publish to the Hub stand-in")
	}
	cleanEnv(t)
	const ghToken = "ghs_cmdTestToken0123456789"
	gh := ghtest.New(t, ghtest.Options{Token: ghToken})
	r := gh.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: time.Now().Add(-time.Hour)})
	gh.AddArtifact(r, ghtest.ArtifactSpec{Name: "semgrep-sarif", Zip: artifactZip(t, "semgrep/semgrep.sarif")})
	hub := hubtest.New(t, hubtest.Options{})
	for k, v := range map[string]string{"VULNTUNE_DATA_DIR": data, "VULNTUNE_GITHUB_API_URL": gh.URL(),
		"VULNTUNE_GITHUB_ARTIFACT_PATTERNS": "*-sarif", "VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON": "true",
		"VULNTUNE_FINE_TUNING_HUGGINGFACE_UPLOAD_ENABLED": "true", "GH_TOKEN": ghToken,
		"HF_ENDPOINT": hub.URL, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": ""} {
		t.Setenv(k, v)
	}
	args := []string{"daemon", "run", "--repo", "acme/app", "--workflow", "security.yml", "--branch", "main", "--once"}
	// Named after fine_tuning.default_output_name, as its models are, not
	// after the daemon's state directory ("daemon-dataset").
	const repo = hubtest.DefaultUser + "/vulntune-security-dataset"

	code, out, errOut := runCLI(t, args...)
	if code != exitOK || !strings.Contains(out, "dataset rebuilt:") || !strings.Contains(out+errOut, "publishing") {
		t.Fatalf("no token: exit %d\n%s\n%s", code, out, errOut)
	}
	if w := hub.Writes(); len(w) > 0 {
		t.Fatalf("published without a token: %v", w)
	}

	// A new run brings the same findings again; with a token, the dataset
	// the daemon has is published.
	t.Setenv("HF_TOKEN", hubtest.DefaultWriteToken)
	r2 := gh.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: time.Now().Add(-30 * time.Minute)})
	gh.AddArtifact(r2, ghtest.ArtifactSpec{Name: "trivy-sarif", Zip: artifactZip(t, "trivy/webauthn-comprehensive.sarif")})
	code, out, errOut = runCLI(t, args...)
	if code != exitOK || len(hub.History("dataset", repo, "main")) != 2 {
		t.Fatalf("with a token: exit %d, %d commits on %s\n%s\n%s", code, len(hub.History("dataset", repo, "main")), repo, out, errOut)
	}
	code, out, _ = runCLI(t, "daemon", "status", "--json")
	if code != exitOK || !strings.Contains(out, hub.URL) {
		t.Fatalf("status does not say where the dataset was published: exit %d\n%s", code, out)
	}
	if strings.Contains(out+errOut, hubtest.DefaultWriteToken) {
		t.Fatal("the Hub token appears in the daemon's output")
	}
	for _, l := range hub.Leaks() {
		t.Errorf("token outside Authorization: %s %s", l.Method, l.Path)
	}
}

// TestDaemonOnceFineTunes is the daemon issue's "done when" with
// fine-tuning on: `daemon run --once` takes new runs to a dataset and, as
// the dataset grew past daemon.finetune_after, to a model trained,
// evaluated and validated by the real engine on the bundled base model (a
// few steps, a few short answers); the second call does nothing.
func TestDaemonOnceFineTunes(t *testing.T) {
	data := engineDataDir(t)
	if data == "" || testing.Short() {
		t.Skip("no engine (or -short): run `make setup` to fine-tune through the daemon")
	}
	base := os.Getenv("VULNTUNE_BASE_MODELS_DIR")
	if base == "" {
		base = filepath.Join(os.Getenv("VULNTUNE_DATA_DIR"), "models", "base")
	}
	home := cleanEnv(t)
	const ghToken = "ghs_cmdTestToken0123456789"
	gh := ghtest.New(t, ghtest.Options{Token: ghToken})
	r := gh.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: time.Now().Add(-time.Hour)})
	gh.AddArtifact(r, ghtest.ArtifactSpec{Name: "checkov-sarif", Zip: artifactZip(t, "checkov/checkov-results.sarif")})
	gh.AddArtifact(r, ghtest.ArtifactSpec{Name: "osv-sarif", Zip: artifactZip(t, "osv-scanner/osv-results.json")})
	models := filepath.Join(home, "models")
	for k, v := range map[string]string{"VULNTUNE_DATA_DIR": data, "VULNTUNE_GITHUB_API_URL": gh.URL(),
		"VULNTUNE_GITHUB_ARTIFACT_PATTERNS": "*-sarif", "GH_TOKEN": ghToken,
		"VULNTUNE_BASE_MODELS_DIR": base, "VULNTUNE_FINE_TUNED_MODELS_DIR": models,
		"VULNTUNE_FINE_TUNING_WORKSPACE_DIR": filepath.Join(home, "ws"),
		"VULNTUNE_DAEMON_FINETUNE_AFTER":     "1", "VULNTUNE_FINE_TUNING_TRAINING_MAX_STEPS": "2",
		"VULNTUNE_FINE_TUNING_TRAINING_BATCH_SIZE": "2", "VULNTUNE_FINE_TUNING_TRAINING_EVAL_STEPS": "1",
		"VULNTUNE_FINE_TUNING_EVALUATION_MAX_EXAMPLES": "2", "VULNTUNE_FINE_TUNING_EVALUATION_MAX_TOKENS": "8"} {
		t.Setenv(k, v)
	}
	args := []string{"daemon", "run", "--repo", "acme/app", "--workflow", "security.yml", "--branch", "main", "--once"}
	code, out, errOut := runCLI(t, args...)
	if code != exitOK || !strings.Contains(out, "dataset rebuilt:") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, sout, _ := runCLI(t, "daemon", "status", "--json")
	var st daemon.Status
	if code != exitOK || json.Unmarshal([]byte(sout), &st) != nil || st.Model == nil {
		t.Fatalf("no model after the poll: exit %d\n%s\n%s\n%s", code, sout, out, errOut)
	}
	// A model is done (passed its gate) or rejected (kept, not published):
	// either way it was trained, evaluated and validated.
	if st.Model.State != "done" && st.Model.State != "rejected" {
		t.Fatalf("model %s is %s (%s)\n%s\n%s", st.Model.Name, st.Model.State, st.Model.Reason, out, errOut)
	}
	for _, f := range []string{"model.safetensors", "adapters/adapters.safetensors", "eval/results.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(st.Model.Dir, f)); err != nil {
			t.Errorf("model dir lacks %s: %v", f, err)
		}
	}
	code, out, errOut = runCLI(t, args...)
	if code != exitOK || !strings.Contains(out, "nothing new") {
		t.Fatalf("second poll: exit %d\n%s\n%s", code, out, errOut)
	}
}
