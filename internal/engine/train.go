package engine

import (
	"context"
	_ "embed" // the trainer ships inside the binary, like the worker
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// TrainGrace is how long a cancelled training run gets between SIGTERM and
// SIGKILL: vulntune stops within 10 s of a signal, whatever it is doing.
// The trainer checks for the signal between optimizer steps and validation
// batches and then writes a checkpoint; a step that cannot finish in time
// (one step of a 1B model on a CPU takes minutes) is lost with the process,
// and resume redoes it from the last checkpoint, which the trainer also
// writes every CheckpointEvery so little else is lost with it.
const TrainGrace = 8 * time.Second

// CheckpointEvery is how often, besides every save_steps, the trainer
// checkpoints: a checkpoint of the LoRA weights and optimizer state is tens
// of MB and milliseconds to write, against steps of tens of seconds.
const CheckpointEvery = time.Minute

// LoRASpec is the adapter part of a TrainRequest.
type LoRASpec struct {
	Rank    int      `json:"rank"`
	Alpha   float64  `json:"alpha"` // mlx-lm scale = Alpha / Rank
	Dropout float64  `json:"dropout"`
	Targets []string `json:"targets"` // q_proj, ... or self_attn.q_proj
	// NumLayers is how many transformer blocks, counted from the last, get
	// adapters; 0 means all of them.
	NumLayers int `json:"num_layers"`
}

// TrainRequest is one LoRA training run of vulntune_engine.train. Paths are
// absolute; nothing in it is secret.
type TrainRequest struct {
	Model         string `json:"model"`    // base model directory
	DataDir       string `json:"data_dir"` // train.jsonl + valid.jsonl chat rows
	WorkDir       string `json:"work_dir"` // checkpoints/, best/
	OutputDir     string `json:"output_dir"`
	BaseModelName string `json:"base_model_name"`
	// BaseHubID is the base's Hub id ("" when unknown): the PEFT adapter's
	// base_model_name_or_path, else BaseModelName.
	BaseHubID    string  `json:"base_hub_id"`
	Fingerprint  string  `json:"fingerprint"` // settings + data; resume refuses another
	Steps        int     `json:"steps"`
	Examples     int     `json:"examples"` // training rows drawn in all: Steps = ceil(Examples/BatchSize)
	BatchSize    int     `json:"batch_size"`
	LearningRate float64 `json:"learning_rate"`
	WarmupSteps  int     `json:"warmup_steps"`
	MinLRRatio   float64 `json:"min_lr_ratio"`
	WeightDecay  float64 `json:"weight_decay"`
	MaxSeqLength int     `json:"max_seq_length"`
	EvalSteps    int     `json:"eval_steps"`
	EvalBatches  int     `json:"eval_batches"` // 0: the whole validation split
	SaveSteps    int     `json:"save_steps"`
	// CheckpointSeconds also checkpoints after a step when this long has
	// passed since the last checkpoint (CheckpointEvery).
	CheckpointSeconds float64 `json:"checkpoint_seconds"`
	Patience          int     `json:"patience"` // evaluations without improvement; 0: off
	Seed              int64   `json:"seed"`
	GradCheckpt       bool    `json:"grad_checkpoint"`
	// QuantizeBits quantizes the base before LoRA (QLoRA); 0: none.
	QuantizeBits int      `json:"quantize_bits"`
	DType        string   `json:"dtype"` // auto, float32, bfloat16
	Resume       bool     `json:"resume"`
	Fuse         bool     `json:"fuse"`
	Compile      bool     `json:"compile"`
	LoRA         LoRASpec `json:"lora"`
	// Ranks is how many processes train together (Train sets it from
	// Engine.workers); callers leave it 0.
	Ranks int `json:"ranks"`
}

// TrainResult is the trainer's result event.
type TrainResult struct {
	Steps                     int      `json:"steps"`
	TotalSteps                int      `json:"total_steps"`
	StoppedEarly              bool     `json:"stopped_early"`
	Adapter                   string   `json:"adapter"` // "best" or "last"
	BestStep                  int      `json:"best_step"`
	BestValLoss               *float64 `json:"best_val_loss"`
	InitialValLoss            *float64 `json:"initial_val_loss"`
	FinalValLoss              *float64 `json:"final_val_loss"`
	FirstTrainLoss            *float64 `json:"first_train_loss"`
	LastTrainLoss             *float64 `json:"last_train_loss"`
	Tokens                    int64    `json:"tokens"`
	SupervisedTokens          int64    `json:"supervised_tokens"`
	TrainSeconds              float64  `json:"train_seconds"`
	TokensPerSecond           float64  `json:"tokens_per_second"`
	SupervisedTokensPerSecond float64  `json:"supervised_tokens_per_second"`
	PeakMemory                int64    `json:"peak_memory"`
	DType                     string   `json:"dtype"`
	Backend                   string   `json:"backend"`
	BLAS                      string   `json:"blas"` // CPU: "openblas" (preloaded) or "bundled"
	// CPUKernels is "vulntune" when vulntune_engine/cpumath.py's exp-heavy kernels
	// replaced MLX's (x86-64 CPU), else "mlx".
	CPUKernels string `json:"cpu_kernels"`
	// LogitsAt is "supervised" when the loss computed the output layer only
	// at assistant tokens (vulntune_engine/lmhead.py found the model's output layer),
	// "all" when it computed every position's logits.
	LogitsAt     string `json:"logits_at"`
	MLX          string `json:"mlx"`
	MLXLM        string `json:"mlx_lm"`
	Transformers string `json:"transformers"`
	// TruncatedTrain and TruncatedValid count the examples longer than
	// max_seq_length, which trained (or were scored) cut; LongestTrain and
	// LongestValid are the longest example's full length in tokens (chat
	// template included), the length that would hold every one.
	TruncatedTrain      int      `json:"truncated_train"`
	TruncatedValid      int      `json:"truncated_valid"`
	LongestTrain        int      `json:"longest_train"`
	LongestValid        int      `json:"longest_valid"`
	TrainExamples       int      `json:"train_examples"`
	ValidExamples       int      `json:"valid_examples"`
	TrainableParameters int64    `json:"trainable_parameters"`
	Parameters          int64    `json:"parameters"`
	NumLayers           int      `json:"num_layers"`
	LoRAKeys            []string `json:"lora_keys"`
	LoRAScale           float64  `json:"lora_scale"`
	FusedLoss           *float64 `json:"fused_loss"`
	AdaptedLoss         *float64 `json:"adapted_loss"`
	WallSeconds         float64  `json:"wall_seconds"`
	// Ranks is how many processes trained (data parallel, one OpenBLAS
	// thread each on a CPU); PeakMemory is the leader's alone.
	Ranks int `json:"ranks"`
}

// Train runs vulntune_engine.train on req. onEvent receives every event as it
// arrives (one metric per step). Cancelling ctx sends SIGTERM; the trainer
// finishes its step, writes a checkpoint and exits, or is killed after
// TrainGrace.
//
// Where the answering ops would use several workers (Engine.workers: a
// Linux CPU with two cores or more and the memory for another copy of the
// model), the run is data parallel: that many processes, each with its
// share of the cores' OpenBLAS threads and of every batch, sum their
// gradients each step over MLX's ring backend on localhost
// (vulntune_engine/ranks.py). A training step on a CPU is as fast with
// one OpenBLAS thread as with two, so a second process is nearly a second
// trainer (bench/RESULTS.md). Rank 0 reports; the others' events go to
// their own logs only.
func (e *Engine) Train(ctx context.Context, req TrainRequest, onEvent func(Event)) (*TrainResult, error) {
	var out TrainResult
	c := scriptCall{Module: "train", Op: "train", Args: []string{}, Grace: TrainGrace}
	w, threads := e.workers(req.BatchSize, req.Model)
	req.Ranks = w
	c.Req = req
	if w == 1 {
		if err := e.runScript(ctx, c, onEvent, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	hostfile, err := ringHostfile(w)
	if err != nil {
		return nil, fmt.Errorf("train in %d processes: %w (VULNTUNE_ENGINE_WORKERS=1 trains in one)", w, err)
	}
	defer os.Remove(hostfile)
	err = runRanks(ctx, w, func(ctx context.Context, r int) error {
		rc := shardCall(c, r, w, threads)
		rc.Env = append(rc.Env, "MLX_RANK="+strconv.Itoa(r), "MLX_HOSTFILE="+hostfile)
		if r == 0 {
			return e.runScript(ctx, rc, onEvent, &out)
		}
		return e.runScript(ctx, rc, func(Event) {}, nil)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// runRanks runs rank(ctx, r) for r in [0, w) at once. Ranks wait for each
// other in every step's sum, so the first to fail cancels the rest (they
// would wait for it forever) and its error is the one returned; when ctx
// itself is cancelled, rank 0's error is, as it reports the checkpoint it
// wrote.
func runRanks(ctx context.Context, w int, rank func(ctx context.Context, r int) error) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	errs := make([]error, w)
	for r := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := rank(inner, r)
			errs[r] = err
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil && errs[0] != nil {
		return errs[0]
	}
	return first
}

// ringHostfile writes the hostfile of MLX's ring backend for w processes
// on this machine: one free localhost port each. The ports are free when
// chosen; another program could take one before the rank listens on it,
// and then the run fails with MLX's message rather than hanging.
func ringHostfile(w int) (string, error) {
	hosts := make([][]string, w)
	var open []net.Listener
	defer func() {
		for _, l := range open {
			l.Close()
		}
	}()
	for r := range w {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("no free localhost port for the ring: %w", err)
		}
		open = append(open, l)
		hosts[r] = []string{l.Addr().String()}
	}
	b, err := json.Marshal(hosts)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "vulntune-ring-*.json")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
