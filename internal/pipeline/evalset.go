package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// EvalSetOptions configure BuildEvalSet.
type EvalSetOptions struct {
	// ArtifactPaths are the scanner reports of other projects.
	ArtifactPaths []string
	// OutDir receives the evaluation set (replaced).
	OutDir string
	// TempDir holds the intermediate dataset ("" = the system's).
	TempDir string
	// MaxPerRule and Seed are the dataset build's (config dataset.*), so
	// the set is drawn from the examples `vulntune dataset --no-llm` would
	// write for the same reports.
	MaxPerRule int
	Seed       int64
	Select     evaluate.SelectOptions
	Log        *slog.Logger
}

// EvalSetResult reports what BuildEvalSet did.
type EvalSetResult struct {
	Dataset   *DatasetResult      `json:"dataset"`
	Selection *evaluate.Selection `json:"selection"`
}

// BuildEvalSet turns scanner reports of other projects into an
// evaluation-only set: the dataset `vulntune dataset --no-llm` builds from
// them (parsed, narrated and checked the same way, deterministic), of which
// evaluate.WriteSet keeps a stratified selection as test.jsonl alone. Its
// examples never reach training: the intermediate dataset is deleted, and
// the set has no train.jsonl or valid.jsonl for training to read.
func BuildEvalSet(ctx context.Context, o EvalSetOptions) (*EvalSetResult, error) {
	if len(o.ArtifactPaths) == 0 || o.OutDir == "" {
		return nil, fmt.Errorf("evaluation set: artifact paths and an output dir are required")
	}
	if o.TempDir != "" {
		if err := os.MkdirAll(o.TempDir, 0o700); err != nil {
			return nil, fmt.Errorf("evaluation set: %w", err)
		}
	}
	tmp, err := os.MkdirTemp(o.TempDir, "vulntune-evalset-")
	if err != nil {
		return nil, fmt.Errorf("evaluation set: %w", err)
	}
	defer os.RemoveAll(tmp)
	ds := filepath.Join(tmp, "dataset")
	res, err := BuildDataset(ctx, DatasetOptions{
		ArtifactPaths: o.ArtifactPaths, OutDir: ds, TempDir: tmp, MaxPerRule: o.MaxPerRule,
		Split: dataset.SplitOptions{Seed: o.Seed}, Log: o.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("evaluation set: %w", err)
	}
	exs, err := dataset.Read(ds)
	if err != nil {
		return nil, fmt.Errorf("evaluation set: %w", err)
	}
	sel, err := evaluate.WriteSet(o.OutDir, exs, o.Select)
	if err != nil {
		return nil, err
	}
	return &EvalSetResult{Dataset: res, Selection: sel}, nil
}
