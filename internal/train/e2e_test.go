package train_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/train"
)

// testEngine returns the engine and the SmolLM2 base model, or skips. It
// finds them like the engine tests: VULNTUNE_TEST_ENGINE_PYTHON or the
// venv `vulntune setup` built under VULNTUNE_DATA_DIR; the base model in
// VULNTUNE_TEST_BASE_MODEL, $VULNTUNE_BASE_MODELS_DIR or
// $VULNTUNE_DATA_DIR/models/base.
func testEngine(t *testing.T) (*engine.Engine, string) {
	t.Helper()
	py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON")
	if dir := os.Getenv("VULNTUNE_DATA_DIR"); py == "" && dir != "" {
		e, err := engine.Open(dir)
		if err != nil {
			t.Skipf("no engine in VULNTUNE_DATA_DIR=%s (%v): run `make setup`", dir, err)
		}
		py = e.Python
	}
	if py == "" {
		t.Skip("no engine: run `make setup` (or export VULNTUNE_DATA_DIR / VULNTUNE_TEST_ENGINE_PYTHON) to run fine-tuning tests")
	}
	var candidates []string
	if m := os.Getenv("VULNTUNE_TEST_BASE_MODEL"); m != "" {
		candidates = append(candidates, m)
	}
	if d := os.Getenv("VULNTUNE_BASE_MODELS_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "SmolLM2-135M-Instruct"))
	}
	if d := os.Getenv("VULNTUNE_DATA_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "models", "base", "SmolLM2-135M-Instruct"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "config.json")); err == nil {
			return engine.New(py, t.TempDir()), c
		}
	}
	t.Skipf("no SmolLM2-135M-Instruct base model (looked in %v): run `make setup`", candidates)
	return nil, ""
}

func e2eOptions(e *engine.Engine, base, root string) train.Options {
	return train.Options{
		Dataset: filepath.Join("testdata", "chat"), BaseModelDir: base,
		OutputDir: filepath.Join(root, "models", "tiny-ft"), WorkDir: filepath.Join(root, "work"),
		Training: config.Training{LearningRate: 1e-3, BatchSize: 2, WarmupSteps: 1, SaveSteps: 2, EvalSteps: 2},
		LoRA: config.LoRA{Rank: 8, Alpha: 16, Dropout: 0.05,
			TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}},
		MaxSteps: 4, MaxSeqLength: 384, Patience: -1, Engine: e,
	}
}

