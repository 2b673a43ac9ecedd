package train

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
)

// Defaults for settings the config file does not carry. They suit the
// 135M-1B models vulntune targets on CPU and Apple silicon.
const (
	// DefaultMaxSeqLength holds every example of the sample dataset and of
	// the evaluation corpus whole at SmolLM2's tokenizer (narrate v12: the
	// longest 1,044 and 1,010 tokens), with room for identifiers replaced
	// by longer ones. Longer rows are truncated, counted in the result and
	// the model card, and warned about. A batch pads only to its own
	// longest row, so a length above the data's costs nothing.
	DefaultMaxSeqLength = 1152
	// DefaultPatience stops training after this many evaluations without a
	// better validation loss.
	DefaultPatience = 3
	// DefaultMinLRRatio is where the cosine decay ends, relative to the peak.
	DefaultMinLRRatio = 0.1
	// DefaultWeightDecay is AdamW's decoupled weight decay.
	DefaultWeightDecay = 0.01
	// DefaultSeed fixes data order, dropout and adapter initialisation.
	DefaultSeed = 42
)

// Options configure one fine-tuning run.
type Options struct {
	Dataset      string // dataset dir (train.jsonl + valid.jsonl) or one JSONL file
	BaseModelDir string
	// OutputDir is the final model dir, e.g. <fine_tuned_models_dir>/<name>.
	// It appears only when complete.
	OutputDir string
	Name      string // model name recorded in metadata and the card
	// WorkDir keeps checkpoints, the prepared data and metrics between a
	// run and its --resume (e.g. <workspace_dir>/finetune/<name>).
	WorkDir  string
	Training config.Training
	LoRA     config.LoRA
	// GradCheckpoint recomputes activations in the backward pass.
	GradCheckpoint bool
	// QuantizeBits quantizes the base before the adapters go on (QLoRA;
	// 0: full precision). MLX's CPU backend cannot train on a quantized
	// base, so the engine refuses it there.
	QuantizeBits int
	// Epochs overrides Training.MaxEpochs when > 0; MaxSteps, when > 0,
	// overrides both.
	Epochs, MaxSteps int
	MaxSeqLength     int   // 0: DefaultMaxSeqLength
	Patience         int   // early stopping; 0: DefaultPatience, <0: off
	EvalBatches      int   // 0: the whole validation split
	Seed             int64 // 0: DefaultSeed
	DType            string
	Resume           bool
	// NoFuse skips fusing (benchmarks); Run then returns before building a
	// model dir.
	NoFuse   bool
	Engine   *engine.Engine
	Progress func(Progress) // called for each step and evaluation; may be nil
	Logger   *slog.Logger   // nil: discard
	Now      func() time.Time
}

// Progress is one training event for a progress display.
type Progress struct {
	Stage                     string // load, tokenize, train, eval, checkpoint, fuse, resume
	Step, Total               int
	Loss, LR                  float64
	ValLoss                   float64 // set on eval
	TokensPerSecond           float64
	SupervisedTokensPerSecond float64
	Message                   string
}

// Steps returns the optimizer steps and example draws for epochs passes
// over nTrain rows at batch size, or for maxSteps when it is > 0:
// steps = ceil(epochs * nTrain / batch). (The original system passed epochs
// where mlx-lm wanted iterations.)
func Steps(epochs, nTrain, batch, maxSteps int) (steps, examples int, err error) {
	if batch <= 0 {
		return 0, 0, fmt.Errorf("batch size must be positive, got %d", batch)
	}
	if nTrain < batch {
		return 0, 0, fmt.Errorf("batch size %d exceeds the %d training examples", batch, nTrain)
	}
	if maxSteps > 0 {
		return maxSteps, maxSteps * batch, nil
	}
	if epochs <= 0 {
		return 0, 0, errors.New("need epochs or max steps > 0")
	}
	examples = epochs * nTrain
	return int(math.Ceil(float64(examples) / float64(batch))), examples, nil
}

func (o *Options) withDefaults() {
	if o.MaxSeqLength == 0 {
		o.MaxSeqLength = DefaultMaxSeqLength
	}
	if o.Patience == 0 {
		o.Patience = DefaultPatience
	}
	if o.Patience < 0 {
		o.Patience = 0
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.DType == "" {
		o.DType = "auto"
	}
	if o.Epochs <= 0 {
		o.Epochs = o.Training.MaxEpochs
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func (o *Options) check() error {
	switch {
	case o.Engine == nil:
		return errors.New("train: no engine")
	case o.Dataset == "" || o.BaseModelDir == "" || o.OutputDir == "" || o.WorkDir == "":
		return errors.New("train: dataset, base model, output and work dirs are required")
	case o.LoRA.Rank <= 0 || o.LoRA.Alpha <= 0:
		return fmt.Errorf("train: LoRA rank and alpha must be positive (rank %d, alpha %g)", o.LoRA.Rank, o.LoRA.Alpha)
	case len(o.LoRA.TargetModules) == 0:
		return errors.New("train: no LoRA target modules")
	case o.Training.LearningRate <= 0:
		return fmt.Errorf("train: learning rate must be positive, got %g", o.Training.LearningRate)
	case o.Training.EvalSteps <= 0 || o.Training.SaveSteps <= 0:
		return errors.New("train: eval_steps and save_steps must be positive")
	}
	switch o.DType {
	case "auto", "float32", "bfloat16", "float16":
	default:
		return fmt.Errorf("train: dtype %q (want auto, float32, bfloat16 or float16)", o.DType)
	}
	return nil
}
