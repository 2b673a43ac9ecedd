package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/train"
	"github.com/vulntune/vulntune/internal/validate"
)

type modelHookOptions struct {
	MaxSteps, Epochs, MaxSeqLength int
	EvalLimit, EvalMaxTokens       int
	// TrainEvalBatches bounds the validation passes during training.
	TrainEvalBatches int
	// NoEvalCache answers every held-out example anew, base model included.
	NoEvalCache bool
}

// modelHooks wires the train, evaluate and validate packages into the
// pipeline's model phases for base model baseModel.
func (a *app) modelHooks(cmd *cobra.Command, cfg *config.Config, baseModel string, o modelHookOptions) (pipeline.FinetuneHooks, error) {
	baseDir, err := resolveModel(cfg, baseModel)
	if err != nil {
		return pipeline.FinetuneHooks{}, err
	}
	e, err := a.openEngine(cfg)
	if err != nil {
		return pipeline.FinetuneHooks{}, err
	}
	modelDir := func(name string) string { return filepath.Join(cfg.FineTunedModelsDir, name) }
	bar := newProgress(a.stderr, !a.quiet)
	return pipeline.FinetuneHooks{
		Key: map[string]any{"base": baseDir, "training": cfg.FineTuning.Training, "lora": cfg.FineTuning.LoRA,
			"max_steps": o.MaxSteps, "epochs": o.Epochs, "max_seq": o.MaxSeqLength, "eval_batches": o.TrainEvalBatches},
		EvalKey:  map[string]any{"scoring": evaluate.ScoringVersion, "limit": o.EvalLimit, "max_tokens": o.EvalMaxTokens},
		ModelDir: modelDir,
		Train: func(ctx context.Context, datasetDir, name, key string) (map[string]any, error) {
			defer bar.done()
			work := filepath.Join(cfg.FineTuning.WorkspaceDir, "finetune", name+"-"+key)
			// A run that stopped is picked up from its last checkpoint.
			ckpts, _ := os.ReadDir(filepath.Join(work, "checkpoints"))
			res, err := train.Run(ctx, train.Options{
				Dataset: datasetDir, BaseModelDir: baseDir, Name: name, OutputDir: modelDir(name),
				WorkDir:  work,
				Training: cfg.FineTuning.Training, LoRA: cfg.FineTuning.LoRA,
				GradCheckpoint: cfg.FineTuning.MLX.GradientCheckpointing,
				Epochs:         o.Epochs, MaxSteps: o.MaxSteps, MaxSeqLength: o.MaxSeqLength, EvalBatches: o.TrainEvalBatches,
				Resume: len(ckpts) > 0, Engine: e, Logger: a.log.With("component", "train"),
				Progress: bar.training,
			})
			if err != nil {
				return nil, err
			}
			m := res.Metrics
			sum := map[string]any{"steps": m.Steps, "total_steps": m.TotalSteps, "tokens_per_second": m.TokensPerSecond,
				"truncated": m.TruncatedTrain + m.TruncatedValid, "resumed": res.Resumed}
			if m.InitialValLoss != nil && m.BestValLoss != nil {
				sum["valid_loss"] = []float64{*m.InitialValLoss, *m.BestValLoss}
			}
			return sum, nil
		},
		Evaluate: func(ctx context.Context, dir, datasetDir string) (map[string]any, error) {
			defer bar.done()
			res, err := evaluate.Run(ctx, evaluate.Options{
				ModelDir: dir, BaseModelDir: baseDir, BaseModelName: baseModel, DatasetDir: datasetDir,
				Limit: o.EvalLimit, MaxTokens: o.EvalMaxTokens, Engine: e, Log: a.log, CacheDir: evalCacheDir(cfg, o.NoEvalCache),
				Progress: func(model string, done, total int) { bar.update("eval "+model, done, total) },
			})
			if err != nil {
				return nil, err
			}
			bar.done()
			if err := evaluate.WriteTable(a.stderr, res); err != nil {
				return nil, err
			}
			return map[string]any{"base": res.Base, "tuned": res.Tuned}, nil
		},
		Validate: func(ctx context.Context, dir string) (map[string]any, error) {
			rep, err := validate.Run(ctx, validate.Options{ModelDir: dir, Engine: e, RequireEval: true})
			if err != nil {
				return nil, err
			}
			if err := validate.WriteTable(a.stderr, rep); err != nil {
				return nil, err
			}
			if err := rep.Err(); err != nil {
				return nil, gateError{err}
			}
			return map[string]any{"checks": len(rep.Checks)}, nil
		},
	}, nil
}

// evalCacheDir is where evaluation keeps models' answers ("" = no cache).
func evalCacheDir(cfg *config.Config, off bool) string {
	if off {
		return ""
	}
	return filepath.Join(cfg.DataDir, "cache", "evaluate")
}
