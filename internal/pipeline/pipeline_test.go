package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/interrupt"
	"github.com/vulntune/vulntune/internal/lockfile"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// fakeModel stands in for the engine phases: it writes a model dir the way
// train does and counts calls, so the bookkeeping is tested without Python.
type fakeModel struct {
	root                     string
	trains, evals, validates int
	failTrain                error
}

func (f *fakeModel) hooks() pipeline.FinetuneHooks {
	return pipeline.FinetuneHooks{
		Key:      map[string]any{"lr": 1e-4},
		ModelDir: func(name string) string { return filepath.Join(f.root, name) },
		Train: func(ctx context.Context, ds, name, key string) (map[string]any, error) {
			f.trains++
			if f.failTrain != nil {
				return nil, f.failTrain
			}
			dir := filepath.Join(f.root, name)
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("weights"), 0o644)
			os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
			return map[string]any{"steps": 3}, nil
		},
		Evaluate: func(ctx context.Context, dir, ds string) (map[string]any, error) {
			f.evals++
			os.MkdirAll(filepath.Join(dir, "eval"), 0o755)
			// Evaluation rewrites the card: that must not invalidate later runs.
			os.WriteFile(filepath.Join(dir, "README.md"), []byte(time.Now().String()), 0o644)
			return nil, os.WriteFile(filepath.Join(dir, "eval", "results.json"), []byte(`{}`), 0o644)
		},
		Validate: func(ctx context.Context, dir string) (map[string]any, error) {
			f.validates++
			return nil, nil
		},
	}
}

func copySamples(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "artifacts")
	for _, rel := range []string{"checkov/checkov-results.sarif", "zap/full-scan-webauthn-server.json", "osv-scanner/osv-results.json"} {
		b, err := os.ReadFile(filepath.Join("../../examples/artifacts", rel))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
	}
	return dst
}

func TestRunTwiceDoesNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	arts := copySamples(t)
	fm := &fakeModel{root: t.TempDir()}
	opts := pipeline.RunOptions{ArtifactPaths: []string{arts}, WorkspaceDir: t.TempDir(), DefaultOutputName: "vt", Finetune: fm.hooks()}
	first, err := pipeline.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Ran) != 5 || first.Model == "" {
		t.Fatalf("first run: %+v", first)
	}
	second, err := pipeline.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Ran) != 0 || len(second.UpToDate) != 5 {
		t.Errorf("second run ran %v", second.Ran)
	}
	if second.Dir != first.Dir || second.Model != first.Model {
		t.Errorf("second run used %s/%s, first %s/%s", second.Dir, second.Model, first.Dir, first.Model)
	}
	if fm.trains != 1 || fm.evals != 1 || fm.validates != 1 {
		t.Errorf("calls: train %d eval %d validate %d", fm.trains, fm.evals, fm.validates)
	}
	// A changed input reruns everything downstream of it.
	os.WriteFile(filepath.Join(arts, "checkov/checkov-results.sarif"), []byte(`{"version":"2.1.0","runs":[]}`), 0o644)
	third, err := pipeline.Run(context.Background(), opts)
	if err != nil && !errors.Is(err, pipeline.ErrInputs) {
		t.Fatal(err)
	}
	if !slices.Contains(third.Ran, pipeline.PhaseParse) || !slices.Contains(third.Ran, pipeline.PhaseFinetune) {
		t.Errorf("changed input did not rerun parse and finetune: %v", third.Ran)
	}
	// The model trained on the old inputs is kept; the new one is named anew.
	if third.Model == first.Model {
		t.Errorf("retrained model overwrote %s (ran %v)", first.Model, third.Ran)
	}
	if _, err := os.Stat(filepath.Join(fm.root, first.Model, "model.safetensors")); err != nil {
		t.Errorf("first model lost: %v", err)
	}
	if third.Manifest.Model != third.Model {
		t.Errorf("manifest names %s, run used %s", third.Manifest.Model, third.Model)
	}
}

