package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// AnswerRequest asks the engine to answer the prompt turns of chat examples
// with one model, loaded once, without scoring them (the answer op, for
// explain). Answers are greedy and decoded as evaluation decodes them.
type AnswerRequest struct {
	Model     string            `json:"model"`    // model directory (fused)
	Examples  []json.RawMessage `json:"examples"` // {"messages":[...]} rows; the assistant turns are ignored
	MaxTokens int               `json:"max_tokens"`
	// BatchSize is the number of answers decoded together; a finished
	// answer's place goes to the next prompt at once.
	BatchSize int `json:"batch_size"`
	// Decoding is evaluation's (EvaluateRequest), with two differences:
	// an answer stopped in a loop is kept up to the end of the loop's
	// first round, and identical prompts are answered once, under the
	// first's ground.
	Decoding
}

// AnswerSummary says what the answer op did and where its time went.
type AnswerSummary struct {
	Items int `json:"items"`
	// UniquePrompts were answered; the other items repeat one of them.
	UniquePrompts int `json:"unique_prompts"`
	// SharedPrefixTokens is the prefix every prompt shares (system prompt
	// and template header), processed once for all; PromptTokens counts
	// every prompt token processed, the shared ones once.
	SharedPrefixTokens int `json:"shared_prefix_tokens"`
	PromptTokens       int `json:"prompt_tokens"`
	GenerationTokens   int `json:"generation_tokens"`
	// Repetitions is the number of answers stopped in a loop.
	Repetitions        int     `json:"repetitions"`
	LoadSeconds        float64 `json:"load_seconds"`
	PrefixSeconds      float64 `json:"prefix_seconds"`
	GenerateSeconds    float64 `json:"generate_seconds"`
	ChatTemplateSource string  `json:"chat_template_source"`
	CPUKernels         string  `json:"cpu_kernels"`
}

// subset is r for the examples at idx, with their grounds and pins.
func (r AnswerRequest) subset(idx []int) AnswerRequest {
	r.Examples, r.Grounds, r.Pins = pick(r.Examples, idx), pick(r.Grounds, idx), pick(r.Pins, idx)
	return r
}

// Answer runs the answer op. onItem receives each example as its answer
// finishes (in completion order, not input order; NLL and LossTokens are
// zero); onEvent, if not nil, receives every other event (progress).
func (e *Engine) Answer(ctx context.Context, req AnswerRequest, onItem func(EvaluateItem), onEvent func(Event)) (*AnswerSummary, error) {
	if err := req.Decoding.validate("answer", req.MaxTokens, req.BatchSize, len(req.Examples)); err != nil {
		return nil, err
	}
	call := func(r AnswerRequest) scriptCall {
		return scriptCall{Module: "answer", Op: "answer", Req: r, Env: []string{"HF_HUB_OFFLINE=1"}}
	}
	return answering(ctx, e, req, req.Examples, req.Model, call, req.subset, mergeAnswer, onItem, onEvent)
}

// AnswerID identifies what the answer op answers with, as EvaluateID does
// for the evaluate op: its modules (the answer op loads models through the
// evaluate module), the interpreter, the venv's stamp, the BLAS preloaded
// and the CPU kernels chosen.
func (e *Engine) AnswerID() string {
	h := sha256.New()
	h.Write([]byte(moduleSum(moduleClosure("answer")...)))
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s", e.Python, e.Preload, strings.Join(e.Kernels, " "))
	if st, err := ReadStamp(filepath.Dir(filepath.Dir(e.Python))); err == nil {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s", st.LockSHA256, st.PythonVersion, st.InstalledAt)
	}
	return hex.EncodeToString(h.Sum(nil))
}
