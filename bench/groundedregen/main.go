// Command groundedregen answers again, under grounded decoding, the answers
// an evaluation regenerated with it (generations.jsonl rows of one model
// with "decoding": "grounded"), with the request evaluation sends
// (evaluate.Ground of each example's prompt and facts, the default repeat
// stop, the results' answer bound and batch size, no scoring), and compares them with
// the recorded ones: answers that ended by themselves (finish reason
// "stop"), answers with an ungrounded identifier (evaluate.ScoreAnswer, as
// results.json counts them), tokens replaced and answers stuck. Issue 16's
// URL trap showed as grounded answers that looped to the repetition stop;
// this measures a change to grounded.py on the same answers, without a
// whole evaluation. Nothing is cached or written.
//
// With -resume it then measures regeneration resumed at the first
// intervention, as evaluation now runs it: an observing pass over the same
// examples (free decoding, no scoring) gives each answer's prefix ids, and
// the enforcing pass runs again with them as the request's prefixes. It
// prints both passes' decoding times and tokens, and how many resumed
// answers are the ones from scratch. The dataset split is the results'.
//
//	go run ./bench/groundedregen -model DIR [-set other] [-label tuned] [-resume N]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/jsonfile"
)

func main() {
	model := flag.String("model", "", "fine-tuned model directory with an evaluation (eval/ or eval/SET/)")
	set := flag.String("set", "other", `evaluation set: "" for eval/, else eval/SET/ (its dataset in eval/SET/dataset)`)
	datasetDir := flag.String("dataset", "", "dataset dir (default: the set's eval/SET/dataset)")
	label := flag.String("label", "tuned", `model whose grounded answers to regenerate: "base" or "tuned"`)
	dataDir := flag.String("data-dir", os.Getenv("VULNTUNE_DATA_DIR"), "vulntune data dir with the engine")
	resume := flag.Int("resume", 0, "also regenerate N times resumed at each answer's first intervention, each after one more from scratch, and compare")
	flag.Parse()
	if err := run(*model, *set, *datasetDir, *label, *dataDir, *resume); err != nil {
		fmt.Fprintln(os.Stderr, "groundedregen:", err)
		os.Exit(1)
	}
}

func run(model, set, datasetDir, label, dataDir string, resume int) error {
	if model == "" {
		return fmt.Errorf("-model is required")
	}
	evalDir := filepath.Join(model, "eval", set)
	if datasetDir == "" {
		datasetDir = filepath.Join(evalDir, "dataset")
	}
	var res struct {
		MaxTokens int `json:"max_tokens"`
		Dataset   struct {
			Split string `json:"split"`
		} `json:"dataset"`
	}
	if err := jsonfile.Read(filepath.Join(evalDir, "results.json"), &res); err != nil {
		return err
	}
	old, err := readGrounded(filepath.Join(evalDir, "generations.jsonl"), label)
	if err != nil {
		return err
	}
	if len(old) == 0 {
		return fmt.Errorf("%s: no %s answer was regenerated under grounded decoding", evalDir, label)
	}
	split := res.Dataset.Split
	if split == "" {
		split = dataset.Test
	}
	exs, _, err := dataset.ReadSplit(datasetDir, split, true)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", datasetDir, err)
	}
	req := engine.EvaluateRequest{Model: model, MaxTokens: res.MaxTokens, BatchSize: evaluate.DefaultBatchSize,
		Decoding: engine.Decoding{RepeatStop: &evaluate.DefaultRepeatStop, Grounding: engine.GroundingEnforce}, SkipScoring: true}
	for _, g := range old {
		if g.Index < 0 || g.Index >= len(exs) {
			return fmt.Errorf("generations.jsonl: answer index %d outside the %d examples of %s", g.Index, len(exs), datasetDir)
		}
		e := exs[g.Index]
		if e.Meta.FindingID != g.FindingID {
			return fmt.Errorf("generations.jsonl: answer %d is finding %s, the dataset's row %d finding %s", g.Index, g.FindingID, g.Index, e.Meta.FindingID)
		}
		raw, err := json.Marshal(struct {
			Messages []chat.Message `json:"messages"`
		}{e.Messages})
		if err != nil {
			return err
		}
		req.Examples = append(req.Examples, raw)
		req.Grounds = append(req.Grounds, evaluate.Ground(chat.Prompt(e.Messages), e.Meta.Facts))
	}
	eng, err := engine.Open(dataDir)
	if err != nil {
		return err
	}
	items := make([]engine.EvaluateItem, len(old))
	t0 := time.Now()
	sum, err := eng.Evaluate(context.Background(), req, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	var before, after tally
	fmt.Printf("%s answers regenerated under grounded decoding: %d (max tokens %d)\n", label, len(old), res.MaxTokens)
	fmt.Println("index  before              after               replaced  stuck  ungrounded  tail")
	for i, g := range old {
		e, it := exs[g.Index], items[i]
		if it.Grounding == nil {
			return fmt.Errorf("answer %d has no grounding report", g.Index)
		}
		prompt := chat.Prompt(e.Messages)
		bad := evaluate.ScoreAnswer(it.Text, it.FinishReason, prompt, e.Meta.Facts).Ungrounded
		before.add(g.FinishReason, g.GenerationTokens, len(evaluate.ScoreAnswer(g.Text, g.FinishReason, prompt, e.Meta.Facts).Ungrounded), 0, 0)
		after.add(it.FinishReason, it.GenerationTokens, len(bad), it.Grounding.Interventions, it.Grounding.Stuck)
		fmt.Printf("%5d  %-10s %4d tok  %-10s %4d tok  %8d  %5d  %-10s  %q\n", g.Index, g.FinishReason, g.GenerationTokens,
			it.FinishReason, it.GenerationTokens, it.Grounding.Interventions, it.Grounding.Stuck, strings.Join(bad, ","), tail(it.Text, 70))
	}
	fmt.Printf("before: %s\nafter:  %s\n", before, after)
	fmt.Printf("engine: generate %.0f s, %d tokens\n", sum.GenerateSeconds, sum.GenerationTokens)
	if resume > 0 {
		return compareResumed(eng, req, items, sum, wall, resume)
	}
	return nil
}

