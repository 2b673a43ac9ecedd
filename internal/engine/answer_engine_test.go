package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
)

// TestAnswerAsEvaluationDoes: the answer op gives each prompt evaluation's
// greedy answer (the random tiny model, whose answers run to max_tokens or
// loop), processing the shared system prompt once and a repeated prompt
// once. With evaluation's loop check, an answer stopped in a loop is the
// start of evaluation's (stopped there too, as "repetition", or not);
// every other answer is evaluation's exactly.
func TestAnswerAsEvaluationDoes(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	system := strings.Repeat("You are a security assistant. Answer briefly and name the fixed version. ", 3)
	users := []string{"What is SQL injection?", "Explain cross-site scripting.", "What is SQL injection?", "CWE-798 in config.py line 3"}
	var examples []json.RawMessage
	for _, u := range users {
		examples = append(examples, chatExample(
			chat.Message{Role: chat.System, Content: system}, chat.Message{Role: chat.User, Content: u}, chat.Message{Role: chat.Assistant}))
	}
	const maxTokens = 160
	want := make([]engine.EvaluateItem, len(examples))
	if _, err := e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, Examples: examples, MaxTokens: maxTokens, MaxSeqLength: 512, BatchSize: 2},
		func(it engine.EvaluateItem) { want[it.Index] = it }, nil); err != nil {
		t.Fatal(err)
	}
	stop := &engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 48}
	for _, stopLoops := range []bool{false, true} {
		var repeat *engine.RepeatStop
		if stopLoops {
			repeat = stop
		}
		got := make([]engine.EvaluateItem, len(examples))
		seen := 0
		sum, err := e.Answer(context.Background(), engine.AnswerRequest{Model: model, Examples: examples, MaxTokens: maxTokens, BatchSize: 3, Decoding: engine.Decoding{RepeatStop: repeat}},
			func(it engine.EvaluateItem) { got[it.Index] = it; seen++ }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen != len(examples) || sum.Items != len(examples) || sum.UniquePrompts != 3 {
			t.Errorf("stop loops %v: %d items reported, summary %d items, %d unique prompts; want %d, %d, 3", stopLoops, seen, sum.Items, sum.UniquePrompts, len(examples), len(examples))
		}
		if sum.SharedPrefixTokens < 40 {
			t.Errorf("stop loops %v: shared prefix of %d tokens; the system prompt alone is longer", stopLoops, sum.SharedPrefixTokens)
		}
		for i := range examples {
			g, w := got[i], want[i]
			if g.PromptTokens != w.PromptTokens {
				t.Errorf("stop loops %v, example %d: %d prompt tokens, evaluation %d", stopLoops, i, g.PromptTokens, w.PromptTokens)
			}
			switch {
			case g.FinishReason == "repetition" && stopLoops:
				if !strings.HasPrefix(w.Text, g.Text) || g.GenerationTokens >= w.GenerationTokens {
					t.Errorf("example %d stopped in a loop: %q (%d tokens) is not the start of evaluation's %q (%d)", i, g.Text, g.GenerationTokens, w.Text, w.GenerationTokens)
				}
			case g.Text != w.Text || g.FinishReason != w.FinishReason || g.GenerationTokens != w.GenerationTokens:
				t.Errorf("stop loops %v, example %d: answered %q (%s, %d tokens), evaluation %q (%s, %d)", stopLoops, i,
					g.Text, g.FinishReason, g.GenerationTokens, w.Text, w.FinishReason, w.GenerationTokens)
			}
		}
		if !stopLoops && sum.Repetitions != 0 {
			t.Errorf("%d answers stopped in a loop with loop stopping off", sum.Repetitions)
		}
		t.Logf("stop loops %v: %+v", stopLoops, *sum)
	}
}

