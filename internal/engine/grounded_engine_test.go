package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// TestEvaluateGroundedDecoding: grounded decoding's hook in the evaluate op
// on the tiny random model (checkGrounded), whose degenerate answers name
// no identifier: the processor must leave every answer as it was.
func TestEvaluateGroundedDecoding(t *testing.T) {
	e := newEngine(t)
	if n := checkGrounded(t, e, tinyModelDir(t, e, "llama"), 96); n != 0 {
		t.Errorf("grounded decoding intervened %d times in answers that name nothing", n)
	}
}

// TestSmolLM2GroundedDecoding: the bundled base model, asked about
// vulnerabilities, names versions, CVE ids and URLs its prompts lack;
// grounded decoding replaces them (checkGrounded).
func TestSmolLM2GroundedDecoding(t *testing.T) {
	e := newEngine(t)
	if n := checkGrounded(t, e, smolLM2Dir(t), 48); n == 0 {
		t.Error("grounded decoding never intervened: the prompts should draw identifiers the ground lacks")
	}
}

// groundedPrompts name some identifiers and invite others.
var groundedPrompts = []string{
	"Which version of OpenSSL fixed Heartbleed, and what is its CVE id?",
	"Upgrade org.example:lib from 1.3.5 to 1.3.14 in web/build.gradle (CWE-352). Show the Gradle line.",
	"CVE-2021-44228 in log4j-core 2.14.1; fixed in 2.17.1. Give the Maven snippet and a link to the advisory.",
	"What is SQL injection? Name its CWE id.",
}

