package daemon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/pipeline"
)

func TestLocalBuildsDatasetFromFindings(t *testing.T) {
	dir := t.TempDir()
	findings := filepath.Join(dir, daemon.FindingsFile)
	if _, err := ingest.Run(context.Background(), []string{"../../examples/artifacts/semgrep/semgrep.sarif"}, ingest.Options{Output: findings}); err != nil {
		t.Fatal(err)
	}
	l := &daemon.Local{Split: dataset.SplitOptions{ValidFraction: 0.2, Seed: 42}, MaxPerRule: 10}
	info, err := l.BuildDataset(context.Background(), findings, filepath.Join(dir, "dataset"))
	if err != nil || info.Examples == 0 || info.Findings == 0 {
		t.Fatalf("%+v, %v", info, err)
	}
	if got := readLines(t, filepath.Join(dir, "dataset", "train.jsonl")) + readLines(t, filepath.Join(dir, "dataset", "valid.jsonl")); got != info.Examples {
		t.Fatalf("%d examples written, %d reported", got, info.Examples)
	}
}

func TestLocalFineTune(t *testing.T) {
	gate := errors.New("quality gate: tuned loss not lower")
	var trained []string
	models := t.TempDir()
	hooks := func(validate error) pipeline.FinetuneHooks {
		return pipeline.FinetuneHooks{
			ModelDir: func(name string) string { return filepath.Join(models, name) },
			Train: func(_ context.Context, ds, name, key string) (map[string]any, error) {
				trained = append(trained, name+" "+key)
				dir := filepath.Join(models, name)
				os.MkdirAll(dir, 0o755)
				return nil, os.WriteFile(filepath.Join(dir, "config.json"), []byte(key), 0o644)
			},
			Evaluate: func(_ context.Context, dir, _ string) (map[string]any, error) {
				os.MkdirAll(filepath.Join(dir, "eval"), 0o755)
				return nil, os.WriteFile(filepath.Join(dir, "eval", "results.json"), []byte("{}"), 0o644)
			},
			Validate: func(context.Context, string) (map[string]any, error) { return nil, validate },
		}
	}
	ds := t.TempDir()
	os.WriteFile(filepath.Join(ds, "train.jsonl"), []byte("{}\n"), 0o644)
	tests := []struct {
		name  string
		l     *daemon.Local
		want  error
		wantN int
	}{
		{"passes", &daemon.Local{Hooks: hooks(nil)}, nil, 1},
		{"gate fails", &daemon.Local{Hooks: hooks(gate), GateFailed: func(err error) bool { return errors.Is(err, gate) }}, daemon.ErrRejected, 1},
		{"validation cannot run", &daemon.Local{Hooks: hooks(gate)}, gate, 1},
		{"no trainer", &daemon.Local{}, daemon.ErrUnavailable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trained = nil
			tt.l.RunsDir = t.TempDir()
			info, err := tt.l.FineTune(context.Background(), ds, "m1")
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) || len(trained) != tt.wantN {
				t.Fatalf("err %v, want %v; trained %v", err, tt.want, trained)
			}
			if tt.wantN > 0 && info.Dir != filepath.Join(models, "m1") {
				t.Fatalf("info %+v", info)
			}
		})
	}
	// A run per model through the pipeline: the same dataset and name are
	// up to date the second time, and new data trains again under a new
	// key, so an interrupted fine-tune resumes its own checkpoints only.
	l := &daemon.Local{Hooks: hooks(nil), RunsDir: t.TempDir()}
	trained = nil
	for _, data := range []string{"{}\n", "{}\n", "{}\n{}\n"} {
		os.WriteFile(filepath.Join(ds, "train.jsonl"), []byte(data), 0o644)
		if _, err := l.FineTune(context.Background(), ds, "m1"); err != nil {
			t.Fatal(err)
		}
	}
	if len(trained) != 2 || trained[0] == trained[1] {
		t.Fatalf("trained %v: same data must be up to date, new data trained under a new key", trained)
	}
	if _, err := os.Stat(filepath.Join(l.RunsDir, "m1", pipeline.ManifestName)); err != nil {
		t.Fatalf("no run manifest: %v", err)
	}
	if _, err := (&daemon.Local{}).Publish(context.Background(), ds, nil); !errors.Is(err, daemon.ErrUnavailable) {
		t.Fatalf("publish without a publisher: %v", err)
	}
}
