// Package train fine-tunes a base model with LoRA through the engine's
// trainer (internal/engine vulntune_engine.train) and turns the run into a complete
// model directory: fused safetensors weights, config and tokenizer files,
// adapters/, training/metrics.jsonl and loss.png, metadata.json and a model
// card. The directory is staged beside its final place and renamed in only
// when complete; checkpoints stay in the work dir so --resume continues an
// interrupted run exactly.
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// Result describes a finished run.
type Result struct {
	Name     string `json:"name"`
	ModelDir string `json:"model_dir"`
	WorkDir  string `json:"work_dir"`
	// Resumed is true when the run continued from a checkpoint.
	Resumed  bool                `json:"resumed"`
	Dataset  DatasetInfo         `json:"dataset"`
	Metrics  *FinalMetrics       `json:"metrics"`
	Engine   *engine.TrainResult `json:"engine"`
	Duration time.Duration       `json:"duration_ns"`
}

// Files every model dir holds besides the weights.
var requiredFiles = []string{
	"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"generation_config.json", "adapters/adapter_config.json", "adapters/adapters.safetensors",
	"adapters/peft/adapter_config.json", "adapters/peft/adapter_model.safetensors",
	"README.md", "metadata.json", "training/metrics.jsonl", "training/loss.png",
}

// Run fine-tunes o.BaseModelDir on o.Dataset and leaves the model in
// o.OutputDir. Cancelling ctx makes the trainer checkpoint and stop; the
// error then wraps ctx.Err() and nothing appears at o.OutputDir.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	start := o.Now()
	if o.Name == "" {
		o.Name = filepath.Base(o.OutputDir)
	}
	dataDir := filepath.Join(o.WorkDir, "data")
	ds, err := PrepareDataset(o.Dataset, dataDir)
	if err != nil {
		return nil, err
	}
	steps, examples, err := Steps(o.Epochs, ds.Train, o.Training.BatchSize, o.MaxSteps)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	base, err := baseRef(o.BaseModelDir)
	if err != nil {
		return nil, err
	}
	hp := Hyperparameters{
		LearningRate: o.Training.LearningRate, MinLRRatio: DefaultMinLRRatio, WarmupSteps: o.Training.WarmupSteps,
		WeightDecay: DefaultWeightDecay, BatchSize: o.Training.BatchSize, Epochs: o.Epochs, MaxSteps: o.MaxSteps,
		Steps: steps, Examples: examples, MaxSeqLength: o.MaxSeqLength, EvalSteps: o.Training.EvalSteps,
		EvalBatches: o.EvalBatches, SaveSteps: o.Training.SaveSteps, Patience: o.Patience, Seed: o.Seed,
		Rank: o.LoRA.Rank, Alpha: o.LoRA.Alpha, Dropout: o.LoRA.Dropout, TargetModules: o.LoRA.TargetModules,
		NumLayers: o.LoRA.NumLayers, GradCheckpoint: o.GradCheckpoint, DType: o.DType, QuantizeBits: o.QuantizeBits,
	}
	metricsPath := filepath.Join(o.WorkDir, "metrics.jsonl")
	hist := &Metrics{}
	if o.Resume {
		if hist, err = ReadMetrics(metricsPath); err != nil {
			return nil, err
		}
	}
	parent := filepath.Dir(o.OutputDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", parent, err)
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(o.OutputDir)+".staging-")
	if err != nil {
		return nil, fmt.Errorf("stage model dir: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(staging)
		}
	}()
	req := engine.TrainRequest{
		Model: o.BaseModelDir, DataDir: dataDir, WorkDir: o.WorkDir, OutputDir: staging,
		BaseModelName: base.Name, BaseHubID: base.HubID, Fingerprint: fingerprint(base, ds, hp), Steps: steps, Examples: examples,
		BatchSize: hp.BatchSize, LearningRate: hp.LearningRate, WarmupSteps: hp.WarmupSteps,
		MinLRRatio: hp.MinLRRatio, WeightDecay: hp.WeightDecay, MaxSeqLength: hp.MaxSeqLength,
		EvalSteps: hp.EvalSteps, EvalBatches: hp.EvalBatches, SaveSteps: hp.SaveSteps, Patience: hp.Patience,
		CheckpointSeconds: engine.CheckpointEvery.Seconds(),
		Seed:              hp.Seed, GradCheckpt: hp.GradCheckpoint, DType: hp.DType, Resume: o.Resume,
		Fuse: !o.NoFuse, Compile: true, QuantizeBits: hp.QuantizeBits,
		LoRA: engine.LoRASpec{Rank: hp.Rank, Alpha: hp.Alpha, Dropout: hp.Dropout, Targets: hp.TargetModules, NumLayers: hp.NumLayers},
	}
	o.Logger.Info("training", "name", o.Name, "steps", steps, "examples", examples, "train", ds.Train, "valid", ds.Valid, "resume", o.Resume)
	res, err := o.Engine.Train(ctx, req, func(ev engine.Event) { onEvent(&o, hist, metricsPath, ev) })
	if werr := hist.Write(metricsPath); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		if ctx.Err() != nil {
			// What the child said as it was stopped (a SIGKILL, a partial
			// step) is in its log; the user needs the cause and the way on.
			return nil, fmt.Errorf("fine-tuning %s stopped (%w); it resumes from its last checkpoint in %s", o.Name, context.Cause(ctx), o.WorkDir)
		}
		return nil, fmt.Errorf("fine-tuning %s: %w", o.Name, err)
	}
	out := &Result{Name: o.Name, ModelDir: o.OutputDir, WorkDir: o.WorkDir, Resumed: o.Resume, Dataset: *ds,
		Metrics: finalMetrics(res), Engine: res}
	if o.NoFuse {
		out.Duration = o.Now().Sub(start)
		return out, nil
	}
	if err := finish(staging, &o, base, ds, hp, hist, res, start); err != nil {
		return nil, err
	}
	if err := atomicfile.ReplaceDir(staging, o.OutputDir); err != nil {
		return nil, err
	}
	done = true
	out.Duration = o.Now().Sub(start)
	return out, nil
}

