package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
)

// TestRequestJSON pins the JSON of the evaluate and answer ops' requests:
// evaluation hashes its request into the answer cache's keys
// (evaluate.cacheKey), so a change to a field's name, order or omission
// orphans every cached answer. The decoding fields are set by assignment,
// which compiles whether a request declares them or embeds them.
func TestRequestJSON(t *testing.T) {
	example := json.RawMessage(`{"messages":[{"role":"user","content":"What is CWE-798?"},{"role":"assistant","content":"Hard-coded credentials."}]}`)
	stop := &engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 48}

	evaluate := engine.EvaluateRequest{Model: "m", Examples: []json.RawMessage{example}, MaxTokens: 512, MaxSeqLength: 2048, BatchSize: 32, SkipScoring: true}
	evaluate.RepeatStop = stop
	evaluate.LoopGuard = &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 16}, MaxBans: 12}
	evaluate.Grounds = []string{"What is CWE-798?\nCWE-798"}
	evaluate.Grounding = engine.GroundingObserve
	evaluate.Prefixes = [][]int{{12, 7}}

	answer := engine.AnswerRequest{Model: "m", Examples: []json.RawMessage{example}, MaxTokens: 384, BatchSize: 48}
	answer.RepeatStop = stop
	answer.Grounds = []string{"What is CWE-798?\nCWE-798"}
	answer.Grounding = engine.GroundingEnforce

	tests := []struct {
		name string
		req  any
		want string
	}{
		{"evaluate, every field", evaluate,
			`{"model":"m","examples":[{"messages":[{"role":"user","content":"What is CWE-798?"},{"role":"assistant","content":"Hard-coded credentials."}]}],"max_tokens":512,"max_seq_length":2048,"batch_size":32,"repeat_stop":{"max_period":256,"min_repeats":3,"min_tokens":48},"loop_guard":{"max_period":256,"min_repeats":3,"min_tokens":16,"max_bans":12},"grounds":["What is CWE-798?\nCWE-798"],"grounding":"observe","skip_scoring":true,"prefixes":[[12,7]]}`},
		{"evaluate, optional fields unset", engine.EvaluateRequest{Model: "m", MaxTokens: 8, BatchSize: 1},
			`{"model":"m","examples":null,"max_tokens":8,"max_seq_length":0,"batch_size":1}`},
		{"answer, every field", answer,
			`{"model":"m","examples":[{"messages":[{"role":"user","content":"What is CWE-798?"},{"role":"assistant","content":"Hard-coded credentials."}]}],"max_tokens":384,"batch_size":48,"repeat_stop":{"max_period":256,"min_repeats":3,"min_tokens":48},"grounds":["What is CWE-798?\nCWE-798"],"grounding":"enforce"}`},
		{"answer, optional fields unset", engine.AnswerRequest{Model: "m", MaxTokens: 8, BatchSize: 1},
			`{"model":"m","examples":null,"max_tokens":8,"batch_size":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("marshalled\n%s\nwant\n%s", b, tt.want)
			}
		})
	}
}

// TestRequestValidation: the evaluate and answer ops refuse, with one
// check (Decoding's), what their engine code would refuse only after
// loading the model. Nothing starts: the zero Engine has no interpreter.
func TestRequestValidation(t *testing.T) {
	ctx := context.Background()
	ops := map[string]func(d engine.Decoding, maxTokens, batch int, examples []json.RawMessage) error{
		"evaluate": func(d engine.Decoding, maxTokens, batch int, examples []json.RawMessage) error {
			_, err := new(engine.Engine).Evaluate(ctx, engine.EvaluateRequest{Model: "m", Examples: examples, MaxTokens: maxTokens, BatchSize: batch, Decoding: d}, nil, nil)
			return err
		},
		"answer": func(d engine.Decoding, maxTokens, batch int, examples []json.RawMessage) error {
			_, err := new(engine.Engine).Answer(ctx, engine.AnswerRequest{Model: "m", Examples: examples, MaxTokens: maxTokens, BatchSize: batch, Decoding: d}, nil, nil)
			return err
		},
	}
	one := []json.RawMessage{chatExample(chat.Message{Role: chat.User, Content: "What is CWE-798?"})}
	tests := []struct {
		name             string
		d                engine.Decoding
		maxTokens, batch int
		wantErr          string
	}{
		{"no tokens", engine.Decoding{}, 0, 1, "max_tokens and batch_size must be positive, got 0 and 1"},
		{"no batch", engine.Decoding{}, 8, 0, "max_tokens and batch_size must be positive, got 8 and 0"},
		{"a stop of one repeat", engine.Decoding{RepeatStop: &engine.RepeatStop{MaxPeriod: 4, MinRepeats: 1, MinTokens: 4}}, 8, 1, "min repeats >= 2"},
		{"a loop guard of no period", engine.Decoding{LoopGuard: &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 0, MinRepeats: 3, MinTokens: 16}}}, 8, 1, "loop guard: repeat stop: max period >= 1"},
		{"a loop guard of negative bans", engine.Decoding{LoopGuard: &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 8, MinRepeats: 3, MinTokens: 16}, MaxBans: -1}}, 8, 1, "loop guard: max bans: want 0 or more, got -1"},
		{"a list that is no section", engine.Decoding{LoopGuard: &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 8, MinRepeats: 3, MinTokens: 16}, Sections: []string{"**Fix**"}, Lists: []string{"**Where**"}}}, 8, 1, `loop guard: list heading "**Where**": want one of the section headings`},
		{"a line span of one token", engine.Decoding{LoopGuard: &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 8, MinRepeats: 3, MinTokens: 16}, LineSpan: 1}}, 8, 1, "loop guard: line span: want 0 or 2 or more tokens, got 1"},
		{"grounds for other examples", engine.Decoding{Grounds: []string{"a", "b"}, Grounding: engine.GroundingEnforce}, 8, 1, "2 grounds for 1 examples"},
		{"pins for other grounds", engine.Decoding{Grounds: []string{"a"}, Pins: []*engine.Pin{nil, {Installed: "1.0.0", Fixed: "1.0.1"}}}, 8, 1, "2 pins for 1 grounds"},
		{"an unknown grounding", engine.Decoding{Grounds: []string{"a"}, Grounding: "strict"}, 8, 1, `grounding "strict"`},
	}
	for _, tt := range tests {
		for op, run := range ops {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				t.Parallel()
				err := run(tt.d, tt.maxTokens, tt.batch, one)
				if err == nil || !strings.HasPrefix(err.Error(), op+": ") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q naming %q", err, op+": …", tt.wantErr)
				}
			})
		}
	}
}

// TestEvaluatePrefixValidation: the evaluate op's prefixes (grounded
// regeneration's resume points) are checked as the engine checks them,
// before a model loads: one per example, each leaving a token to decode.
func TestEvaluatePrefixValidation(t *testing.T) {
	t.Parallel()
	two := []json.RawMessage{
		chatExample(chat.Message{Role: chat.User, Content: "What is CWE-798?"}),
		chatExample(chat.Message{Role: chat.User, Content: "What is CWE-79?"}),
	}
	tests := []struct {
		name     string
		prefixes [][]int
		wantErr  string
	}{
		{"one prefix for two examples", [][]int{{1, 2}}, "evaluate: 1 prefixes for 2 examples"},
		{"three prefixes for two examples", [][]int{{1}, {}, {2}}, "evaluate: 3 prefixes for 2 examples"},
		{"a prefix as long as the bound", [][]int{{}, {1, 2, 3, 4}}, "prefix 1: 4 tokens leave none of max_tokens 4"},
		{"a negative token id", [][]int{{5, -1}, {}}, "prefix 0: token id -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := engine.EvaluateRequest{Model: "m", Examples: two, MaxTokens: 4, BatchSize: 2, Prefixes: tt.prefixes}
			_, err := new(engine.Engine).Evaluate(context.Background(), req, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestAddGround: pins stay out of a request until an example has one (its
// JSON and cache key are then those of a request without pins), and from
// then on line up with the grounds.
func TestAddGround(t *testing.T) {
	t.Parallel()
	var d engine.Decoding
	d.AddGround("a", nil)
	d.AddGround("b", nil)
	if d.Pins != nil {
		t.Fatalf("pins %v for grounds without one, want none", d.Pins)
	}
	pin := &engine.Pin{Installed: "0.4.3", Fixed: "0.6.0"}
	d.AddGround("c", pin)
	d.AddGround("d", nil)
	if len(d.Pins) != 4 || d.Pins[0] != nil || d.Pins[1] != nil || d.Pins[2] != pin || d.Pins[3] != nil {
		t.Errorf("pins %v, want [nil nil %v nil]", d.Pins, pin)
	}
	b, err := json.Marshal(engine.Decoding{Grounds: []string{"a"}})
	if err != nil || strings.Contains(string(b), "pins") {
		t.Errorf("a request without pins marshals as %s (%v)", b, err)
	}
}

// TestObserveValidation: the observe op refuses, before it loads a
// tokenizer, a request it could only answer wrongly. A zero bound would
// replay no token and report every answer as observed untouched.
func TestObserveValidation(t *testing.T) {
	t.Parallel()
	one := []engine.ObservedAnswer{{IDs: []int{5, 6}, FinishReason: "stop"}}
	tests := []struct {
		name    string
		req     engine.ObserveRequest
		wantErr string
	}{
		{"no tokens", engine.ObserveRequest{Grounds: []string{"a"}, Answers: one}, "observe: max_tokens and batch_size must be positive, got 0 and 1"},
		{"a negative bound", engine.ObserveRequest{MaxTokens: -3, Grounds: []string{"a"}, Answers: one}, "got -3 and 1"},
		{"grounds for other answers", engine.ObserveRequest{MaxTokens: 8, Grounds: []string{"a", "b"}, Answers: one}, "observe: 2 grounds for 1 examples"},
		{"no grounds", engine.ObserveRequest{MaxTokens: 8, Answers: one}, "observe: 0 grounds for 1 answers"},
		{"pins for other grounds", engine.ObserveRequest{MaxTokens: 8, Grounds: []string{"a"}, Pins: []*engine.Pin{nil, nil}, Answers: one}, "observe: 2 pins for 1 grounds"},
		{"an unknown finish", engine.ObserveRequest{MaxTokens: 8, Grounds: []string{"a"}, Answers: []engine.ObservedAnswer{{IDs: []int{5}, FinishReason: "eos"}}}, `observe: answer 0: finish reason "eos"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.req.Model = "m"
			_, err := new(engine.Engine).Observe(context.Background(), tt.req, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
