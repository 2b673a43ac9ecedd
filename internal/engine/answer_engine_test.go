package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
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

// TestWorkersAnswerAsOneProcessDoes: split over two worker processes, the
// evaluate and answer ops give every example the answer, grounding report
// and loss one process gives, under the example's own index, with the
// summaries' counts summed and the loss token-weighted; each worker keeps
// its own log.
func TestWorkersAnswerAsOneProcessDoes(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	users := []string{"CWE-798 in config.py line 3: upgrade requests 2.31.0", "What is CVE-2024-12801?", "CWE-798 in config.py line 3: upgrade requests 2.31.0", "Explain cross-site scripting in app/views.py."}
	var examples []json.RawMessage
	var grounds []string
	for _, u := range users {
		examples = append(examples, chatExample(
			chat.Message{Role: chat.System, Content: "You are a security assistant."}, chat.Message{Role: chat.User, Content: u},
			chat.Message{Role: chat.Assistant, Content: "Upgrade requests to 2.31.0."}))
		grounds = append(grounds, u)
	}
	const maxTokens = 64
	observe := engine.Decoding{Grounds: grounds, Grounding: engine.GroundingObserve}
	evaluate := func(workers int) ([]engine.EvaluateItem, *engine.EvaluateSummary) {
		e.Workers = workers
		items := make([]engine.EvaluateItem, len(examples))
		sum, err := e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, Examples: examples, MaxTokens: maxTokens, MaxSeqLength: 512, BatchSize: 4,
			Decoding: observe}, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
		if err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		return items, sum
	}
	answer := func(workers int) ([]engine.EvaluateItem, *engine.AnswerSummary) {
		e.Workers = workers
		items := make([]engine.EvaluateItem, len(examples))
		sum, err := e.Answer(context.Background(), engine.AnswerRequest{Model: model, Examples: examples, MaxTokens: maxTokens, BatchSize: 4,
			Decoding: engine.Decoding{Grounds: grounds, Grounding: engine.GroundingEnforce}}, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
		if err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		return items, sum
	}
	one, oneSum := evaluate(1)
	two, twoSum := evaluate(2)
	for i := range examples {
		if one[i].Text != two[i].Text || one[i].LossTokens != two[i].LossTokens || math.Abs(one[i].NLL-two[i].NLL) > 1e-3*max(1, one[i].NLL) ||
			fmt.Sprint(one[i].Grounding) != fmt.Sprint(two[i].Grounding) {
			t.Errorf("evaluate, example %d: two workers %q (nll %g, %+v), one %q (nll %g, %+v)", i, two[i].Text, two[i].NLL, two[i].Grounding, one[i].Text, one[i].NLL, one[i].Grounding)
		}
	}
	if twoSum.Items != oneSum.Items || twoSum.LossTokens != oneSum.LossTokens || twoSum.GenerationTokens != oneSum.GenerationTokens ||
		oneSum.Loss == nil || twoSum.Loss == nil || math.Abs(*oneSum.Loss-*twoSum.Loss) > 1e-4 {
		t.Errorf("evaluate summaries: two workers %+v, one %+v", *twoSum, *oneSum)
	}
	aOne, aOneSum := answer(1)
	aTwo, aTwoSum := answer(2)
	for i := range examples {
		if aOne[i].Text != aTwo[i].Text || aOne[i].GenerationTokens != aTwo[i].GenerationTokens {
			t.Errorf("answer, example %d: two workers %q, one %q", i, aTwo[i].Text, aOne[i].Text)
		}
	}
	// The repeated prompt stays in one worker and is answered once.
	if aTwoSum.Items != 4 || aTwoSum.UniquePrompts != 3 || aOneSum.UniquePrompts != 3 || aTwoSum.GenerationTokens != aOneSum.GenerationTokens {
		t.Errorf("answer summaries: two workers %+v, one %+v", *aTwoSum, *aOneSum)
	}
	logs, _ := filepath.Glob(filepath.Join(e.LogDir, "*of2-*.log"))
	for _, want := range []string{"evaluate-1of2", "evaluate-2of2", "answer-1of2", "answer-2of2"} {
		found := false
		for _, l := range logs {
			found = found || strings.HasPrefix(filepath.Base(l), want+"-")
		}
		if !found {
			t.Errorf("no log of worker %s among %v", want, logs)
		}
	}
}

// TestAnswerLoopGuardAsEvaluationDoes: with a loop guard, the answer op
// steers and gives up exactly where evaluation does, and says so per answer.
func TestAnswerLoopGuardAsEvaluationDoes(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	var examples []json.RawMessage
	for _, u := range []string{"What is SQL injection?", "Explain cross-site scripting.", "CWE-798 in config.py line 3"} {
		examples = append(examples, chatExample(chat.Message{Role: chat.User, Content: u}, chat.Message{Role: chat.Assistant}))
	}
	dec := engine.Decoding{LoopGuard: &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 16, MinRepeats: 3, MinTokens: 8}, MaxBans: 3}}
	const maxTokens = 96
	want := make([]engine.EvaluateItem, len(examples))
	if _, err := e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, Examples: examples, MaxTokens: maxTokens, MaxSeqLength: 512, BatchSize: 2, Decoding: dec},
		func(it engine.EvaluateItem) { want[it.Index] = it }, nil); err != nil {
		t.Fatal(err)
	}
	got := make([]engine.EvaluateItem, len(examples))
	if _, err := e.Answer(context.Background(), engine.AnswerRequest{Model: model, Examples: examples, MaxTokens: maxTokens, BatchSize: 3, Decoding: dec},
		func(it engine.EvaluateItem) { got[it.Index] = it }, nil); err != nil {
		t.Fatal(err)
	}
	gaveUp := 0
	for i := range examples {
		g, w := got[i], want[i]
		if g.LoopGuard == nil || w.LoopGuard == nil {
			t.Fatalf("example %d: loop guard stats %v (answer), %v (evaluate)", i, g.LoopGuard, w.LoopGuard)
		}
		if g.Text != w.Text || g.FinishReason != w.FinishReason || g.LoopGuard.Bans != w.LoopGuard.Bans || g.LoopGuard.GaveUp != w.LoopGuard.GaveUp {
			t.Errorf("example %d: answered %q (%s, %+v), evaluation %q (%s, %+v)", i, g.Text, g.FinishReason, *g.LoopGuard, w.Text, w.FinishReason, *w.LoopGuard)
		}
		if w.LoopGuard.GaveUp {
			gaveUp++
			if w.FinishReason != "repetition" || w.LoopGuard.Bans != 3 {
				t.Errorf("example %d: the guard gave up after %d bans, finish %q; want 3 and repetition", i, w.LoopGuard.Bans, w.FinishReason)
			}
		}
	}
	if gaveUp == 0 {
		t.Errorf("the guard gave up on no answer of the looping tiny model: %+v", want)
	}
}