// onEvent records step and eval metrics, keeps the work dir's history in
// step with checkpoints, and forwards progress.
func onEvent(o *Options, hist *Metrics, path string, ev engine.Event) {
	var f struct {
		Kind  string `json:"kind"`
		Stage string `json:"stage"`
		Step  int    `json:"step"`
		Total int    `json:"total"`
	}
	_ = json.Unmarshal(ev.Raw, &f)
	p := Progress{Stage: f.Stage, Step: f.Step, Total: f.Total, Message: ev.Message}
	switch {
	case ev.Event == "metric" && (f.Kind == "train" || f.Kind == "eval"):
		var r Record
		if json.Unmarshal(ev.Raw, &r) != nil {
			return
		}
		hist.Add(r)
		p = Progress{Stage: f.Kind, Step: r.Step, Total: r.Total, Loss: r.Loss, LR: r.LR, ValLoss: r.ValLoss,
			TokensPerSecond: r.TokensPerSecond, SupervisedTokensPerSecond: r.SupervisedTokensPerSecond}
	case ev.Event == "metric" && f.Kind == "dataset":
		o.Logger.Info("tokenized", "event", string(ev.Raw))
		var d struct {
			Split     string `json:"split"`
			Examples  int    `json:"examples"`
			Truncated int    `json:"truncated"`
			Longest   int    `json:"longest_full_length"`
		}
		if json.Unmarshal(ev.Raw, &d) == nil && d.Truncated > 0 {
			// Said where the run is watched: a cut row trains the model on
			// an answer without its end.
			o.Logger.Warn(fmt.Sprintf("%d of %d %s examples are longer than the max sequence length %d and are cut; %d tokens would hold them all (--max-seq-length)",
				d.Truncated, d.Examples, d.Split, o.MaxSeqLength, d.Longest))
		}
		return
	case ev.Event == "metric":
		o.Logger.Debug("engine metric", "event", string(ev.Raw))
		return
	case ev.Event == "progress" && f.Stage == "resume":
		hist.TruncateAfter(f.Step)
	case ev.Event == "artifact" && f.Kind == "checkpoint":
		if err := hist.Write(path); err != nil {
			o.Logger.Warn("write metrics", "err", err)
		}
		p.Stage = "checkpoint"
	case ev.Event == "log":
		o.Logger.Info(ev.Message)
	}
	if o.Progress != nil && p.Stage != "" {
		o.Progress(p)
	}
}

