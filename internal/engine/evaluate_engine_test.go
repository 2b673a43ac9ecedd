package engine_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
)

// TestEvaluateSharesPrefill: evaluate answers from the KV cache its scoring
// pass left behind, in one continuous batch (four examples, batch 2, so the
// last two join as the first finish), and its greedy answers are those of
// a plain generation that processes each prompt itself. Its scores,
// computed in two parts with the prompt's logits skipped except at an
// earlier assistant turn (the fourth example has one), match the worker's
// single-pass perplexity. Without scoring it gives the same answers and
// no loss.
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
		req.Examples = append(req.Examples, chatExample(msgs...))
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

	req.SkipScoring = true
	unscored := make([]engine.EvaluateItem, len(conversations))
	sum, err = e.Evaluate(context.Background(), req, func(it engine.EvaluateItem) { unscored[it.Index] = it }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Loss != nil || sum.LossTokens != 0 || sum.SharedPrefill != 0 || sum.Items != len(conversations) {
		t.Errorf("without scoring: loss %v over %d tokens, shared prefill %d, items %d; want none, 0, 0 and %d",
			sum.Loss, sum.LossTokens, sum.SharedPrefill, sum.Items, len(conversations))
	}
	for i := range conversations {
		if unscored[i].Text != items[i].Text || unscored[i].LossTokens != 0 {
			t.Errorf("example %d without scoring: %q over %d loss tokens; scored: %q", i, unscored[i].Text, unscored[i].LossTokens, items[i].Text)
		}
	}
}

// TestEvaluateRepeatStop: with a repeat stop, the evaluate op ends an
// answer whose tail repeats a cycle ("repetition") where the same greedy
// decoding without it goes on to the bound; what it kept is the start of
// that longer answer. The tiny random model loops within a few tokens.
func TestEvaluateRepeatStop(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	req := engine.EvaluateRequest{Model: model, MaxTokens: 96, MaxSeqLength: 256, BatchSize: 2} // two groups: a stopped batch is followed by another
	for _, q := range []string{"What is SQL injection?", "Fix CWE-798.", "Upgrade lodash to 4.17.21."} {
		req.Examples = append(req.Examples, chatExample(chat.Message{Role: chat.User, Content: q}, chat.Message{Role: chat.Assistant, Content: "An answer."}))
	}
	answers := func(stop *engine.RepeatStop) ([]engine.EvaluateItem, *engine.EvaluateSummary) {
		t.Helper()
		req.RepeatStop = stop
		items := make([]engine.EvaluateItem, len(req.Examples))
		sum, err := e.Evaluate(context.Background(), req, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
		if err != nil {
			t.Fatal(err)
		}
		return items, sum
	}
	free, _ := answers(nil)
	stopped, sum := answers(&engine.RepeatStop{MaxPeriod: 16, MinRepeats: 3, MinTokens: 12})
	n := 0
	for i, it := range stopped {
		switch it.FinishReason {
		case "repetition":
			n++
			if it.GenerationTokens < 12 || it.GenerationTokens >= free[i].GenerationTokens || !strings.HasPrefix(free[i].Text, it.Text) {
				t.Errorf("example %d: stopped after %d tokens at %q; without the stop %d tokens, %q", i, it.GenerationTokens, it.Text, free[i].GenerationTokens, free[i].Text)
			}
		default:
			if it.Text != free[i].Text || it.FinishReason != free[i].FinishReason {
				t.Errorf("example %d: not stopped, yet %q (%s) differs from %q (%s)", i, it.Text, it.FinishReason, free[i].Text, free[i].FinishReason)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no answer stopped for repetition; free answers: %+v", free)
	}
	t.Logf("%d of %d answers stopped for repetition; the check took %.6f s of %.3f s decoding", n, len(stopped), sum.RepeatCheckSeconds, sum.GenerateSeconds)
	if sum.RepeatCheckSeconds <= 0 || sum.RepeatCheckSeconds >= sum.GenerateSeconds {
		t.Errorf("repeat check took %.6f s of %.6f s decoding", sum.RepeatCheckSeconds, sum.GenerateSeconds)
	}
	if _, err := e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, MaxTokens: 8, BatchSize: 1, Decoding: engine.Decoding{RepeatStop: &engine.RepeatStop{MaxPeriod: 4, MinRepeats: 1, MinTokens: 4}}}, nil, nil); err == nil || !strings.Contains(err.Error(), "min repeats") {
		t.Errorf("a stop of one repeat: err = %v, want one naming min repeats", err)
	}
}

// TestEvaluateLoopGuard: with a loop guard earlier than the repeat stop,
// the evaluate op masks the token that would complete a cycle, so the stop
// never fires; an answer the guard banned nothing in is the unguarded
// answer, and one it steered says where it first did. The tiny random
// model loops within a few tokens.
func TestEvaluateLoopGuard(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	stop := &engine.RepeatStop{MaxPeriod: 16, MinRepeats: 3, MinTokens: 12}
	req := engine.EvaluateRequest{Model: model, MaxTokens: 64, MaxSeqLength: 256, BatchSize: 2, Decoding: engine.Decoding{RepeatStop: stop}}
	for _, q := range []string{"What is SQL injection?", "Fix CWE-798.", "Upgrade lodash to 4.17.21."} {
		req.Examples = append(req.Examples, chatExample(chat.Message{Role: chat.User, Content: q}, chat.Message{Role: chat.Assistant, Content: "An answer."}))
	}
	answers := func(guard *engine.LoopGuard) []engine.EvaluateItem {
		t.Helper()
		req.LoopGuard = guard
		items := make([]engine.EvaluateItem, len(req.Examples))
		if _, err := e.Evaluate(context.Background(), req, func(it engine.EvaluateItem) { items[it.Index] = it }, nil); err != nil {
			t.Fatal(err)
		}
		return items
	}
	free := answers(nil)
	guarded := answers(&engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 16, MinRepeats: 3, MinTokens: 8}})
	steered := 0
	for i, it := range guarded {
		if free[i].LoopGuard != nil {
			t.Errorf("example %d: loop guard stats %+v without a guard", i, free[i].LoopGuard)
		}
		g := it.LoopGuard
		if g == nil {
			t.Fatalf("example %d: no loop guard stats", i)
		}
		if it.FinishReason == "repetition" {
			t.Errorf("example %d: stopped for repetition under a guard earlier than the stop: %q", i, it.Text)
		}
		if g.Bans == 0 {
			if g.FirstBan != nil || it.Text != free[i].Text {
				t.Errorf("example %d: no ban, first ban %v, yet %q differs from the unguarded %q", i, g.FirstBan, it.Text, free[i].Text)
			}
			continue
		}
		steered++
		if g.FirstBan == nil || *g.FirstBan < 7 || *g.FirstBan >= it.GenerationTokens {
			t.Errorf("example %d: %d bans, first at %v of %d tokens", i, g.Bans, g.FirstBan, it.GenerationTokens)
		}
	}
	if steered == 0 {
		t.Fatalf("the guard steered no answer; unguarded: %+v", free)
	}
	t.Logf("%d of %d answers steered", steered, len(guarded))
}
