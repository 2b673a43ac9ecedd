package main

import (
	"cmp"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/validate"
)

// modelFlags are the model-phase settings a command takes as flags rather
// than from the config.
type modelFlags struct {
	MaxSteps, Epochs, MaxSeqLength int
	EvalLimit, EvalMaxTokens       int
	// TrainEvalBatches bounds the validation passes during training.
	TrainEvalBatches int
	// NoEvalCache answers every held-out example anew, base model included.
	NoEvalCache bool
	// Seed is the training seed (0: train.DefaultSeed).
	Seed int64
}

// modelOptions turns the config and flags into the pipeline's model
// options for base model baseModel, with progress and tables on stderr.
func (a *app) modelOptions(cfg *config.Config, baseModel string, f modelFlags) (pipeline.ModelOptions, error) {
	baseDir, err := resolveModel(cfg, baseModel)
	if err != nil {
		return pipeline.ModelOptions{}, err
	}
	e, err := a.openEngine(cfg)
	if err != nil {
		return pipeline.ModelOptions{}, err
	}
	// The config bounds what a command's flags leave unset (the daemon
	// has no flags for them).
	f.MaxSteps = cmp.Or(f.MaxSteps, cfg.FineTuning.Training.MaxSteps)
	f.EvalLimit = cmp.Or(f.EvalLimit, cfg.FineTuning.Evaluation.MaxExamples)
	f.EvalMaxTokens = cmp.Or(f.EvalMaxTokens, cfg.FineTuning.Evaluation.MaxTokens)
	bar := newProgress(a.stderr, !a.quiet)
	quantize, gradCheckpoint := pipeline.MLXSettings(cfg.FineTuning.MLX)
	o := pipeline.ModelOptions{
		BaseModel: baseModel, BaseModelDir: baseDir, FineTunedDir: cfg.FineTunedModelsDir,
		WorkspaceDir: cfg.FineTuning.WorkspaceDir, EvalCacheDir: evalCacheDir(cfg, f.NoEvalCache),
		Training: cfg.FineTuning.Training, LoRA: cfg.FineTuning.LoRA, GradCheckpoint: gradCheckpoint, QuantizeBits: quantize,
		Epochs: f.Epochs, MaxSteps: f.MaxSteps, MaxSeqLength: f.MaxSeqLength, EvalBatches: f.TrainEvalBatches,
		EvalLimit: f.EvalLimit, EvalMaxTokens: f.EvalMaxTokens, Seed: f.Seed,
		Engine: e, Log: a.log,
		TrainProgress: bar.training,
		EvalProgress:  func(model string, done, total int) { bar.update("eval "+model, done, total) },
		Evaluated: func(res *evaluate.Results) {
			bar.done()
			_ = evaluate.WriteTable(a.stderr, res)
		},
		Validated: func(rep *validate.Report) {
			bar.done()
			_ = validate.WriteTable(a.stderr, rep)
		},
	}
	return o, nil
}

// evalCacheDir is where evaluation keeps models' answers ("" = no cache).
func evalCacheDir(cfg *config.Config, off bool) string {
	if off {
		return ""
	}
	return filepath.Join(cfg.DataDir, "cache", "evaluate")
}
