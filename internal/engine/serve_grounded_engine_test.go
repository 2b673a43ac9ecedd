package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// TestServeGrounded starts the server free and grounded on the tiny random
// model and asks both the same chat completions. The tiny model names no
// identifier by itself, so the requests steer it with mlx-lm's own
// sampling options, whatever its random weights: a logit bias makes "1"
// and "." outrank every other token ("1" first) and a presence penalty
// over the last token alone makes them alternate, so free decoding writes
// the version 1.1.1.1.1.1., which the prompt does not name. Grounded
// decoding must leave no ungrounded identifier by evaluation's rule
// (evaluate.UngroundedIdents), streamed or not, and report what it did;
// given the version as "vulntune_ground", or given a request that names
// nothing, it must answer as the free server does.
func TestServeGrounded(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "llama")
	one, dot := tinyTokenID(t, dir, "1"), tinyTokenID(t, dir, ".")
	ctx := context.Background()
	start := func(grounded bool) *engine.Server {
		t.Helper()
		// The grounded server runs the loop guard as explain does; on these
		// 12-token answers it may mask nothing (its runs need 16), so the
		// "nothing steered" answer must still be the free one.
		s, err := e.Serve(ctx, dir, engine.ServeOptions{Grounded: grounded, StartTimeout: 2 * time.Minute,
			LoopGuard: &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 16}, MaxBans: 12}})
		if err != nil {
			t.Fatalf("Serve(grounded=%v): %v", grounded, err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close(grounded=%v): %v", grounded, err)
			}
		})
		return s
	}
	free, grounded := start(false), start(true)

	const prompt = "Which version fixes it? Give its CVE id too."
	steered := map[string]any{
		"logit_bias":            map[string]float64{strconv.Itoa(one): 100, strconv.Itoa(dot): 80},
		"presence_penalty":      50.0,
		"presence_context_size": 1,
	}
	cases := []struct {
		name        string
		extra       map[string]any // request fields besides model, messages, max_tokens, temperature
		ground      string         // vulntune_ground
		freeInvents bool           // the free answer names an identifier the ground lacks
		intervenes  bool           // grounded decoding must replace tokens (else answer as free decoding does)
	}{
		// First, while both servers' prompt caches hold the same.
		{name: "nothing steered", extra: map[string]any{}},
		{name: "steered to an invented version", extra: steered, freeInvents: true, intervenes: true},
		{name: "the version given as vulntune_ground", extra: steered, ground: "fixed in 1.1.1.1.1.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{
				"model":       "default_model",
				"messages":    []map[string]string{{"role": "user", "content": prompt}},
				"max_tokens":  12,
				"temperature": 0,
			}
			for k, v := range c.extra {
				body[k] = v
			}
			if c.ground != "" {
				body["vulntune_ground"] = c.ground
			}
			ground := prompt + "\n" + c.ground
			f := chatCompletion(t, free.URL(), body, false)
			g := chatCompletion(t, grounded.URL(), body, false)
			gs := chatCompletion(t, grounded.URL(), body, true)
			t.Logf("free %q, grounded %q, grounding %+v", f.text, g.text, g.grounding)

			if f.grounding != nil || f.loopGuard != nil {
				t.Errorf("the free server reported grounding %+v and loop guard %+v", f.grounding, f.loopGuard)
			}
			if inv := evaluate.Ungrounded(f.text, ground, dataset.Facts{}); (len(inv) > 0) != c.freeInvents {
				t.Fatalf("free answer %q names ungrounded %q; want some: %v (the request no longer steers the model as the test assumes)", f.text, inv, c.freeInvents)
			}
			for _, r := range []completion{g, gs} {
				if r.grounding == nil {
					t.Fatalf("grounded answer %q (stream %v) carries no vulntune_grounding", r.text, r.stream)
				}
				if r.loopGuard == nil || r.loopGuard.Bans != 0 || r.loopGuard.GaveUp {
					t.Errorf("grounded answer %q (stream %v): vulntune_loop_guard %+v, want one that masked nothing", r.text, r.stream, r.loopGuard)
				}
				if inv := evaluate.Ungrounded(r.text, ground, dataset.Facts{}); len(inv) > 0 {
					t.Errorf("grounded answer %q (stream %v) names ungrounded %q", r.text, r.stream, inv)
				}
				if r.grounding.Steps < 1 || r.grounding.Stuck != 0 {
					t.Errorf("stream %v: grounding %+v: want steps > 0 and nothing stuck", r.stream, *r.grounding)
				}
				if got := r.grounding.Interventions > 0; got != c.intervenes {
					t.Errorf("stream %v: grounded decoding intervened %d times; want some: %v", r.stream, r.grounding.Interventions, c.intervenes)
				}
				if !c.intervenes && r.text != f.text {
					t.Errorf("stream %v: nothing to replace, yet the grounded answer %q differs from the free one %q", r.stream, r.text, f.text)
				}
			}
			if gs.text != g.text {
				t.Errorf("streamed grounded answer %q differs from the whole one %q", gs.text, g.text)
			}
		})
	}
}

