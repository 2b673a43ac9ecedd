package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/analyze"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// Local is the Pipeline that runs every phase in this process through
// internal/pipeline: BuildDataset as `vulntune dataset` does, the model
// phases through the same hooks as `vulntune run`.
type Local struct {
	// DatasetName names the dataset in its stats.json and card, and so
	// its Hub repository; "" falls back to its directory's name, which
	// for the daemon's state directory is "daemon-dataset" whatever it
	// watches.
	DatasetName string
	Split       dataset.SplitOptions
	MaxPerRule  int
	// Augment adds identifier-replaced copies to the training split.
	Augment pipeline.Augmentation
	// Analysis adds grounded LLM prose (nil: none, as --no-llm).
	Analysis *analyze.Options
	Log      *slog.Logger
	// Hooks run training, evaluation and validation; without Train,
	// fine-tuning is unavailable.
	Hooks pipeline.FinetuneHooks
	// GateFailed says whether an error of Hooks.Validate is a failed
	// quality gate rather than a failure to check.
	GateFailed func(error) bool
	// RunsDir holds a run directory per fine-tuned model (run.json,
	// through pipeline.Run).
	RunsDir string
	// Publisher publishes; nil means publishing is unavailable.
	Publisher func(ctx context.Context, datasetDir string, model *ModelInfo) (Publication, error)
}

var _ Pipeline = (*Local)(nil)

// BuildDataset builds the dataset from the daemon's findings. Findings
// that cannot become examples are logged and left out, as in `vulntune
// dataset`; the dataset is still written.
func (l *Local) BuildDataset(ctx context.Context, findingsPath, outDir string) (DatasetInfo, error) {
	res, err := pipeline.BuildDataset(ctx, pipeline.DatasetOptions{FindingsPath: findingsPath, OutDir: outDir, Name: l.DatasetName,
		Split: l.Split, MaxPerRule: l.MaxPerRule, Augment: l.Augment, Analysis: l.Analysis, Log: l.Log})
	if errors.Is(err, pipeline.ErrInputs) && res != nil {
		if l.Log != nil {
			l.Log.Warn("dataset built with problems", "problems", len(res.InputErrors), "first", res.InputErrors[0])
		}
		err = nil
	}
	if err != nil {
		return DatasetInfo{}, err
	}
	return DatasetInfo{Findings: res.Findings, Examples: res.Examples}, nil
}

// FineTune trains, evaluates and validates model name on datasetDir: the
// model phases of a pipeline run (pipeline.Run from a built dataset) in
// <RunsDir>/<name>, so the daemon gets what a `vulntune run` gets — a
// run.json, a fine-tune that resumes its checkpoints when called again
// with the same name and dataset, phases done once per content — from the
// one orchestrator.
func (l *Local) FineTune(ctx context.Context, datasetDir, name string) (ModelInfo, error) {
	h := l.Hooks
	if h.Train == nil || h.ModelDir == nil {
		return ModelInfo{}, fmt.Errorf("fine-tuning: %w (no trainer configured)", ErrUnavailable)
	}
	info := ModelInfo{Name: name, Dir: h.ModelDir(name)}
	_, err := pipeline.Run(ctx, pipeline.RunOptions{DatasetDir: datasetDir, Dir: filepath.Join(l.RunsDir, name),
		ModelName: name, Finetune: h, Log: l.Log})
	if err != nil && l.GateFailed != nil && l.GateFailed(err) {
		return info, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return info, err
}

// Publish publishes through Publisher.
func (l *Local) Publish(ctx context.Context, datasetDir string, model *ModelInfo) (Publication, error) {
	if l.Publisher == nil {
		return Publication{}, fmt.Errorf("publishing is %w: fine_tuning.huggingface.upload_enabled is off, or no Hub token (HF_TOKEN) was found when the daemon started", ErrUnavailable)
	}
	return l.Publisher(ctx, datasetDir, model)
}
