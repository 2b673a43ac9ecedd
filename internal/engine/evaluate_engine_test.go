package engine_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

// TestEvaluateSharesPrefill: evaluate answers from the KV cache its scoring
// pass left behind, in groups of one batch (three examples, batch 2, so two
// groups), and its greedy answers are those of a plain generation that
// processes each prompt itself.
func TestEvaluateSharesPrefill(t *testing.T) {
	e := newEngine(t)
	model := smolLM2Dir(t)
	const system = "You are a security assistant. Answer briefly."
	convs := [][2]string{
		{"What is SQL injection?", "SQL injection is untrusted input run as part of a database query."},
		{"Explain cross-site scripting in one sentence, with an example of a vulnerable template.", "Cross-site scripting runs attacker script in a victim's browser."},
		{"What is CWE-798?", "Hard-coded credentials."},
	}
	req := engine.EvaluateRequest{Model: model, MaxTokens: 20, MaxSeqLength: 512, BatchSize: 2}
	for _, c := range convs {
		b, _ := json.Marshal(map[string]any{"messages": []engine.Message{
			{Role: "system", Content: system}, {Role: "user", Content: c[0]}, {Role: "assistant", Content: c[1]},
		}})
		req.Examples = append(req.Examples, b)
	}
	items := make([]engine.EvaluateItem, len(convs))
	sum, err := e.Evaluate(context.Background(), req, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SharedPrefill != len(convs) || sum.Items != len(convs) {
		t.Errorf("shared prefill %d, items %d; want %d and %d", sum.SharedPrefill, sum.Items, len(convs), len(convs))
	}
	for i, c := range convs {
		if items[i].LossTokens == 0 || items[i].NLL <= 0 {
			t.Errorf("example %d not scored: %+v", i, items[i])
		}
		g, err := e.Generate(context.Background(), engine.GenerateRequest{Model: model, MaxTokens: 20,
			Messages: []engine.Message{{Role: "system", Content: system}, {Role: "user", Content: c[0]}}})
		if err != nil {
			t.Fatal(err)
		}
		if items[i].Text != g.Text {
			t.Errorf("example %d: evaluate answered %q, a plain generation %q", i, items[i].Text, g.Text)
		}
	}
}
