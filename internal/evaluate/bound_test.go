package evaluate_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/homepath"
)

func TestBoundFromReferences(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ longest, want int }{
		{0, 32},
		{1, 32},
		{100, 128},   // 125, rounded up
		{128, 160},   // exactly 160
		{1113, 1408}, // the sample split's longest answer: 1391.25 → 1408
	} {
		if got := evaluate.BoundFromReferences(c.longest); got != c.want {
			t.Errorf("BoundFromReferences(%d) = %d, want %d", c.longest, got, c.want)
		}
	}
}

// TestRunBound checks where the length bound comes from: the longest
// reference answer of testdata/dataset (529 words, which the fake engine
// counts as tokens) unless one is given, with a warning and a mark in
// results.json, the card and the table when it cuts reference answers.
func TestRunBound(t *testing.T) {
	t.Parallel()
	const longest = 529
	for _, c := range []struct {
		name        string
		explicit    int
		refStops    []int
		wantTokens  int
		wantSource  string
		wantBelow   bool
		wantStopped int
		wantLog     string // in the warnings, "" for none
		wantCard    string
	}{
		{"from the references", 0, nil, evaluate.BoundFromReferences(longest), evaluate.BoundReferences, false, 0, "",
			"Answers were read whole: generated greedily up to 672 tokens, the longest reference answer (529 tokens) plus 25%."},
		{"explicit, above", 2000, nil, 2000, evaluate.BoundExplicit, false, 0, "",
			"generated greedily up to 2000 tokens (longest reference answer: 529 tokens)"},
		{"explicit, below the longest", 256, nil, 256, evaluate.BoundExplicit, true, 0, "below the longest reference answer",
			"**below the longest reference answer (529 tokens)**"},
		{"the stop would cut a reference answer", 0, []int{-1, 90, -1}, evaluate.BoundFromReferences(longest), evaluate.BoundReferences, false, 1,
			"would cut reference answers short", "repeated a cycle of at most 256 tokens repeated 3 times over at least 48 tokens"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			model, base := t.TempDir(), t.TempDir()
			reqs := map[string]engine.EvaluateRequest{}
			eng := fakeEngine{
				answers:  map[string][]string{base: {"a", "b", "c"}, model: {"a", "b", "c"}},
				nll:      map[string]float64{base: 2, model: 1},
				refStops: c.refStops,
				requests: reqs,
			}
			var logs bytes.Buffer
			r, err := evaluate.Run(context.Background(), evaluate.Options{
				ModelDir: model, BaseModelDir: base, DatasetDir: filepath.Join("testdata", "dataset"),
				MaxTokens: c.explicit, Engine: eng, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			if err != nil {
				t.Fatal(err)
			}
			b := r.Bound
			if r.MaxTokens != c.wantTokens || b == nil || b.Source != c.wantSource || b.LongestReference != longest ||
				b.BelowLongestReference != c.wantBelow || b.ReferencesRepeatStopped != c.wantStopped {
				t.Fatalf("max tokens %d, bound %+v; want %d from %s, longest %d, below %v, %d stopped",
					r.MaxTokens, b, c.wantTokens, c.wantSource, longest, c.wantBelow, c.wantStopped)
			}
			for _, m := range []string{base, model} {
				if got := reqs[m]; got.MaxTokens != c.wantTokens || got.RepeatStop == nil || *got.RepeatStop != evaluate.DefaultRepeatStop {
					t.Errorf("%s asked for %d tokens, stop %v; want %d, %v", filepath.Base(m), got.MaxTokens, got.RepeatStop, c.wantTokens, evaluate.DefaultRepeatStop)
				}
			}
			if c.wantLog == "" && logs.Len() > 0 || !strings.Contains(logs.String(), c.wantLog) {
				t.Errorf("warnings %q, want %q", logs.String(), c.wantLog)
			}
			if card := evaluate.CardSection(r); !strings.Contains(card, c.wantCard) {
				t.Errorf("card section lacks %q:\n%s", c.wantCard, card)
			}
			var table bytes.Buffer
			if err := evaluate.WriteTable(&table, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(table.String(), "BELOW IT"); got != c.wantBelow {
				t.Errorf("table says the bound is below the longest reference: %v, want %v\n%s", got, c.wantBelow, table.String())
			}
			if r.Durations.GenerateSeconds != 4 || r.Durations.RepeatCheckSeconds != 0.02 {
				t.Errorf("durations %+v, want the engine's 2 s and 0.01 s twice", r.Durations)
			}
		})
	}
}

// TestRunRepetition: answers the engine stopped for repetition are not
// ended, and count in the repetition share with answers that repeat a line.
func TestRunRepetition(t *testing.T) {
	t.Parallel()
	model, base := t.TempDir(), t.TempDir()
	loop := strings.Repeat("The scanner gives no fix for this rule; change http://localhost:8080.\n", 4)
	eng := fakeEngine{
		answers: map[string][]string{base: {"a", "b", loop}, model: {"a", "b c d", "e"}},
		nll:     map[string]float64{base: 2, model: 1},
		finish:  map[string][]string{base: {"length", "stop", "stop"}, model: {"stop", "repetition", "stop"}},
	}
	r, err := evaluate.Run(context.Background(), evaluate.Options{
		ModelDir: model, BaseModelDir: base, DatasetDir: filepath.Join("testdata", "dataset"), Engine: eng,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name                 string
		m                    evaluate.Metrics
		truncated, repeating int
		ended, repetition    float64
	}{
		{"base", r.Base, 1, 0, 2.0 / 3, 1.0 / 3},
		{"tuned", r.Tuned, 0, 1, 2.0 / 3, 1.0 / 3},
	} {
		if c.m.Truncated != c.truncated || c.m.Repeating != c.repeating || c.m.EndedShare == nil || *c.m.EndedShare != c.ended ||
			c.m.RepetitionShare == nil || *c.m.RepetitionShare != c.repetition {
			t.Errorf("%s: truncated %d, repeating %d, ended %v, repetition %v; want %d, %d, %v, %v", c.name,
				c.m.Truncated, c.m.Repeating, c.m.EndedShare, c.m.RepetitionShare, c.truncated, c.repeating, c.ended, c.repetition)
		}
	}
	var table bytes.Buffer
	if err := evaluate.WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "repetition_share (n=3)        0.3333  0.3333") {
		t.Errorf("table lacks the repetition share:\n%s", table.String())
	}
	if card := evaluate.CardSection(r); !strings.Contains(card, "| answers repeating themselves (n=3) | 0.33 | 0.33 |") ||
		!strings.Contains(card, "1 of 3 tuned answers were stopped repeating themselves.") {
		t.Errorf("card section:\n%s", card)
	}
}

// TestRepeated: the two readings of an answer repeating itself, a line
// written again (RepeatedLine) and a word written again in a row
// (RepeatedWord), each returning the most repeated and how often.
func TestRepeated(t *testing.T) {
	t.Parallel()
	line, word := evaluate.RepeatedLine, evaluate.RepeatedWord
	for _, c := range []struct {
		name string
		fn   func(string) (string, int)
		text string
		want string
		n    int
	}{
		{"RepeatedLine: nothing repeated", line, "one two three\nfour five six", "", 0},
		{"RepeatedLine: fences and braces do not count", line, "```\n}\n```\n}\n```\n}\nelse\nelse\nelse", "", 0},
		{"RepeatedLine: a sentence three times", line, "Upgrade it now.\n  Upgrade it now.  \nx\nUpgrade it now.", "Upgrade it now.", 3},
		{"RepeatedLine: the most repeated wins", line, "a b c\nd e f\nd e f\na b c\nd e f", "d e f", 3},
		{"RepeatedLine: ties go to the lexically first", line, "d e f\na b c\nd e f\na b c", "a b c", 2},
		{"RepeatedLine: items by turns, numbered on", line, "1. Address the source.\n2. Follow the fix.\n3. Address it now.\n4. Follow the fix.\n5. Address it now.\n6. Follow the fix.", "Follow the fix.", 3},
		{"RepeatedLine: bullets and numbers alike", line, "- Follow the fix.\n  * Follow the fix.\n10) Follow the fix.", "Follow the fix.", 3},
		{"RepeatedLine: a version is no mark once words precede it", line, "Upgrade to 1.2.3 now.\nUpgrade to 1.2.4 now.\nUpgrade to 1.2.5 now.", "", 0},
		{"RepeatedWord: nothing repeated", word, "one two three", "", 0},
		{"RepeatedWord: the demo's loop", word, "The product buffer buffer buffer buffer is overwritten by another buffer buffer.", "buffer", 4},
		{"RepeatedWord: commas between", word, "input from untrusted, untrusted, Untrusted, untrusted sources", "untrusted", 4},
		{"RepeatedWord: punctuation ends a run", word, "it is done. Done done done. done", "done", 2},
		{"RepeatedWord: numbers are data", word, "0 0 0 0 0 0 and that that", "that", 2},
		{"RepeatedWord: across lines", word, "fix\nfix fix", "fix", 3},
	} {
		if got, n := c.fn(c.text); got != c.want || n != c.n {
			t.Errorf("%s: got %q, %d; want %q, %d", c.name, got, n, c.want, c.n)
		}
	}
}

// TestRunLoopGuard: evaluation decodes with engine.DefaultLoopGuard unless told
// not to, records it beside the bound, and counts the answers it steered.
func TestRunLoopGuard(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		noGuard     bool
		wantGuarded int
	}{
		{"default", false, 1},
		{"without the guard", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			model, base := t.TempDir(), t.TempDir()
			eng := fakeEngine{
				answers:     map[string][]string{base: {"a", "b", "c"}, model: {"a", "b c d", "e"}},
				nll:         map[string]float64{base: 2, model: 1},
				bans:        map[string][]int{model: {0, 3, 0}},
				sectionBans: map[string][]int{model: {0, 0, 2}},
				lineBans:    map[string][]int{base: {4, 0, 0}, model: {0, 0, 1}},
				wordBans:    map[string][]int{model: {2, 0, 0}},
				itemBans:    map[string][]int{model: {0, 1, 0}},
				requests:    map[string]engine.EvaluateRequest{},
			}
			r, err := evaluate.Run(context.Background(), evaluate.Options{
				ModelDir: model, BaseModelDir: base, DatasetDir: filepath.Join("testdata", "dataset"), Engine: eng, Free: true, NoLoopGuard: tt.noGuard,
			})
			if err != nil {
				t.Fatal(err)
			}
			req := eng.requests[model]
			if tt.noGuard != (req.LoopGuard == nil) || tt.noGuard != (r.Bound.LoopGuard == nil) {
				t.Errorf("request guard %v, results' %v; want none only without the guard", req.LoopGuard, r.Bound.LoopGuard)
			}
			if !tt.noGuard && !reflect.DeepEqual(*req.LoopGuard, engine.DefaultLoopGuard) {
				t.Errorf("request guard %+v, want the default %+v", *req.LoopGuard, engine.DefaultLoopGuard)
			}
			if r.Tuned.LoopGuarded != tt.wantGuarded || r.Base.LoopGuarded != 0 {
				t.Errorf("loop guarded: tuned %d, base %d; want %d and 0", r.Tuned.LoopGuarded, r.Base.LoopGuarded, tt.wantGuarded)
			}
			var table bytes.Buffer
			if err := evaluate.WriteTable(&table, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(table.String(), "loop_guarded (n=3)"); got == tt.noGuard {
				t.Errorf("table shows the steered answers: %v, want %v:\n%s", got, !tt.noGuard, table.String())
			}
			if got := strings.Contains(table.String(), "section_guarded (n=3)         0       1"); got == tt.noGuard {
				t.Errorf("table shows the answers kept from a second section: %v, want %v:\n%s", got, !tt.noGuard, table.String())
			}
			if got := r.Tuned.SectionGuarded; got != tt.wantGuarded {
				t.Errorf("section guarded: tuned %d, want %d", got, tt.wantGuarded)
			}
			if got := strings.Contains(table.String(), "line_guarded (n=3)            1       1"); got == tt.noGuard {
				t.Errorf("table shows the answers kept from writing part of a line again: %v, want %v:\n%s", got, !tt.noGuard, table.String())
			}
			if r.Tuned.LineGuarded != tt.wantGuarded || r.Base.LineGuarded != tt.wantGuarded {
				t.Errorf("line guarded: tuned %d, base %d; want %d each", r.Tuned.LineGuarded, r.Base.LineGuarded, tt.wantGuarded)
			}
			if got := strings.Contains(table.String(), "word_guarded (n=3)            0       1"); got == tt.noGuard {
				t.Errorf("table shows the answers kept from writing a word over and over: %v, want %v:\n%s", got, !tt.noGuard, table.String())
			}
			if r.Tuned.WordGuarded != tt.wantGuarded || r.Base.WordGuarded != 0 {
				t.Errorf("word guarded: tuned %d, base %d; want %d and 0", r.Tuned.WordGuarded, r.Base.WordGuarded, tt.wantGuarded)
			}
			if got := strings.Contains(table.String(), "item_guarded (n=3)            0       1"); got == tt.noGuard {
				t.Errorf("table shows the answers kept from writing their lines over again: %v, want %v:\n%s", got, !tt.noGuard, table.String())
			}
			if r.Tuned.ItemGuarded != tt.wantGuarded || r.Base.ItemGuarded != 0 {
				t.Errorf("item guarded: tuned %d, base %d; want %d and 0", r.Tuned.ItemGuarded, r.Base.ItemGuarded, tt.wantGuarded)
			}
			card := evaluate.CardSection(r)
			if got := strings.Contains(card, "1 of 3 tuned answers began to write their lines over again, numbered on"); got == tt.noGuard {
				t.Errorf("card says the guard kept an answer from writing its lines over again: %v, want %v:\n%s", got, !tt.noGuard, card)
			}
			if got := strings.Contains(card, "1 of 3 tuned answers began to write a word over and over"); got == tt.noGuard {
				t.Errorf("card says the guard kept an answer from a word loop: %v, want %v:\n%s", got, !tt.noGuard, card)
			}
			if got := strings.Contains(card, "1 of 3 tuned answers started a loop the loop guard steered them out of."); got == tt.noGuard {
				t.Errorf("card says the guard steered an answer: %v, want %v:\n%s", got, !tt.noGuard, card)
			}
			if got := strings.Contains(card, "1 of 3 tuned answers began to write part of a line again"); got == tt.noGuard {
				t.Errorf("card says the guard kept an answer from writing part of a line again: %v, want %v:\n%s", got, !tt.noGuard, card)
			}
			if got := strings.Contains(card, "1 of 3 tuned answers began a section again, made one up or left a list's bullets"); got == tt.noGuard {
				t.Errorf("card says the guard kept an answer from a second section: %v, want %v:\n%s", got, !tt.noGuard, card)
			}
			if got := strings.Contains(card, "was masked, and the model wrote its next choice"); got == tt.noGuard {
				t.Errorf("card describes the guard: %v, want %v:\n%s", got, !tt.noGuard, card)
			}
		})
	}
}

// TestRunMasksInventedHomes: an answer that invents a home-directory path
// is scored as generated, and written to generations.jsonl with the path in
// its relative form, in the text and among the ungrounded identifiers: the
// file is published with the model, and validation refuses home paths.
func TestRunMasksInventedHomes(t *testing.T) {
	t.Parallel()
	model, base := t.TempDir(), t.TempDir()
	invented := "See [/Users/m/web/web/app.js for the fix."
	eng := fakeEngine{
		answers: map[string][]string{base: {"a", "b", "c"}, model: {invented, "b", "c"}},
		nll:     map[string]float64{base: 2, model: 1},
	}
	r, err := evaluate.Run(context.Background(), evaluate.Options{
		ModelDir: model, BaseModelDir: base, DatasetDir: filepath.Join("testdata", "dataset"), Engine: eng, Free: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tuned.HallucinationRate == nil || *r.Tuned.HallucinationRate == 0 {
		t.Errorf("tuned hallucination %v: the invented path was not scored", r.Tuned.HallucinationRate)
	}
	raw, err := os.ReadFile(filepath.Join(model, "eval", evaluate.GenerationsFile))
	if err != nil {
		t.Fatal(err)
	}
	if homepath.FindHome(string(raw)) != nil {
		t.Errorf("generations.jsonl names a home directory:\n%s", raw)
	}
	if !bytes.Contains(raw, []byte(`See [web/web/app.js for the fix.`)) || !bytes.Contains(raw, []byte(`"web/web/app.js"`)) {
		t.Errorf("generations.jsonl lacks the masked answer or identifier:\n%s", raw)
	}
}
