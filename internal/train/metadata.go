package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/filehash"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// BaseRef identifies the base model: its name, where it came from and the
// hash of its weights, so a card and a resume can tell bases apart.
type BaseRef struct {
	Name   string `json:"name"`
	Source string `json:"source,omitempty"`
	// HubID is the base's Hub id when known (recorded at import, or the
	// repo it was pulled from): the card's base_model.
	HubID string `json:"hub_id,omitempty"`
	// Quantization is the encoding the base was dequantized from (a GGUF
	// quantization such as Q4_1), "" for original weights.
	Quantization  string `json:"quantization,omitempty"`
	WeightsSHA256 string `json:"weights_sha256"`
}

// Hyperparameters are the settings that shaped the weights.
type Hyperparameters struct {
	LearningRate   float64  `json:"learning_rate"`
	MinLRRatio     float64  `json:"min_lr_ratio"`
	WarmupSteps    int      `json:"warmup_steps"`
	WeightDecay    float64  `json:"weight_decay"`
	BatchSize      int      `json:"batch_size"`
	Epochs         int      `json:"epochs"`
	MaxSteps       int      `json:"max_steps,omitempty"`
	Steps          int      `json:"steps"`
	Examples       int      `json:"examples"`
	MaxSeqLength   int      `json:"max_seq_length"`
	EvalSteps      int      `json:"eval_steps"`
	EvalBatches    int      `json:"eval_batches"`
	SaveSteps      int      `json:"save_steps"`
	Patience       int      `json:"patience"`
	Seed           int64    `json:"seed"`
	Rank           int      `json:"lora_rank"`
	Alpha          float64  `json:"lora_alpha"`
	Dropout        float64  `json:"lora_dropout"`
	TargetModules  []string `json:"lora_target_modules"`
	NumLayers      int      `json:"lora_num_layers"` // 0 = all
	GradCheckpoint bool     `json:"grad_checkpoint"`
	DType          string   `json:"dtype"`
	QuantizeBits   int      `json:"quantize_bits,omitempty"` // QLoRA; 0 = full precision
}

// Metadata is metadata.json of a fine-tuned model: the modelstore fields
// plus how it was trained. It holds names and hashes, never paths or tokens.
type Metadata struct {
	modelstore.Metadata
	BaseModel       BaseRef           `json:"base_model"`
	Dataset         DatasetInfo       `json:"dataset"`
	Hyperparameters Hyperparameters   `json:"hyperparameters"`
	Metrics         *FinalMetrics     `json:"metrics"`
	Durations       Durations         `json:"durations"`
	Engine          map[string]string `json:"engine"`
}

// FinalMetrics are the run's end figures.
type FinalMetrics struct {
	Steps                     int      `json:"steps"`
	TotalSteps                int      `json:"total_steps"`
	StoppedEarly              bool     `json:"stopped_early"`
	Adapter                   string   `json:"adapter"`
	BestStep                  int      `json:"best_step"`
	InitialValLoss            *float64 `json:"initial_val_loss"`
	BestValLoss               *float64 `json:"best_val_loss"`
	FinalValLoss              *float64 `json:"final_val_loss"`
	FirstTrainLoss            *float64 `json:"first_train_loss"`
	LastTrainLoss             *float64 `json:"last_train_loss"`
	Tokens                    int64    `json:"tokens"`
	SupervisedTokens          int64    `json:"supervised_tokens"`
	TokensPerSecond           float64  `json:"tokens_per_second"`
	SupervisedTokensPerSecond float64  `json:"supervised_tokens_per_second"`
	PeakMemoryBytes           int64    `json:"peak_memory_bytes"`
	TruncatedTrain            int      `json:"truncated_train"`
	TruncatedValid            int      `json:"truncated_valid"`
	// LongestTrain and LongestValid are the longest example's length in
	// tokens, before truncation (engine.TrainResult).
	LongestTrain        int      `json:"longest_train"`
	LongestValid        int      `json:"longest_valid"`
	TrainableParameters int64    `json:"trainable_parameters"`
	FuseCheckDelta      *float64 `json:"fuse_check_delta"` // |fused - adapted| loss on one batch
}

// Durations of the run's phases, in seconds. A resumed run counts only its
// own time.
type Durations struct {
	TrainSeconds float64 `json:"train_seconds"`
	TotalSeconds float64 `json:"total_seconds"`
}

func writeMetadata(path string, m *Metadata) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

func finalMetrics(r *engine.TrainResult) *FinalMetrics {
	f := &FinalMetrics{
		Steps: r.Steps, TotalSteps: r.TotalSteps, StoppedEarly: r.StoppedEarly, Adapter: r.Adapter,
		BestStep: r.BestStep, InitialValLoss: r.InitialValLoss, BestValLoss: r.BestValLoss,
		FinalValLoss: r.FinalValLoss, FirstTrainLoss: r.FirstTrainLoss, LastTrainLoss: r.LastTrainLoss,
		Tokens: r.Tokens, SupervisedTokens: r.SupervisedTokens, TokensPerSecond: r.TokensPerSecond,
		SupervisedTokensPerSecond: r.SupervisedTokensPerSecond, PeakMemoryBytes: r.PeakMemory,
		TruncatedTrain: r.TruncatedTrain, TruncatedValid: r.TruncatedValid,
		LongestTrain: r.LongestTrain, LongestValid: r.LongestValid,
		TrainableParameters: r.TrainableParameters,
	}
	if r.FusedLoss != nil && r.AdaptedLoss != nil {
		d := *r.FusedLoss - *r.AdaptedLoss
		if d < 0 {
			d = -d
		}
		f.FuseCheckDelta = &d
	}
	return f
}

// baseRef hashes the base model's weight files (safetensors, sorted).
func baseRef(dir string) (BaseRef, error) {
	ref := BaseRef{Name: filepath.Base(dir)}
	if m, err := modelstore.ReadMetadata(dir); err == nil {
		ref.Source, ref.HubID, ref.Quantization = m.Source, m.HubID, m.Quantization
		if ref.HubID == "" && strings.HasPrefix(m.Source, "hf:") {
			ref.HubID = strings.TrimPrefix(m.Source, "hf:")
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(files) == 0 {
		return ref, fmt.Errorf("base model %s: no safetensors weights", dir)
	}
	sum, _, err := filehash.Files(files...)
	if err != nil {
		return ref, fmt.Errorf("hash base weights: %w", err)
	}
	ref.WeightsSHA256 = sum
	return ref, nil
}

// fingerprint names the data, base and settings a checkpoint belongs to.
func fingerprint(base BaseRef, ds *DatasetInfo, hp Hyperparameters) string {
	b, _ := json.Marshal(struct {
		W, D string
		H    Hyperparameters
	}{base.WeightsSHA256, ds.SHA256, hp})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// DefaultName is <prefix>-<UTC timestamp>, e.g. vulntune-security-20261124-153000.
func DefaultName(prefix string, now time.Time) string {
	return prefix + "-" + now.UTC().Format("20060102-150405")
}