// compareResumed observes req's examples (free decoding, no scoring) for
// their prefix ids, regenerates them resumed there, and compares that with
// scratch, the regeneration from scratch (its items, summary and wall
// time); rounds times, the rounds after the first timing one more
// regeneration from scratch before the resumed one.
func compareResumed(eng *engine.Engine, req engine.EvaluateRequest, scratch []engine.EvaluateItem, sum *engine.EvaluateSummary, wall time.Duration, rounds int) error {
	obs := req
	obs.Grounding, obs.SkipScoring = engine.GroundingObserve, true
	prefixes := make([][]int, len(req.Examples))
	osum, err := eng.Evaluate(context.Background(), obs, func(it engine.EvaluateItem) { prefixes[it.Index] = append([]int{}, it.PrefixIDs...) }, nil)
	if err != nil {
		return err
	}
	fmt.Printf("observing pass: generate %.1f s, %d tokens\n", osum.GenerateSeconds, osum.GenerationTokens)
	res := req
	res.SkipScoring, res.Prefixes = true, prefixes
	for round := range rounds {
		if round > 0 {
			t0 := time.Now()
			if sum, err = eng.Evaluate(context.Background(), req, func(it engine.EvaluateItem) {}, nil); err != nil {
				return err
			}
			wall = time.Since(t0)
		}
		if err := resumedRound(eng, res, scratch, sum, wall); err != nil {
			return err
		}
	}
	return nil
}

// resumedRound regenerates res (resumed) once and compares it with
// scratch.
func resumedRound(eng *engine.Engine, res engine.EvaluateRequest, scratch []engine.EvaluateItem, sum *engine.EvaluateSummary, wall time.Duration) error {
	prefixes := res.Prefixes
	items := make([]engine.EvaluateItem, len(res.Examples))
	t0 := time.Now()
	rsum, err := eng.Evaluate(context.Background(), res, func(it engine.EvaluateItem) { items[it.Index] = it }, nil)
	if err != nil {
		return err
	}
	rwall := time.Since(t0)
	same := 0
	fmt.Println("index  prefix  scratch tok  resumed tok  same")
	for i, it := range items {
		eq := it.Text == scratch[i].Text && it.GenerationTokens == scratch[i].GenerationTokens && it.FinishReason == scratch[i].FinishReason
		if eq {
			same++
		}
		fmt.Printf("%5d  %6d  %11d  %11d  %v\n", i, len(prefixes[i]), scratch[i].GenerationTokens, it.GenerationTokens, eq)
	}
	fmt.Printf("from scratch: generate %.1f s (op %.1f s), %d tokens decoded\n", sum.GenerateSeconds, wall.Seconds(), sum.GenerationTokens)
	fmt.Printf("resumed:      generate %.1f s (op %.1f s), %d tokens decoded, %d resumed\n", rsum.GenerateSeconds, rwall.Seconds(), rsum.GenerationTokens, rsum.ResumedTokens)
	fmt.Printf("resumed answers identical to those from scratch: %d of %d\n", same, len(items))
	return nil
}

// tally sums a set of answers.
type tally struct {
	n, ended, repetition, length, tokens, ungrounded, replaced, stuck int
}

func (t *tally) add(finish string, tokens, ungrounded, replaced, stuck int) {
	t.n++
	switch finish {
	case "stop":
		t.ended++
	case "repetition":
		t.repetition++
	case "length":
		t.length++
	}
	t.tokens += tokens
	if ungrounded > 0 {
		t.ungrounded++
	}
	t.replaced += replaced
	t.stuck += stuck
}

func (t tally) String() string {
	return fmt.Sprintf("%d answers: %d ended by themselves, %d repetition stop, %d length; %d tokens; %d with an ungrounded identifier; %d tokens replaced, %d stuck",
		t.n, t.ended, t.repetition, t.length, t.tokens, t.ungrounded, t.replaced, t.stuck)
}

func tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n:])
}

// readGrounded returns label's answers generations.jsonl marks as
// generated again under grounded decoding, in file order.
func readGrounded(path, label string) ([]evaluate.Generation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []evaluate.Generation
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var g evaluate.Generation
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if g.Model == label && g.Decoding == evaluate.DecodingGrounded {
			out = append(out, g)
		}
	}
	return out, sc.Err()
}
