package engine_test

import (
	"encoding/json"
	"testing"

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
	evaluate.Grounds = []string{"What is CWE-798?\nCWE-798"}
	evaluate.Grounding = engine.GroundingObserve

	answer := engine.AnswerRequest{Model: "m", Examples: []json.RawMessage{example}, MaxTokens: 384, BatchSize: 48}
	answer.RepeatStop = stop
	answer.Grounds = []string{"What is CWE-798?\nCWE-798"}
	answer.Grounding = engine.GroundingEnforce

	for _, c := range []struct {
		name string
		req  any
		want string
	}{
		{"evaluate, every field", evaluate,
			`{"model":"m","examples":[{"messages":[{"role":"user","content":"What is CWE-798?"},{"role":"assistant","content":"Hard-coded credentials."}]}],"max_tokens":512,"max_seq_length":2048,"batch_size":32,"repeat_stop":{"max_period":256,"min_repeats":3,"min_tokens":48},"grounds":["What is CWE-798?\nCWE-798"],"grounding":"observe","skip_scoring":true}`},
		{"evaluate, optional fields unset", engine.EvaluateRequest{Model: "m", MaxTokens: 8, BatchSize: 1},
			`{"model":"m","examples":null,"max_tokens":8,"max_seq_length":0,"batch_size":1}`},
		{"answer, every field", answer,
			`{"model":"m","examples":[{"messages":[{"role":"user","content":"What is CWE-798?"},{"role":"assistant","content":"Hard-coded credentials."}]}],"max_tokens":384,"batch_size":48,"repeat_stop":{"max_period":256,"min_repeats":3,"min_tokens":48},"grounds":["What is CWE-798?\nCWE-798"],"grounding":"enforce"}`},
		{"answer, optional fields unset", engine.AnswerRequest{Model: "m", MaxTokens: 8, BatchSize: 1},
			`{"model":"m","examples":null,"max_tokens":8,"batch_size":1}`},
	} {
		b, err := json.Marshal(c.req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(b) != c.want {
			t.Errorf("%s: marshalled\n%s\nwant\n%s", c.name, b, c.want)
		}
	}
}