func TestRunResumesInterruptedPhase(t *testing.T) {
	t.Parallel()
	arts := copySamples(t)
	fm := &fakeModel{root: t.TempDir(), failTrain: context.Canceled}
	opts := pipeline.RunOptions{ArtifactPaths: []string{arts}, WorkspaceDir: t.TempDir(), DefaultOutputName: "vt", Finetune: fm.hooks()}
	_, err := pipeline.Run(context.Background(), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	fm.failTrain = nil
	res, err := pipeline.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Ran, []string{pipeline.PhaseFinetune, pipeline.PhaseEvaluate, pipeline.PhaseValidate}) {
		t.Errorf("resumed run ran %v, want the interrupted phase and after", res.Ran)
	}
	if res.Manifest.Phases[pipeline.PhaseFinetune].Status != pipeline.StatusDone {
		t.Errorf("manifest: %+v", res.Manifest.Phases[pipeline.PhaseFinetune])
	}
}

func TestRunRelativeDirIsUpToDateTheSecondTime(t *testing.T) {
	arts := copySamples(t)
	t.Chdir(t.TempDir())
	opts := pipeline.RunOptions{ArtifactPaths: []string{arts}, Dir: "runs/demo", SkipFineTuning: true}
	if _, err := pipeline.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ran) != 0 {
		t.Errorf("second run with a relative dir ran %v", res.Ran)
	}
}

