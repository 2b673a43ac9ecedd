package engine

import (
	"context"
	"encoding/json"

	"github.com/vulntune/vulntune/internal/chat"
)

// Info describes the engine's interpreter, libraries and device.
type Info struct {
	Python           string `json:"python"`
	PythonExecutable string `json:"python_executable"`
	MLX              string `json:"mlx"`
	MLXLM            string `json:"mlx_lm"`
	HuggingfaceHub   string `json:"huggingface_hub"`
	Transformers     string `json:"transformers"`
	Backend          string `json:"backend"` // metal, cuda or cpu
	Device           string `json:"device"`
	MemoryBytes      int64  `json:"memory_bytes"`
	// BLASLibrary is the file providing cblas_sgemm in the child ("" for
	// the mlx wheel's bundled reference BLAS).
	BLASLibrary string `json:"blas_library"`
}

// Info asks the engine for its versions and device.
func (e *Engine) Info(ctx context.Context) (*Info, error) {
	var out Info
	if err := e.runWorker(ctx, "info", struct{}{}, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DefaultScoreLength is where scoring (perplexity, evaluation's loss)
// truncates an example when the caller names no length: mlx-lm's training
// default, so a score covers what a model of that setting was trained on.
const DefaultScoreLength = 2048

// GenerateRequest asks for one completion. The prompt always goes through
// the model's chat template; a model without one is refused.
type GenerateRequest struct {
	Model     string         `json:"model"`             // model directory
	Adapter   string         `json:"adapter,omitempty"` // LoRA adapter directory
	Prompt    string         `json:"prompt,omitempty"`
	System    string         `json:"system,omitempty"`
	Messages  []chat.Message `json:"messages,omitempty"` // replaces Prompt and System
	MaxTokens int            `json:"max_tokens"`
	Temp      float64        `json:"temp"` // 0 = greedy
	// Grounded decodes with grounded decoding (grounded.py): the answer
	// may name a vulnerability id, CWE id, version, path or URL only if
	// the messages name it.
	Grounded bool `json:"grounded,omitempty"`
}

// Generation is the answer and its token accounting.
type Generation struct {
	Text               string  `json:"text"`
	PromptTokens       int     `json:"prompt_tokens"`
	GenerationTokens   int     `json:"generation_tokens"`
	PromptTPS          float64 `json:"prompt_tps"`
	TokensPerSecond    float64 `json:"generation_tps"`
	FinishReason       string  `json:"finish_reason"`
	Seconds            float64 `json:"seconds"`
	ChatTemplateSource string  `json:"chat_template_source"`
	// Grounding is what grounded decoding did (GenerateRequest.Grounded).
	Grounding *GroundingStats `json:"grounding,omitempty"`
}

// Generate runs one chat completion in a fresh worker.
func (e *Engine) Generate(ctx context.Context, req GenerateRequest) (*Generation, error) {
	if req.MaxTokens <= 0 {
		req.MaxTokens = 256
	}
	var out Generation
	if err := e.runWorker(ctx, "generate", req, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PerplexityRequest scores chat examples on their assistant tokens, or
// plain texts on every token.
type PerplexityRequest struct {
	Model        string            `json:"model"`
	Adapter      string            `json:"adapter,omitempty"`
	Examples     []json.RawMessage `json:"examples,omitempty"` // {"messages":[...]} rows
	Texts        []string          `json:"texts,omitempty"`
	MaxSeqLength int               `json:"max_seq_length"` // 0: DefaultScoreLength
}

// Perplexity is the token-weighted mean loss over every scored token.
type Perplexity struct {
	Loss       float64 `json:"loss"`
	Perplexity float64 `json:"perplexity"`
	Tokens     int     `json:"tokens"`
	Items      int     `json:"items"`
}

// Perplexity scores req. onEvent, if not nil, receives one metric event per
// item as it is scored.
func (e *Engine) Perplexity(ctx context.Context, req PerplexityRequest, onEvent func(Event)) (*Perplexity, error) {
	if req.MaxSeqLength <= 0 {
		req.MaxSeqLength = DefaultScoreLength
	}
	var out Perplexity
	if err := e.runWorker(ctx, "perplexity", req, "", onEvent, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PullRequest downloads a Hub model repo into Dest (safetensors, JSON and
// tokenizer files only), optionally quantizing it with mlx_lm.convert.
type PullRequest struct {
	Repo         string `json:"repo"`
	Revision     string `json:"revision,omitempty"`
	Dest         string `json:"dest"`
	QuantizeBits int    `json:"quantize_bits,omitempty"`
	// HFToken is sent to the worker as HF_TOKEN (never in the request body).
	HFToken string `json:"-"`
	// Endpoint, when set, is sent as HF_ENDPOINT (config
	// fine_tuning.huggingface.endpoint).
	Endpoint string `json:"-"`
}

// Pulled says where the model landed and which endpoint served it.
type Pulled struct {
	Path     string `json:"path"`
	Endpoint string `json:"endpoint"`
}

// Pull runs the pull op. The Hub endpoint is req.Endpoint, else HF_ENDPOINT.
func (e *Engine) Pull(ctx context.Context, req PullRequest, onEvent func(Event)) (*Pulled, error) {
	var out Pulled
	c := scriptCall{Module: "worker", Op: "pull", Req: req, HFToken: req.HFToken,
		Env: HubAuth{Endpoint: req.Endpoint}.env()}
	if err := e.runScript(ctx, c, onEvent, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