// finish writes the files the engine does not and checks the dir is whole.
func finish(dir string, o *Options, base BaseRef, ds *DatasetInfo, hp Hyperparameters, hist *Metrics, r *engine.TrainResult, start time.Time) error {
	if err := hist.Write(filepath.Join(dir, "training", "metrics.jsonl")); err != nil {
		return err
	}
	if err := PlotLoss(hist, o.Name+" — loss on assistant tokens", filepath.Join(dir, "training", "loss.png")); err != nil {
		return err
	}
	st, err := modelstore.Describe(dir, modelstore.KindFineTuned)
	if err != nil {
		return fmt.Errorf("describe fused model: %w", err)
	}
	hp.DType = r.DType
	meta := &Metadata{
		Metadata: modelstore.Metadata{
			Name: o.Name, Kind: modelstore.KindFineTuned, Architecture: st.Architecture, Parameters: st.Parameters,
			DType: r.DType, Created: o.Now().UTC().Truncate(time.Second), Source: "vulntune:lora",
			ChatTemplateSource: chatTemplateSource(o.BaseModelDir),
		},
		BaseModel: base, Dataset: *ds, Hyperparameters: hp, Metrics: finalMetrics(r),
		Durations: Durations{TrainSeconds: r.TrainSeconds, TotalSeconds: o.Now().Sub(start).Seconds()},
		Engine:    map[string]string{"mlx": r.MLX, "mlx_lm": r.MLXLM, "transformers": r.Transformers, "backend": r.Backend, "cpu_kernels": r.CPUKernels, "logits_at": r.LogitsAt},
	}
	if err := writeMetadata(filepath.Join(dir, modelstore.MetadataFile), meta); err != nil {
		return err
	}
	if err := WriteCard(dir, cardInfo(o, base, ds, hp, r)); err != nil {
		return err
	}
	for _, f := range requiredFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("fused model is incomplete: %s missing", f)
		}
	}
	return nil
}

func chatTemplateSource(baseDir string) string {
	if m, err := modelstore.ReadMetadata(baseDir); err == nil && m.ChatTemplateSource != "" {
		return m.ChatTemplateSource
	}
	return engine.SourceTokenizer
}

func cardInfo(o *Options, base BaseRef, ds *DatasetInfo, hp Hyperparameters, r *engine.TrainResult) CardInfo {
	return CardInfo{
		Name: o.Name, BaseModel: base.Name, BaseHubID: base.HubID, BaseQuantization: base.Quantization, Datasets: []string{ds.Source}, Steps: r.Steps, Epochs: hp.Epochs,
		BatchSize: hp.BatchSize, LearningRate: hp.LearningRate, Rank: hp.Rank, Alpha: hp.Alpha, Dropout: hp.Dropout,
		TargetModules: hp.TargetModules, MaxSeqLength: hp.MaxSeqLength, DType: r.DType, Backend: r.Backend,
		InitialValLoss: r.InitialValLoss, ValLoss: r.BestValLoss, TrainExamples: ds.Train, ValidExamples: ds.Valid,
		TokensPerSecond: r.TokensPerSecond, TrainMinutes: r.TrainSeconds / 60,
		TruncatedTrain: r.TruncatedTrain, TruncatedValid: r.TruncatedValid, Longest: max(r.LongestTrain, r.LongestValid),
	}
}