func TestRunSkipFineTuning(t *testing.T) {
	t.Parallel()
	res, err := pipeline.Run(context.Background(), pipeline.RunOptions{
		ArtifactPaths: []string{copySamples(t)}, Dir: filepath.Join(t.TempDir(), "run"), SkipFineTuning: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 3 || res.Manifest.Phases[pipeline.PhaseDataset].Status != pipeline.StatusDone {
		t.Errorf("result %+v", res)
	}
	if res.Report != filepath.Join(res.Dir, "report.html") {
		t.Errorf("report %q", res.Report)
	}
	for _, f := range []string{"run.json", "findings.jsonl", "dataset/train.jsonl", "dataset/valid.jsonl", "dataset/README.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}

// TestSamplesDataset builds the dataset of every bundled sample artifact:
// the build checks pass (among them the grounding contract: no answer names
// an id, CWE, version or path its prompt lacks), and the per-rule cap keeps
// the one noisy Semgrep rule from dominating.
func TestSamplesDataset(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "dataset")
	res, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
		ArtifactPaths: []string{"../../examples/artifacts"}, OutDir: out, MaxPerRule: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Capped == 0 || res.Examples+res.Capped != res.Findings-res.Suppressed {
		t.Errorf("findings %d, suppressed %d, examples %d, capped %d", res.Findings, res.Suppressed, res.Examples, res.Capped)
	}
	for rule, n := range res.Stats.Capped {
		if n <= 0 || rule == "" {
			t.Errorf("capped %q: %d", rule, n)
		}
	}
	uncapped, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
		ArtifactPaths: []string{"../../examples/artifacts"}, OutDir: filepath.Join(t.TempDir(), "all"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if uncapped.Capped != 0 || uncapped.Examples != res.Examples+res.Capped {
		t.Errorf("without a cap: %d examples, %d capped; with: %d + %d", uncapped.Examples, uncapped.Capped, res.Examples, res.Capped)
	}
}

// A signal that stops a phase is recorded in run.json, the phase is left
// to resume, and the next run picks it up.
func TestRunRecordsInterruption(t *testing.T) {
	t.Parallel()
	arts := copySamples(t)
	fm := &fakeModel{root: t.TempDir()}
	hooks := fm.hooks()
	train := hooks.Train
	ctx, cancel := context.WithCancelCause(context.Background())
	hooks.Train = func(ctx context.Context, ds, name, key string) (map[string]any, error) {
		if fm.trains == 0 {
			// SIGTERM arrives while the model trains.
			fm.trains++
			cancel(&interrupt.Signal{Sig: syscall.SIGTERM})
			return nil, context.Cause(ctx)
		}
		return train(ctx, ds, name, key)
	}
	dir := filepath.Join(t.TempDir(), "run")
	opts := pipeline.RunOptions{ArtifactPaths: []string{arts}, Dir: dir, DefaultOutputName: "vt", Finetune: hooks}
	_, err := pipeline.Run(ctx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	m, err := pipeline.LoadManifest(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ph := m.Phases[pipeline.PhaseFinetune]
	if ph.Status != pipeline.StatusRunning || ph.Error != "interrupted by SIGTERM" {
		t.Errorf("finetune phase: %+v", ph)
	}
	// The report is written whatever the outcome, and says why the model
	// parts are missing.
	if page, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !strings.Contains(string(page), "stopped (interrupted by SIGTERM)") {
		t.Errorf("interrupted run's report (%v) does not say the fine-tune stopped", err)
	}
	if len(m.Interruptions) != 1 || m.Interruptions[0].Phase != pipeline.PhaseFinetune || m.Interruptions[0].Signal != "SIGTERM" {
		t.Errorf("interruptions: %+v", m.Interruptions)
	}
	res, err := pipeline.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Ran, []string{pipeline.PhaseFinetune, pipeline.PhaseEvaluate, pipeline.PhaseValidate}) {
		t.Errorf("resumed run ran %v", res.Ran)
	}
	if len(res.Manifest.Interruptions) != 1 {
		t.Errorf("the history of interruptions was lost: %+v", res.Manifest.Interruptions)
	}
}

// Resume trusts no output it did not verify: an output changed, truncated
// or removed since its phase finished is rebuilt, with the phases after it.
func TestRunRebuildsChangedOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string
	}{
		{"findings truncated", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "findings.jsonl"), 10); err != nil {
				t.Fatal(err)
			}
			// Parse writes the same findings again, so the dataset built
			// from them stays up to date.
		}, []string{pipeline.PhaseParse}},
		{"a dataset file edited", func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, "dataset", "train.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"messages":[]}` + "\n")
			f.Close()
		}, []string{pipeline.PhaseDataset}},
		{"a dataset file removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "dataset", "stats.json")); err != nil {
				t.Fatal(err)
			}
		}, []string{pipeline.PhaseDataset}},
		{"nothing changed", func(*testing.T, string) {}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "run")
			opts := pipeline.RunOptions{ArtifactPaths: []string{copySamples(t)}, Dir: dir, SkipFineTuning: true}
			if _, err := pipeline.Run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			tt.change(t, dir)
			res, err := pipeline.Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Ran, tt.want) {
				t.Errorf("ran %v, want %v", res.Ran, tt.want)
			}
		})
	}
}

// Two runs never share a run directory at once.
func TestRunDirIsLocked(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	held, err := lockfile.AcquireDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	_, err = pipeline.Run(context.Background(), pipeline.RunOptions{ArtifactPaths: []string{copySamples(t)}, Dir: dir, SkipFineTuning: true})
	var he *lockfile.HeldError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want a HeldError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "findings.jsonl")); err == nil {
		t.Error("the refused run wrote findings")
	}
}

func TestMLXSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       config.MLX
		bits     int
		gradCkpt bool
	}{
		{config.MLX{Quantization: "none"}, 0, false},
		{config.MLX{Quantization: "q4"}, 4, false},
		{config.MLX{Quantization: "q8", GradientCheckpointing: true}, 8, true},
		{config.MLX{Quantization: "none", MemoryEfficient: true}, 0, true},
	}
	for _, tt := range tests {
		bits, ckpt := pipeline.MLXSettings(tt.in)
		if bits != tt.bits || ckpt != tt.gradCkpt {
			t.Errorf("%+v: %d bits, checkpointing %v; want %d, %v", tt.in, bits, ckpt, tt.bits, tt.gradCkpt)
		}
	}
}