// TestAnswerGroundedAsEvaluationDoes: with grounds, the answer op decodes
// under grounded decoding exactly as evaluation's enforcing pass does, and
// reports what the processor did.
func TestAnswerGroundedAsEvaluationDoes(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	users := []string{"CWE-798 in config.py line 3: upgrade requests 2.31.0", "What is CVE-2024-12801?"}
	var examples []json.RawMessage
	var grounds []string
	for _, u := range users {
		examples = append(examples, chatExample(
			chat.Message{Role: chat.System, Content: "You are a security assistant."}, chat.Message{Role: chat.User, Content: u}, chat.Message{Role: chat.Assistant}))
		grounds = append(grounds, u)
	}
	const maxTokens = 96
	want := make([]engine.EvaluateItem, len(examples))
	grounded := engine.Decoding{Grounds: grounds, Grounding: engine.GroundingEnforce}
	if _, err := e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, Examples: examples, MaxTokens: maxTokens, MaxSeqLength: 512, BatchSize: 2,
		Decoding: grounded}, func(it engine.EvaluateItem) { want[it.Index] = it }, nil); err != nil {
		t.Fatal(err)
	}
	got := make([]engine.EvaluateItem, len(examples))
	if _, err := e.Answer(context.Background(), engine.AnswerRequest{Model: model, Examples: examples, MaxTokens: maxTokens, BatchSize: 2,
		Decoding: grounded}, func(it engine.EvaluateItem) { got[it.Index] = it }, nil); err != nil {
		t.Fatal(err)
	}
	for i := range examples {
		if got[i].Text != want[i].Text || got[i].GenerationTokens != want[i].GenerationTokens {
			t.Errorf("example %d: answered %q (%d tokens), evaluation's grounded pass %q (%d)", i, got[i].Text, got[i].GenerationTokens, want[i].Text, want[i].GenerationTokens)
		}
		if got[i].Grounding == nil || got[i].Grounding.Steps == 0 {
			t.Errorf("example %d: no grounding report (%+v)", i, got[i].Grounding)
			continue
		}
		checkJudged(t, fmt.Sprintf("example %d answered", i), got[i], true)
		checkJudged(t, fmt.Sprintf("example %d evaluated", i), want[i], true)
	}
}

// TestAnswersDoNotDependOnRetirement: finished answers leave the decoding
// batch in groups (retire.py: a batch of 12 waits for 2) and the prompts
// taking their slots join together, while a batch of 1 retires each answer
// the step it ends; both ops give the same answers either way.
func TestAnswersDoNotDependOnRetirement(t *testing.T) {
	e := newEngine(t)
	// SmolLM2: its answers to these end at different steps (6 to 31
	// tokens) or run to the bound, so rows finish apart (the random tiny
	// model's all run to the bound).
	model := smolLM2Dir(t)
	qs := []string{"What is 2+2? Answer with a number only.", "What is 12*12? Answer with a number only.", "Name the capital of France in one word.",
		"Explain cross-site scripting.", "What is 7+8? Answer with a number only.", "Is eval dangerous?", "Write the word blue.", "What does CVE-2021-44228 mean?"}
	var examples []json.RawMessage
	for i := range 16 {
		examples = append(examples, chatExample(
			chat.Message{Role: chat.User, Content: fmt.Sprintf("%s (%d)", qs[i%len(qs)], i/len(qs))},
			chat.Message{Role: chat.Assistant}))
	}
	const maxTokens = 48
	dec := engine.Decoding{RepeatStop: &engine.RepeatStop{MaxPeriod: 16, MinRepeats: 3, MinTokens: 12}}
	answer := func(batch int) ([]engine.EvaluateItem, *engine.AnswerSummary) {
		got := make([]engine.EvaluateItem, len(examples))
		sum, err := e.Answer(context.Background(), engine.AnswerRequest{Model: model, Examples: examples, MaxTokens: maxTokens, BatchSize: batch, Decoding: dec},
			func(it engine.EvaluateItem) { got[it.Index] = it }, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got, sum
	}
	evaluate := func(batch int) ([]engine.EvaluateItem, *engine.EvaluateSummary) {
		got := make([]engine.EvaluateItem, len(examples))
		sum, err := e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, Examples: examples, MaxTokens: maxTokens, MaxSeqLength: 256, BatchSize: batch, Decoding: dec},
			func(it engine.EvaluateItem) { got[it.Index] = it }, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got, sum
	}
	same := func(op string, a, b []engine.EvaluateItem) {
		lengths := map[int]bool{}
		for i := range a {
			lengths[a[i].GenerationTokens] = true
			if a[i].Text != b[i].Text || a[i].FinishReason != b[i].FinishReason || a[i].GenerationTokens != b[i].GenerationTokens {
				t.Errorf("%s, example %d: batch 12 answered %q (%s, %d tokens), batch 1 %q (%s, %d)", op, i,
					a[i].Text, a[i].FinishReason, a[i].GenerationTokens, b[i].Text, b[i].FinishReason, b[i].GenerationTokens)
			}
		}
		if len(lengths) < 3 {
			t.Errorf("%s: answers of only %d lengths; the test needs rows that finish apart", op, len(lengths))
		}
	}
	one, _ := answer(1)
	many, sum := answer(12)
	same("answer", many, one)
	if sum.Retirements == 0 || sum.Retirements >= len(examples) {
		t.Errorf("answer at batch 12: %d retirements of %d answers; want them grouped", sum.Retirements, len(examples))
	}
	eone, _ := evaluate(1)
	emany, esum := evaluate(12)
	same("evaluate", emany, eone)
	if esum.Retirements == 0 || esum.Retirements >= len(examples) {
		t.Errorf("evaluate at batch 12: %d retirements of %d answers; want them grouped", esum.Retirements, len(examples))
	}
	t.Logf("retirements: answer %d, evaluate %d", sum.Retirements, esum.Retirements)
}
