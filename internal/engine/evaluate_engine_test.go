package engine_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
)

// TestEvaluateSharesPrefill: evaluate answers from the KV cache its scoring
// pass left behind, in groups of one batch (four examples, batch 2, so two
// groups), and its greedy answers are those of a plain generation that
// processes each prompt itself. Its scores, computed in two parts with the
// prompt's logits skipped except at an earlier assistant turn (the fourth
// example has one), match the worker's single-pass perplexity.
func TestEvaluateSharesPrefill(t *testing.T) {
	e := newEngine(t)
	model := smolLM2Dir(t)
	const system = "You are a security assistant. Answer briefly."
	convs := [][2]string{
		{"What is SQL injection?", "SQL injection is untrusted input run as part of a database query."},
		{"Explain cross-site scripting in one sentence, with an example of a vulnerable template.", "Cross-site scripting runs attacker script in a victim's browser."},
		{"What is CWE-798?", "Hard-coded credentials."},
	}
	conversations := make([][]chat.Message, len(convs))
	for i, c := range convs {
		conversations[i] = []chat.Message{{Role: "system", Content: system}, {Role: "user", Content: c[0]}, {Role: "assistant", Content: c[1]}}
	}
	conversations = append(conversations, append(slices.Clone(conversations[2]),
		chat.Message{Role: "user", Content: "And how do I fix it?"},
		chat.Message{Role: "assistant", Content: "Read the secret from the environment or a vault, and rotate it."}))
	req := engine.EvaluateRequest{Model: model, MaxTokens: 20, MaxSeqLength: 512, BatchSize: 2}
	for _, msgs := range conversations {
		b, _ := json.Marshal(map[string]any{"messages": msgs})
		req.Examples = append(req.Examples, b)
	}
	items := make([]engine.EvaluateItem, len(conversations))
	sum, err := e.Evaluate(context.Background(), req, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SharedPrefill != len(conversations) || sum.Items != len(conversations) {
		t.Errorf("shared prefill %d, items %d; want %d and %d", sum.SharedPrefill, sum.Items, len(conversations), len(conversations))
	}
	for i, msgs := range conversations {
		p, err := e.Perplexity(context.Background(), engine.PerplexityRequest{Model: model, Examples: req.Examples[i : i+1], MaxSeqLength: 512}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := items[i].NLL / float64(items[i].LossTokens); items[i].LossTokens != p.Tokens || math.Abs(got-p.Loss) > 1e-4*p.Loss {
			t.Errorf("example %d: evaluate scored %d tokens at %.6f, the worker's perplexity %d at %.6f",
				i, items[i].LossTokens, got, p.Tokens, p.Loss)
		}
		g, err := e.Generate(context.Background(), engine.GenerateRequest{Model: model, MaxTokens: 20, Messages: msgs[:len(msgs)-1]})
		if err != nil {
			t.Fatal(err)
		}
		if items[i].Text != g.Text {
			t.Errorf("example %d: evaluate answered %q, a plain generation %q", i, items[i].Text, g.Text)
		}
	}
}