// checkGrounded runs the evaluate op three ways on groundedPrompts: free,
// observing grounded decoding, and enforcing it. Observing never changes
// an answer; an answer the observer saw no reason to touch is, under
// grounded decoding, the free answer token for token (what lets evaluation
// generate again only the others); and every grounded answer has no
// ungrounded identifier by evaluation's own measure. Enforcing again,
// resumed at the observed first interventions (the observing pass's
// prefix ids, as evaluation's regeneration runs it), gives the answers
// from scratch. The free answers' token ids, replayed by the observe op,
// report what observing while decoding reported. It returns how many
// tokens grounded decoding replaced.
func checkGrounded(t *testing.T, e *engine.Engine, model string, maxTokens int) int {
	t.Helper()
	prompts := groundedPrompts
	req := engine.EvaluateRequest{Model: model, MaxTokens: maxTokens, MaxSeqLength: 512, BatchSize: len(prompts)}
	for _, p := range prompts {
		req.Examples = append(req.Examples, chatExample(chat.Message{Role: chat.User, Content: p}, chat.Message{Role: chat.Assistant, Content: "ok"}))
		req.Grounds = append(req.Grounds, evaluate.Ground(p, dataset.Facts{}))
	}
	run := func(mode string) []engine.EvaluateItem {
		t.Helper()
		r := req
		if r.Grounding = mode; mode == "" {
			r.Grounds, r.ReturnIDs = nil, true
		}
		items := make([]engine.EvaluateItem, len(prompts))
		if _, err := e.Evaluate(context.Background(), r, func(it engine.EvaluateItem) { items[it.Index] = it }, nil); err != nil {
			t.Fatalf("%q: %v", mode, err)
		}
		return items
	}
	free, observed, grounded := run(""), run(engine.GroundingObserve), run(engine.GroundingEnforce)
	resumedReq := req
	resumedReq.Grounding, resumedReq.SkipScoring = engine.GroundingEnforce, true
	for _, it := range observed {
		resumedReq.Prefixes = append(resumedReq.Prefixes, append([]int{}, it.PrefixIDs...))
	}
	resumed := make([]engine.EvaluateItem, len(prompts))
	if _, err := e.Evaluate(context.Background(), resumedReq, func(it engine.EvaluateItem) { resumed[it.Index] = it }, nil); err != nil {
		t.Fatalf("resumed: %v", err)
	}
	oreq := engine.ObserveRequest{Model: model, MaxTokens: maxTokens, Grounds: req.Grounds}
	for _, it := range free {
		oreq.Answers = append(oreq.Answers, engine.ObservedAnswer{IDs: it.IDs, FinishReason: it.FinishReason})
	}
	replayed, err := e.Observe(context.Background(), oreq, nil)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	interventions := 0
	for i, p := range prompts {
		if len(free[i].IDs) != free[i].GenerationTokens || observed[i].IDs != nil {
			t.Errorf("example %d: %d ids for %d tokens (asked), %d ids observing (not asked)", i, len(free[i].IDs), free[i].GenerationTokens, len(observed[i].IDs))
		}
		if o := replayed[i]; !reflect.DeepEqual(o.Grounding, observed[i].Grounding) || !reflect.DeepEqual(o.PrefixIDs, observed[i].PrefixIDs) {
			t.Errorf("example %d: replayed %+v after %d tokens, observing reported %+v after %d", i, *o.Grounding, len(o.PrefixIDs), *observed[i].Grounding, len(observed[i].PrefixIDs))
		}
		if observed[i].Text != free[i].Text {
			t.Errorf("example %d: observing changed the answer:\nfree     %q\nobserved %q", i, free[i].Text, observed[i].Text)
		}
		if free[i].Grounding != nil || observed[i].Grounding == nil || grounded[i].Grounding == nil {
			t.Fatalf("example %d: grounding reports free %v, observed %v, grounded %v; want none, one, one", i, free[i].Grounding, observed[i].Grounding, grounded[i].Grounding)
		}
		if observed[i].Grounding.FirstIntervention == nil && grounded[i].Text != free[i].Text {
			t.Errorf("example %d: no intervention observed, yet grounded decoding answered otherwise:\nfree     %q\ngrounded %q", i, free[i].Text, grounded[i].Text)
		}
		if (observed[i].Grounding.FirstIntervention == nil) != (grounded[i].Grounding.Interventions == 0) {
			t.Errorf("example %d: observed first intervention %v, grounded decoding intervened %d times", i, observed[i].Grounding.FirstIntervention, grounded[i].Grounding.Interventions)
		}
		if fi := observed[i].Grounding.FirstIntervention; (fi == nil) != (observed[i].PrefixIDs == nil) || fi != nil && len(observed[i].PrefixIDs) != *fi {
			t.Errorf("example %d: first intervention %v, prefix of %d tokens", i, fi, len(observed[i].PrefixIDs))
		}
		if r, g := resumed[i], grounded[i]; r.Text != g.Text || r.GenerationTokens != g.GenerationTokens || r.FinishReason != g.FinishReason || !reflect.DeepEqual(r.Grounding, g.Grounding) {
			t.Errorf("example %d: resumed after %d tokens, grounded decoding answered otherwise than from scratch:\nscratch %q (%+v)\nresumed %q (%+v)",
				i, len(observed[i].PrefixIDs), g.Text, *g.Grounding, r.Text, *r.Grounding)
		}
		checkJudged(t, fmt.Sprintf("example %d observed", i), observed[i], false)
		checkJudged(t, fmt.Sprintf("example %d grounded", i), grounded[i], true)
		interventions += grounded[i].Grounding.Interventions
		if s := evaluate.ScoreAnswer(grounded[i].Text, grounded[i].FinishReason, p, dataset.Facts{}); len(s.Ungrounded) > 0 {
			t.Errorf("example %d: grounded answer %q names %q", i, grounded[i].Text, s.Ungrounded)
		}
		if s := evaluate.ScoreAnswer(free[i].Text, free[i].FinishReason, p, dataset.Facts{}); len(s.Ungrounded) > 0 {
			t.Logf("example %d: the free answer names %q", i, s.Ungrounded)
		}
	}
	// The generate op (`vulntune generate --grounded`) decodes the same way.
	for i, p := range prompts[:2] {
		gr := engine.GenerateRequest{Model: model, Prompt: p, MaxTokens: maxTokens}
		plain, err := e.Generate(context.Background(), gr)
		if err != nil {
			t.Fatal(err)
		}
		gr.Grounded = true
		g, err := e.Generate(context.Background(), gr)
		if err != nil {
			t.Fatal(err)
		}
		if g.Grounding == nil || plain.Grounding != nil {
			t.Fatalf("generate %d: grounding reports %v (grounded) and %v (plain); want one and none", i, g.Grounding, plain.Grounding)
		}
		if g.Grounding.Interventions == 0 && g.Text != plain.Text {
			t.Errorf("generate %d: grounded decoding never intervened, yet answered otherwise:\nplain    %q\ngrounded %q", i, plain.Text, g.Text)
		}
		if s := evaluate.ScoreAnswer(g.Text, g.FinishReason, p, dataset.Facts{}); len(s.Ungrounded) > 0 {
			t.Errorf("generate %d: grounded answer %q names %q", i, g.Text, s.Ungrounded)
		}
		// generate's token count includes the end of sequence.
		if g.Grounding.Steps != g.GenerationTokens {
			t.Errorf("generate %d: grounded decoding judged %d steps of an answer of %d tokens", i, g.Grounding.Steps, g.GenerationTokens)
		}
		interventions += g.Grounding.Interventions
	}
	t.Logf("grounded decoding intervened %d times in %d answers", interventions, len(prompts)+2)
	return interventions
}

