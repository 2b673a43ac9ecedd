package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/train"
	"github.com/vulntune/vulntune/internal/validate"
)

// ModelOptions configure the model phases of a run (fine-tune, evaluate,
// validate) and `vulntune finetune`: what cmd reads from flags and the
// config, turned into the train, evaluate and validate packages' options
// here and nowhere else.
type ModelOptions struct {
	BaseModel    string // the base model's name, as the user gave it
	BaseModelDir string
	// FineTunedDir holds the fine-tuned models (fine_tuned_models_dir).
	FineTunedDir string
	// WorkspaceDir holds training runs' checkpoints (finetune/<name>...).
	WorkspaceDir string
	// EvalCacheDir keeps evaluated models' answers ("" = no cache).
	EvalCacheDir   string
	Training       config.Training
	LoRA           config.LoRA
	GradCheckpoint bool
	QuantizeBits   int // QLoRA: quantize the base first (0: no)
	// Epochs, MaxSteps, MaxSeqLength, EvalBatches, Patience, Seed and
	// DType: zero is train's default.
	Epochs, MaxSteps, MaxSeqLength int
	EvalBatches, Patience          int
	Seed                           int64
	DType                          string
	// EvalLimit bounds the held-out examples (0: all); EvalMaxTokens each
	// answer (0: evaluate's default).
	EvalLimit, EvalMaxTokens int
	Engine                   *engine.Engine
	Log                      *slog.Logger
	// TrainProgress, EvalProgress, Evaluated and Validated let a caller
	// show what happens; each may be nil.
	TrainProgress func(train.Progress)
	EvalProgress  func(model string, done, total int)
	Evaluated     func(*evaluate.Results)
	Validated     func(*validate.Report)
}

// GateFailed reports whether err is a quality gate that failed (validation
// ran and found the model wanting: exit 3), not a failure to check.
func GateFailed(err error) bool {
	var fe *validate.FailedError
	return errors.As(err, &fe)
}

// MLXSettings turns the plan's fine_tuning.mlx keys into what training
// does: quantization "q4" trains LoRA on a 4-bit base (QLoRA), and
// memory_efficient asks for what gradient checkpointing does, trading
// speed for peak memory.
func MLXSettings(m config.MLX) (quantizeBits int, gradCheckpoint bool) {
	if q, ok := strings.CutPrefix(m.Quantization, "q"); ok {
		quantizeBits, _ = strconv.Atoi(q)
	}
	return quantizeBits, m.GradientCheckpointing || m.MemoryEfficient
}

// ModelDir is where the fine-tuned model named name lives.
func (o ModelOptions) ModelDir(name string) string { return filepath.Join(o.FineTunedDir, name) }

// TrainOptions are train.Options for model name on dataset (a dataset dir
// or a JSONL file), checkpointing in workDir and resuming its last
// checkpoint when resume: the one place they are built.
func (o ModelOptions) TrainOptions(dataset, name, workDir string, resume bool) train.Options {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return train.Options{
		Dataset: dataset, BaseModelDir: o.BaseModelDir, Name: name, OutputDir: o.ModelDir(name), WorkDir: workDir,
		Training: o.Training, LoRA: o.LoRA, GradCheckpoint: o.GradCheckpoint, QuantizeBits: o.QuantizeBits,
		Epochs: o.Epochs, MaxSteps: o.MaxSteps, MaxSeqLength: o.MaxSeqLength, EvalBatches: o.EvalBatches,
		Patience: o.Patience, Seed: o.Seed, DType: o.DType, Resume: resume,
		Engine: o.Engine, Logger: log.With("component", "train"), Progress: o.TrainProgress,
	}
}

// ModelHooks are the model phases of a run over the real train, evaluate
// and validate packages. Training checkpoints in
// <workspace>/finetune/<name>-<key>, so a run with other data or settings
// never resumes another's checkpoints, and a run that stopped is picked up
// from its last one.
func ModelHooks(o ModelOptions) FinetuneHooks {
	key := map[string]any{"base": o.BaseModelDir, "training": o.Training, "lora": o.LoRA, "quantize": o.QuantizeBits, "grad_checkpoint": o.GradCheckpoint,
		"max_steps": o.MaxSteps, "epochs": o.Epochs, "max_seq": o.MaxSeqLength, "eval_batches": o.EvalBatches}
	// Another seed is another model; the default seed stays out of the
	// key so that runs made before the seed was a flag keep theirs.
	if o.Seed != 0 && o.Seed != train.DefaultSeed {
		key["seed"] = o.Seed
	}
	return FinetuneHooks{
		Key: key,
		EvalKey: map[string]any{"scoring": evaluate.ScoringVersion, "limit": o.EvalLimit, "max_tokens": o.EvalMaxTokens,
			"repeat_stop": evaluate.DefaultRepeatStop, "loop_guard": engine.DefaultLoopGuard},
		ModelDir: o.ModelDir,
		Train: func(ctx context.Context, datasetDir, name, key string) (map[string]any, error) {
			work := filepath.Join(o.WorkspaceDir, "finetune", name+"-"+key)
			ckpts, _ := os.ReadDir(filepath.Join(work, "checkpoints"))
			res, err := train.Run(ctx, o.TrainOptions(datasetDir, name, work, len(ckpts) > 0))
			if err != nil {
				return nil, err
			}
			m := res.Metrics
			sum := map[string]any{"steps": m.Steps, "total_steps": m.TotalSteps, "tokens_per_second": m.TokensPerSecond,
				"truncated": m.TruncatedTrain + m.TruncatedValid, "truncated_train": m.TruncatedTrain,
				"longest_example": max(m.LongestTrain, m.LongestValid), "resumed": res.Resumed}
			if m.InitialValLoss != nil && m.BestValLoss != nil {
				sum["valid_loss"] = []float64{*m.InitialValLoss, *m.BestValLoss}
			}
			return sum, nil
		},
		Evaluate: func(ctx context.Context, dir, datasetDir string) (map[string]any, error) {
			res, err := evaluate.Run(ctx, evaluate.Options{
				ModelDir: dir, BaseModelDir: o.BaseModelDir, BaseModelName: o.BaseModel, DatasetDir: datasetDir,
				Limit: o.EvalLimit, MaxTokens: o.EvalMaxTokens, Engine: o.Engine, Log: o.Log, CacheDir: o.EvalCacheDir,
				Progress: o.EvalProgress,
			})
			if err != nil {
				return nil, err
			}
			if o.Evaluated != nil {
				o.Evaluated(res)
			}
			return map[string]any{"base": res.Base, "tuned": res.Tuned}, nil
		},
		Validate: func(ctx context.Context, dir string) (map[string]any, error) {
			rep, err := validate.Run(ctx, validate.Options{ModelDir: dir, Engine: o.Engine, RequireEval: true})
			if err != nil {
				return nil, err
			}
			if o.Validated != nil {
				o.Validated(rep)
			}
			// The card says what the gate decided, passed or not: a model
			// kept after a failed gate must not read as a good one.
			if err := evaluate.ReplaceCardSection(dir, validate.GateHeading, rep.GateSection()); err != nil {
				return nil, err
			}
			// The gate's checks go into run.json, where the run report
			// reads the verdict's reasons, passed or failed.
			var gate []validate.Check
			for _, c := range rep.Checks {
				if c.Group == validate.GroupGate {
					gate = append(gate, c)
				}
			}
			// A *validate.FailedError: the quality gate, exit 3.
			return map[string]any{"checks": len(rep.Checks), "gate": gate}, rep.Err()
		},
	}
}