// TestFinetuneEndToEnd trains SmolLM2 for 4 steps, checks the model dir,
// then repeats the run interrupted after its step-2 checkpoint and resumed,
// which must end where the uninterrupted run ended.
func TestFinetuneEndToEnd(t *testing.T) {
	e, base := testEngine(t)
	root := t.TempDir()
	ctx := context.Background()

	full, err := train.Run(ctx, e2eOptions(e, base, filepath.Join(root, "a")))
	if err != nil {
		t.Fatal(err)
	}
	m := full.Metrics
	if m.Steps != 4 || m.TotalSteps != 4 {
		t.Fatalf("steps %d/%d, want 4/4", m.Steps, m.TotalSteps)
	}
	if *m.FinalValLoss >= *m.InitialValLoss {
		t.Errorf("validation loss did not fall: %.4f -> %.4f", *m.InitialValLoss, *m.FinalValLoss)
	}
	if m.FuseCheckDelta == nil || *m.FuseCheckDelta > 1e-3 {
		t.Errorf("fused model loss differs from adapted model: delta %v", m.FuseCheckDelta)
	}
	checkModelDir(t, full.ModelDir, base)

	// The same run in one process: where the engine trained in several
	// (data parallel), every step's update is the whole batch's, so the
	// losses are one process's. Only the dropout noise, drawn per process
	// for its rows, differs after the first step (the adapters' B starts at
	// zero, so the first loss has none).
	if full.Engine.Ranks > 1 {
		one := *e
		one.Workers = 1
		single, err := train.Run(ctx, e2eOptions(&one, base, filepath.Join(root, "one")))
		if err != nil {
			t.Fatal(err)
		}
		s := single.Metrics
		if single.Engine.Ranks != 1 {
			t.Errorf("Workers=1 trained in %d processes", single.Engine.Ranks)
		}
		for _, c := range []struct {
			name     string
			got, one float64
			tol      float64
		}{
			{"initial validation loss", *m.InitialValLoss, *s.InitialValLoss, 1e-4},
			{"first training loss", *m.FirstTrainLoss, *s.FirstTrainLoss, 1e-4},
			{"final validation loss", *m.FinalValLoss, *s.FinalValLoss, 2e-2},
		} {
			if d := math.Abs(c.got - c.one); d > c.tol {
				t.Errorf("%s: %d processes %.6f, one %.6f", c.name, full.Engine.Ranks, c.got, c.one)
			}
		}
		t.Logf("final validation loss: %.6f in %d processes, %.6f in one", *m.FinalValLoss, full.Engine.Ranks, *s.FinalValLoss)
		if m.Tokens != s.Tokens || m.SupervisedTokens != s.SupervisedTokens {
			t.Errorf("tokens %d/%d in %d processes, %d/%d in one", m.Tokens, m.SupervisedTokens, full.Engine.Ranks, s.Tokens, s.SupervisedTokens)
		}
	} else {
		t.Logf("trained in one process (%d CPUs): the data-parallel comparison needs two", runtime.NumCPU())
	}

	// Interrupted at the step-2 checkpoint, then resumed.
	o := e2eOptions(e, base, filepath.Join(root, "b"))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o.Progress = func(p train.Progress) {
		if p.Stage == "checkpoint" && p.Step == 2 {
			cancel()
		}
	}
	if _, err := train.Run(cctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(o.OutputDir); !os.IsNotExist(err) {
		t.Fatalf("interrupted run left %s (err %v)", o.OutputDir, err)
	}
	if _, err := os.Stat(filepath.Join(o.WorkDir, "checkpoints", "0000002", "optimizer.safetensors")); err != nil {
		t.Fatalf("no step-2 checkpoint: %v", err)
	}
	o.Progress, o.Resume = nil, true
	resumed, err := train.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	r := resumed.Metrics
	if r.Steps != 4 || r.TotalSteps != 4 || !resumed.Resumed {
		t.Fatalf("resumed run: steps %d/%d resumed=%v", r.Steps, r.TotalSteps, resumed.Resumed)
	}
	if d := math.Abs(*r.LastTrainLoss - *m.LastTrainLoss); d > 1e-4 {
		t.Errorf("resumed last train loss %.6f, uninterrupted %.6f", *r.LastTrainLoss, *m.LastTrainLoss)
	}
	if d := math.Abs(*r.FinalValLoss - *m.FinalValLoss); d > 1e-4 {
		t.Errorf("resumed final val loss %.6f, uninterrupted %.6f", *r.FinalValLoss, *m.FinalValLoss)
	}
	hist, err := train.ReadMetrics(filepath.Join(resumed.ModelDir, "training", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if steps, _ := hist.Series("train"); len(steps) != 4 || steps[3] != 4 {
		t.Errorf("resumed history has train steps %v, want 1..4 once each", steps)
	}
}

func checkModelDir(t *testing.T, dir, base string) {
	t.Helper()
	for _, f := range []string{"model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
		"tokenizer_config.json", "special_tokens_map.json", "adapters/adapter_config.json",
		"adapters/adapters.safetensors", "README.md", "metadata.json", "training/metrics.jsonl", "training/loss.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("model dir lacks %s", f)
		}
	}
	h, err := modelstore.ReadSafetensorsHeader(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	bh, err := modelstore.ReadSafetensorsHeader(filepath.Join(base, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bt := range bh.Tensors {
		ft, ok := h.Tensors[name]
		if !ok || ft.DType != bt.DType || len(ft.Shape) != len(bt.Shape) {
			t.Errorf("fused tensor %s: %+v, base %+v", name, ft, bt)
		}
	}
	var cfg struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || json.Unmarshal(b, &cfg) != nil || cfg.ModelType != "llama" || len(cfg.Architectures) == 0 {
		t.Errorf("config.json: %+v (err %v)", cfg, err)
	}
	tc, _ := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if !strings.Contains(string(tc), "chat_template") {
		t.Error("tokenizer_config.json has no chat_template")
	}
	meta, _ := os.ReadFile(filepath.Join(dir, "metadata.json"))
	home, _ := os.UserHomeDir()
	for _, bad := range []string{base, dir, os.TempDir(), home, "hf_"} {
		if bad != "" && bad != "/" && strings.Contains(string(meta), bad) {
			t.Errorf("metadata.json contains %q", bad)
		}
	}
	card, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, want := range []string{"library_name: transformers", "model-index:", "pipeline_tag: text-generation"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q", want)
		}
	}
}

// QLoRA (fine_tuning.mlx.quantization) on the CPU backend is refused by
// the engine with the setting named, before any training: MLX's CPU backend
// cannot train on a quantized base.
func TestQuantizedBaseRefusedOnCPU(t *testing.T) {
	e, base := testEngine(t)
	info, err := e.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != engine.BackendCPU {
		t.Skipf("backend %s trains quantized bases", info.Backend)
	}
	o := e2eOptions(e, base, t.TempDir())
	o.QuantizeBits, o.MaxSteps = 4, 1
	_, err = train.Run(context.Background(), o)
	var ee *engine.EngineError
	if !errors.As(err, &ee) || ee.Kind != "Quantized" || !strings.Contains(err.Error(), "fine_tuning.mlx.quantization q4") {
		t.Fatalf("err = %v, want the engine's Quantized refusal naming the setting", err)
	}
	if _, serr := os.Stat(o.OutputDir); serr == nil {
		t.Error("a refused training left a model dir")
	}
}