// judgedTokens is how many of an answer's tokens grounded decoding
// judged: those the op reports, and the end of sequence that stopped it.
func judgedTokens(it engine.EvaluateItem) int {
	if it.FinishReason == "stop" {
		return it.GenerationTokens + 1
	}
	return it.GenerationTokens
}

// checkJudged: the grounding report counts no step past the answer (mlx-lm
// runs the processor once past an answer's last token, for a token it
// never emits), so no first intervention lies beyond it; enforcing, the
// processor judged every token of it.
func checkJudged(t *testing.T, label string, it engine.EvaluateItem, enforce bool) {
	t.Helper()
	g, n := it.Grounding, judgedTokens(it)
	if g.FirstIntervention != nil && *g.FirstIntervention >= n {
		t.Errorf("%s: first intervention at token %d of an answer of %d (%s)", label, *g.FirstIntervention, n, it.FinishReason)
	}
	if g.Steps > n || (enforce && g.Steps != n) {
		t.Errorf("%s: %d steps judged in an answer of %d tokens (%s)", label, g.Steps, n, it.FinishReason)
	}
}

// TestGroundedReportsEndWithTheAnswer: on the tiny random model, whose
// answers run to max_tokens, stop, or loop until the repetition stop cuts
// them, the evaluate and answer ops' grounding reports, observing and
// enforcing, count no step past the answer each op reports (checkJudged):
// not mlx-lm's look-ahead after an end of sequence or the max_tokens-th
// token, nor the one after a loop's last kept token, nor, in answer, the
// repeated span it cuts.
func TestGroundedReportsEndWithTheAnswer(t *testing.T) {
	e := newEngine(t)
	model := tinyModelDir(t, e, "llama")
	users := []string{"What is SQL injection?", "Explain cross-site scripting.", "CWE-798 in config.py line 3: upgrade requests 2.31.0",
		"What is CVE-2024-12801?", "Fix web/build.gradle: org.example:lib 1.3.5 to 1.3.14."}
	var examples []json.RawMessage
	var grounds []string
	for _, u := range users {
		examples = append(examples, chatExample(
			chat.Message{Role: "system", Content: "You are a security assistant."}, chat.Message{Role: "user", Content: u}, chat.Message{Role: "assistant", Content: ""}))
		grounds = append(grounds, "You are a security assistant.\n"+u)
	}
	stop := &engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 24}
	reasons := map[string]int{}
	for _, mode := range []string{engine.GroundingObserve, engine.GroundingEnforce} {
		for _, op := range []string{"evaluate", "answer"} {
			items := make([]engine.EvaluateItem, len(examples))
			var err error
			if op == "evaluate" {
				_, err = e.Evaluate(context.Background(), engine.EvaluateRequest{Model: model, Examples: examples, MaxTokens: 96, MaxSeqLength: 512,
					BatchSize: 3, Decoding: engine.Decoding{RepeatStop: stop, Grounds: grounds, Grounding: mode}}, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
			} else {
				_, err = e.Answer(context.Background(), engine.AnswerRequest{Model: model, Examples: examples, MaxTokens: 96,
					BatchSize: 3, Decoding: engine.Decoding{RepeatStop: stop, Grounds: grounds, Grounding: mode}}, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
			}
			if err != nil {
				t.Fatalf("%s %s: %v", op, mode, err)
			}
			for i, it := range items {
				if it.Grounding == nil {
					t.Fatalf("%s %s, example %d: no grounding report", op, mode, i)
				}
				checkJudged(t, fmt.Sprintf("%s %s, example %d", op, mode, i), it, mode == engine.GroundingEnforce)
				reasons[it.FinishReason]++
			}
		}
	}
	t.Logf("finish reasons: %v", reasons)
}