// tinyTokenID is the id of a one-character token in the tiny model's
// byte-level BPE vocabulary (printable ASCII stands for itself there).
func tinyTokenID(t *testing.T, dir, tok string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tj struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		t.Fatalf("%s/tokenizer.json: %v", dir, err)
	}
	id, ok := tj.Model.Vocab[tok]
	if !ok {
		t.Fatalf("%s/tokenizer.json: no token %q in model.vocab", dir, tok)
	}
	return id
}

// completion is one chat completion's answer text and, from the server in
// grounded mode, its vulntune_grounding.
type completion struct {
	text      string
	stream    bool
	grounding *engine.GroundingStats
	loopGuard *engine.LoopGuardStats
}

// chatCompletion posts body to url's /v1/chat/completions, streamed or not,
// and joins the answer; vulntune_grounding is taken from whichever response
// object carries it (the last, with the finish reason).
func chatCompletion(t *testing.T, url string, body map[string]any, stream bool) completion {
	t.Helper()
	body["stream"] = stream
	b, _ := json.Marshal(body)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s/v1/chat/completions (stream %v): HTTP %d", url, stream, resp.StatusCode)
	}
	type object struct {
		Choices []struct {
			Message      struct{ Content string }
			Delta        struct{ Content string }
			FinishReason *string `json:"finish_reason"`
		}
		Grounding *engine.GroundingStats `json:"vulntune_grounding"`
		LoopGuard *engine.LoopGuardStats `json:"vulntune_loop_guard"`
	}
	out := completion{stream: stream}
	add := func(o object) {
		for _, c := range o.Choices {
			out.text += c.Message.Content + c.Delta.Content
			if o.Grounding != nil && (c.FinishReason == nil || *c.FinishReason == "") {
				t.Errorf("stream %v: vulntune_grounding on a response object without a finish reason", stream)
			}
		}
		if o.Grounding != nil {
			out.grounding = o.Grounding
		}
		if o.LoopGuard != nil {
			out.loopGuard = o.LoopGuard
		}
	}
	if !stream {
		var o object
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
			t.Fatalf("chat completion from %s: %v", url, err)
		}
		add(o)
		return out
	}
	sc := bufio.NewScanner(resp.Body)
	done := false
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue // blank separators and ": keepalive" comments
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var o object
		if err := json.Unmarshal([]byte(data), &o); err != nil {
			t.Fatalf("stream chunk %q from %s: %v", data, url, err)
		}
		add(o)
	}
	if err := sc.Err(); err != nil || !done {
		t.Fatalf("stream from %s ended without [DONE] (%v)", url, err)
	}
	return out
}

// TestServeLoopGuard: a completion the request steers into a loop ("1.1.1…",
// mlx-lm's own logit_bias and presence penalty on the tiny model) is
// steered out of it by the grounded server's loop guard, which reports its
// bans on the final response object and, once it gives up, ends the answer
// short of max_tokens; without a guard the server reports none and the
// answer loops to max_tokens.
func TestServeLoopGuard(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "llama")
	one, dot := tinyTokenID(t, dir, "1"), tinyTokenID(t, dir, ".")
	ctx := context.Background()
	guard := &engine.LoopGuard{RepeatStop: engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 16}, MaxBans: 2}
	body := func() map[string]any {
		return map[string]any{
			"model":                 "default_model",
			"messages":              []map[string]string{{"role": "user", "content": "Which version fixes it?"}},
			"max_tokens":            48,
			"temperature":           0,
			"logit_bias":            map[string]float64{strconv.Itoa(one): 100, strconv.Itoa(dot): 80},
			"presence_penalty":      50.0,
			"presence_context_size": 1,
		}
	}
	var unguarded string
	for _, g := range []*engine.LoopGuard{nil, guard} {
		s, err := e.Serve(ctx, dir, engine.ServeOptions{Grounded: true, LoopGuard: g, StartTimeout: 2 * time.Minute})
		if err != nil {
			t.Fatalf("Serve(loop guard %v): %v", g, err)
		}
		c := chatCompletion(t, s.URL(), body(), false)
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Logf("loop guard %v: %q, %+v", g, c.text, c.loopGuard)
		if g == nil {
			if c.loopGuard != nil {
				t.Errorf("a server without a loop guard reported %+v", *c.loopGuard)
			}
			unguarded = c.text
			continue
		}
		if c.loopGuard == nil || c.loopGuard.Bans != 2 || c.loopGuard.FirstBan == nil || !c.loopGuard.GaveUp {
			t.Fatalf("answer %q: loop guard %+v, want 2 bans and given up", c.text, c.loopGuard)
		}
		if len(c.text) >= len(unguarded) {
			t.Errorf("the guard gave up, yet the answer %q runs as long as the unguarded %q", c.text, unguarded)
		}
	}
}
