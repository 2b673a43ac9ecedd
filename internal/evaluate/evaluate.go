// Package evaluate measures a fine-tuned model against its base model on
// the held-out examples of a vulntune dataset: the loss on the reference
// answers, and, from greedy answers to the same prompts, whether the model
// names the facts of each finding (fixed version, CWE, location) and whether
// it names identifiers that are in neither the prompt nor the finding.
// Results go to <model>/eval/results.json and eval/generations.jsonl; an
// evaluation set other than the dataset's own held-out split (issue 16's
// reports of other projects, WriteSet) goes to eval/<set>/.
package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/homepath"
)

// DefaultBatchSize is the number of answers decoded together. Both sets
// the main job evaluates (25 held-out examples, 35 of other projects) fit
// one batch, and a wider batch decodes more tokens a second on the 2-core
// CPU (bench/decodestep.sh over 1,000 tokens of context: 119 at 24, 141 at
// 48). The batch's KV cache is
// about 5 GB for OLMo-2-1B in bf16 (32 × ~1,300 tokens × 128 KB), less than
// training it takes; --batch-size lowers it.
const DefaultBatchSize = 32

// Files written under <model>/eval/.
const (
	ResultsFile     = "results.json"
	GenerationsFile = "generations.jsonl"
)

// Runner is the part of the engine evaluation needs.
type Runner interface {
	Evaluate(ctx context.Context, req engine.EvaluateRequest, onItem func(engine.EvaluateItem), onEvent func(engine.Event)) (*engine.EvaluateSummary, error)
	Observe(ctx context.Context, req engine.ObserveRequest, onEvent func(engine.Event)) ([]engine.Observation, error)
	References(ctx context.Context, req engine.ReferencesRequest) (*engine.References, error)
}

// Options say what to evaluate.
type Options struct {
	// ModelDir is the fine-tuned (fused) model directory; results go to
	// ModelDir/eval/, or ModelDir/eval/<Set>/.
	ModelDir string
	// Set names an evaluation set other than the model's own held-out
	// split ("other": reports of other projects); "" is the held-out split.
	// The model card's Evaluation section shows every set.
	Set string
	// BaseModelDir is the base model directory, BaseModelName its name as
	// recorded in results (default: the directory's name).
	BaseModelDir  string
	BaseModelName string
	// DatasetDir holds <split>.jsonl and examples.meta.jsonl.
	DatasetDir string
	// Split is "test" or "valid"; empty picks test when present, else valid.
	Split string
	// Limit evaluates only the first Limit examples (0: all).
	Limit int
	// MaxTokens bounds each answer. 0 derives the bound from the examples:
	// the longest reference answer plus ReferenceMargin
	// (BoundFromReferences), so every answer is read whole. A bound below
	// the longest reference answer is evaluated as asked, with a warning,
	// and results.json says so (Bound).
	MaxTokens int
	// RepeatStop ends answers stuck in a loop (nil: DefaultRepeatStop).
	RepeatStop *engine.RepeatStop
	// LoopGuard steers answers out of loops before the stop would end
	// them (nil: engine.DefaultLoopGuard, unless NoLoopGuard).
	LoopGuard *engine.LoopGuard
	// NoLoopGuard decodes without the loop guard: what the weights alone
	// do, loops and all.
	NoLoopGuard bool
	// BatchSize is the number of answers generated together (0:
	// DefaultBatchSize).
	BatchSize int
	// MaxSeqLength truncates each example before its loss is scored
	// (0: engine.DefaultScoreLength, mlx-lm's training default).
	MaxSeqLength int
	Engine       Runner
	Log          *slog.Logger // nil: discard
	// Progress, if set, is called after each answer: model is "base" or
	// "tuned".
	Progress func(model string, done, total int)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// CacheDir, if set, keeps each model's raw answers keyed by the engine,
	// the model's files and the request, so that evaluating another
	// fine-tune of the same base on the same split reuses the base's
	// answers (half the time). Only engines with an EvaluateID take part.
	CacheDir string
	// Free measures free decoding only. Otherwise each model is also
	// measured with grounded decoding (identifiers only from the prompt and
	// the finding's facts), results.json's "grounded": the answers free
	// decoding gave, except those where grounded decoding would have
	// intervened, which are generated again with it.
	Free bool
}

// Run evaluates the base and the tuned model on the same examples, writes
// ModelDir/eval/{results.json,generations.jsonl} and updates the model
// card's model-index when ModelDir has a README.md.
func Run(ctx context.Context, opts Options) (*Results, error) {
	if opts.ModelDir == "" || opts.BaseModelDir == "" || opts.DatasetDir == "" || opts.Engine == nil {
		return nil, errors.New("evaluate: model dir, base model dir, dataset dir and engine are required")
	}
	if opts.Set != "" {
		if err := CheckSetName(opts.Set); err != nil {
			return nil, err
		}
	}
	if opts.RepeatStop == nil {
		opts.RepeatStop = &DefaultRepeatStop
	}
	switch {
	case opts.NoLoopGuard:
		opts.LoopGuard = nil
	case opts.LoopGuard == nil:
		opts.LoopGuard = &engine.DefaultLoopGuard
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	split, err := pickSplit(opts.DatasetDir, opts.Split)
	if err != nil {
		return nil, err
	}
	all, sum, err := loadSplit(opts.DatasetDir, split)
	if err != nil {
		return nil, err
	}
	sel, err := readSelection(opts.DatasetDir)
	if err != nil {
		return nil, err
	}
	exs := all
	if opts.Limit > 0 && opts.Limit < len(exs) {
		exs = exs[:opts.Limit]
	}
	start := opts.Now()
	maxTokens, b, err := bound(ctx, opts.Engine, opts.BaseModelDir, opts.MaxTokens, engine.Decoding{RepeatStop: opts.RepeatStop, LoopGuard: opts.LoopGuard}, exs, log)
	if err != nil {
		return nil, err
	}
	opts.MaxTokens = maxTokens
	r := &Results{Schema: SchemaVersion, Model: filepath.Base(opts.ModelDir), BaseModel: opts.BaseModelName,
		MaxTokens: opts.MaxTokens, Bound: &b, Decoding: "greedy", Date: start.UTC(), Set: opts.Set, Selection: sel}
	if r.BaseModel == "" {
		r.BaseModel = filepath.Base(opts.BaseModelDir)
	}
	r.Dataset.Split, r.Dataset.SplitSHA256 = split, sum
	r.Dataset.Examples, r.Dataset.Evaluated = len(all), len(exs)

	log.Info("evaluating", "split", split, "examples", len(exs), "max_tokens", opts.MaxTokens,
		"bound", b.Source, "longest_reference_tokens", b.LongestReference)
	t := opts.Now()
	base, cached, err := runModel(ctx, opts, "base", opts.BaseModelDir, exs, r)
	if err != nil {
		return nil, err
	}
	r.Durations.BaseSeconds = opts.Now().Sub(t).Seconds()
	r.Durations.BaseCached = cached
	if cached {
		log.Info("base model answers reused from the evaluation cache", "dir", opts.CacheDir)
	}
	t = opts.Now()
	tuned, _, err := runModel(ctx, opts, "tuned", opts.ModelDir, exs, r)
	if err != nil {
		return nil, err
	}
	r.Durations.TunedSeconds = opts.Now().Sub(t).Seconds()
	gens := append(slices.Clone(base), tuned...)
	if !opts.Free {
		t = opts.Now()
		baseG, err := groundModel(ctx, opts, "base", opts.BaseModelDir, exs, base)
		if err != nil {
			return nil, err
		}
		tunedG, err := groundModel(ctx, opts, "tuned", opts.ModelDir, exs, tuned)
		if err != nil {
			return nil, err
		}
		r.Durations.GroundedSeconds = opts.Now().Sub(t).Seconds()
		gens = append(append(gens, regenerated(baseG)...), regenerated(tunedG)...)
		r.summarizeGrounded(baseG, tunedG)
	}
	r.Durations.TotalSeconds = opts.Now().Sub(start).Seconds()
	r.summarize(base, tuned)

	if err := write(evalDir(opts.ModelDir, opts.Set), r, gens); err != nil {
		return nil, err
	}
	if err := UpdateCard(opts.ModelDir, r); err != nil {
		return nil, err
	}
	return r, nil
}

// runModel answers and scores every example with the model in dir. With a
// cache, answers the same engine gave the same model to the same request
// are reused (the base model's, whenever another fine-tune of it is
// evaluated on the same split); cached reports whether they were. The
// engine's decoding times of fresh answers are added to r's durations.
func runModel(ctx context.Context, opts Options, label, dir string, exs []example, r *Results) (gens []Generation, cached bool, err error) {
	// Free answers are asked for without grounds or pins, so the cache
	// keeps them whatever grounded decoding's rules, and with their token
	// ids, which observe replays against the rules of the day.
	req := engine.EvaluateRequest{Model: dir, MaxTokens: opts.MaxTokens, BatchSize: opts.BatchSize, MaxSeqLength: opts.MaxSeqLength,
		Decoding: engine.Decoding{RepeatStop: opts.RepeatStop, LoopGuard: opts.LoopGuard}, ReturnIDs: true}
	for _, e := range exs {
		req.Examples = append(req.Examples, e.Raw)
	}
	if gens, cached, err = answerAndScore(ctx, opts, label, dir, req, exs, nil, r); err != nil {
		return nil, false, err
	}
	if !opts.Free {
		if err := observe(ctx, opts, label, dir, exs, gens); err != nil {
			return nil, false, err
		}
	}
	return gens, cached, nil
}

// observe sets, on each of a model's free answers, where grounded decoding
// would first have changed it (Grounding, and the prefix groundModel
// resumes from): the engine replays the answer's tokens through the
// observing processor with its example's ground and pin, which is what
// observing while decoding reports, in seconds and without the weights.
// Answers the free pass took from the cache are observed with the rules
// of the day.
func observe(ctx context.Context, opts Options, label, dir string, exs []example, gens []Generation) error {
	req := engine.ObserveRequest{Model: dir, MaxTokens: opts.MaxTokens}
	var d engine.Decoding // its AddGround keeps Pins as requests have them
	for i, g := range gens {
		if len(g.ids) != g.GenerationTokens {
			return fmt.Errorf("evaluate %s model: answer %d has %d token ids for %d tokens (an engine that does not return them?)", label, i, len(g.ids), g.GenerationTokens)
		}
		e := exs[g.Index]
		d.AddGround(e.grounding())
		req.Answers = append(req.Answers, engine.ObservedAnswer{IDs: g.ids, FinishReason: g.FinishReason})
	}
	req.Grounds, req.Pins = d.Grounds, d.Pins
	obs, err := opts.Engine.Observe(ctx, req, nil)
	if err != nil {
		return fmt.Errorf("evaluate %s model %s: %w", label, filepath.Base(dir), err)
	}
	if len(obs) != len(gens) {
		return fmt.Errorf("evaluate %s model: engine observed %d of %d answers", label, len(obs), len(gens))
	}
	for i, o := range obs {
		gens[i].Grounding, gens[i].prefix = o.Grounding, o.PrefixIDs
	}
	return nil
}

// answerAndScore answers req (from the cache when it holds them) and
// scores each answer against its example; at maps the request's example i
// to exs's index (nil: the same). The engine's decoding times of fresh
// answers are added to r's durations when r is not nil.
func answerAndScore(ctx context.Context, opts Options, label, dir string, req engine.EvaluateRequest, exs []example, at []int, r *Results) (gens []Generation, cached bool, err error) {
	n := len(req.Examples)
	key, err := cacheKey(opts, dir, req)
	if err != nil {
		return nil, false, err
	}
	var items []engine.EvaluateItem
	if key != "" {
		items = loadCached(opts.CacheDir, key, n)
	}
	cached = items != nil
	if cached {
		if opts.Progress != nil {
			opts.Progress(label, n, n)
		}
	} else {
		var sum *engine.EvaluateSummary
		if items, sum, err = answer(ctx, opts, label, req, n); err != nil {
			return nil, false, err
		}
		if sum != nil && r != nil {
			r.Durations.GenerateSeconds += sum.GenerateSeconds
			r.Durations.RepeatCheckSeconds += sum.RepeatCheckSeconds
		}
		if key != "" {
			if err := storeCached(opts.CacheDir, key, filepath.Base(dir), items, opts.Now()); err != nil {
				return nil, false, err
			}
		}
	}
	gens = make([]Generation, n)
	for _, it := range items {
		idx := it.Index
		if at != nil {
			idx = at[it.Index]
		}
		e := exs[idx]
		g := Generation{Model: label, Index: idx, FindingID: e.Meta.FindingID, Kind: e.Meta.Kind, Tools: e.Meta.Tools,
			Text: it.Text, FinishReason: it.FinishReason, GenerationTokens: it.GenerationTokens,
			LossTokens: it.LossTokens, nll: it.NLL, Grounding: it.Grounding, LoopGuard: it.LoopGuard, prefix: it.PrefixIDs, ids: it.IDs}
		if req.Grounding == engine.GroundingEnforce {
			g.Decoding = DecodingGrounded
		}
		g.score(e)
		if it.LossTokens > 0 {
			g.Loss = ptr(it.NLL / float64(it.LossTokens))
		}
		gens[it.Index] = g
	}
	return gens, cached, nil
}

// groundModel returns the model's answers under grounded decoding: the
// free answers, except those grounded decoding would have changed (their
// free decoding reported an intervention), which are generated again with
// it. A greedy answer the processor never intervenes in is the free
// answer token for token: the processor hands the logits on untouched, so
// the same batch takes the same argmax at every step. For the same reason
// a changed answer is the free one up to its first intervention, so the
// regeneration resumes there: the engine is handed the free answer's
// tokens before it (the observing pass's PrefixIDs) and decodes only the
// rest, where tuned answers' first interventions lay hundreds of tokens
// into answers of about 400.
func groundModel(ctx context.Context, opts Options, label, dir string, exs []example, free []Generation) ([]Generation, error) {
	out := slices.Clone(free)
	req := engine.EvaluateRequest{Model: dir, MaxTokens: opts.MaxTokens, BatchSize: opts.BatchSize, MaxSeqLength: opts.MaxSeqLength,
		Decoding: engine.Decoding{RepeatStop: opts.RepeatStop, LoopGuard: opts.LoopGuard, Grounding: engine.GroundingEnforce}, SkipScoring: true}
	var at []int
	resume := false
	for i, g := range free {
		if g.Grounding == nil {
			return nil, fmt.Errorf("evaluate %s model: answer %d has no grounding report (an engine without grounded decoding?)", label, i)
		}
		if g.Grounding.FirstIntervention != nil {
			e := exs[g.Index]
			at = append(at, g.Index)
			req.Examples = append(req.Examples, e.Raw)
			req.AddGround(e.grounding())
			// An intervention at the first token leaves nothing to resume
			// from: that answer is generated again whole. A prefix past
			// the first intervention would keep a token grounded decoding
			// replaces.
			if len(g.prefix) > *g.Grounding.FirstIntervention {
				return nil, fmt.Errorf("evaluate %s model: answer %d resumes after %d tokens, past its first intervention at %d", label, i, len(g.prefix), *g.Grounding.FirstIntervention)
			}
			// Empty, never nil: a fresh item's [] and a cached one's
			// omitted prefix must give the request (and its cache key)
			// the same JSON.
			req.Prefixes = append(req.Prefixes, append([]int{}, g.prefix...))
			resume = resume || len(g.prefix) > 0
		}
	}
	if len(at) == 0 {
		return out, nil
	}
	if !resume {
		req.Prefixes = nil
	}
	gens, _, err := answerAndScore(ctx, opts, label+" grounded", dir, req, exs, at, nil)
	if err != nil {
		return nil, err
	}
	for _, g := range gens {
		// The loss is the weights' on the reference answer, the same
		// whichever way the answer was decoded: free decoding scored it.
		f := free[g.Index]
		g.Model, g.Loss, g.LossTokens, g.nll = label, f.Loss, f.LossTokens, f.nll
		out[g.Index] = g
	}
	return out, nil
}

// regenerated returns the answers grounded decoding generated again.
func regenerated(gens []Generation) []Generation {
	var out []Generation
	for _, g := range gens {
		if g.Decoding == DecodingGrounded {
			out = append(out, g)
		}
	}
	return out
}

// answer has the engine answer and score every example of req, each once,
// and returns the answers and the engine's summary.
func answer(ctx context.Context, opts Options, label string, req engine.EvaluateRequest, n int) ([]engine.EvaluateItem, *engine.EvaluateSummary, error) {
	items := make([]engine.EvaluateItem, 0, n)
	seen := make([]bool, n)
	var bad error
	res, err := opts.Engine.Evaluate(ctx, req, func(it engine.EvaluateItem) {
		if it.Index < 0 || it.Index >= n || seen[it.Index] {
			bad = fmt.Errorf("engine reported example %d twice or out of range (0..%d)", it.Index, n-1)
			return
		}
		seen[it.Index] = true
		items = append(items, it)
		if opts.Progress != nil {
			opts.Progress(label, len(items), n)
		}
	}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate %s model %s: %w", label, filepath.Base(req.Model), err)
	}
	if bad != nil {
		return nil, nil, fmt.Errorf("evaluate %s model: %w", label, bad)
	}
	if len(items) != n {
		return nil, nil, fmt.Errorf("evaluate %s model: engine answered %d of %d examples", label, len(items), n)
	}
	if opts.Log != nil && res != nil {
		opts.Log.Debug("evaluated", "model", label, "score_seconds", res.ScoreSeconds, "generate_seconds", res.GenerateSeconds,
			"generation_tokens", res.GenerationTokens, "resumed_tokens", res.ResumedTokens, "repeat_check_seconds", res.RepeatCheckSeconds,
			"shared_prefill", res.SharedPrefill, "cpu_kernels", res.CPUKernels)
	}
	return items, res, nil
}

// evalDir is where a model's results for set live: eval/, or eval/<set>/.
func evalDir(modelDir, set string) string {
	if set == "" {
		return filepath.Join(modelDir, "eval")
	}
	return filepath.Join(modelDir, "eval", set)
}

// maskHomes is g as generations.jsonl keeps it: a home-directory path an
// answer invents ("[/Users/m/web/web/…" in a tuned ZAP answer) is written
// in its relative form, in the text and among the ungrounded identifiers,
// as ingest writes one a report holds. The file is published with the
// model, and validation refuses a model directory that names a home
// directory, whoever's. Scores were taken from the answer as generated.
func maskHomes(g Generation) Generation {
	g.Text, _ = homepath.Roots{}.Text(g.Text)
	if len(g.Scores.Ungrounded) > 0 {
		ids := slices.Clone(g.Scores.Ungrounded)
		for i, id := range ids {
			ids[i], _ = homepath.Roots{}.Text(id)
		}
		g.Scores.Ungrounded = ids
	}
	return g
}

// write stores results.json and generations.jsonl in dir, each atomically.
func write(dir string, r *Results, gens []Generation) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create eval dir: %w", err)
	}
	sort.SliceStable(gens, func(i, j int) bool {
		if gens[i].Model != gens[j].Model {
			return gens[i].Model == "base"
		}
		if gens[i].Decoding != gens[j].Decoding {
			return gens[i].Decoding == ""
		}
		return gens[i].Index < gens[j].Index
	})
	err := atomicfile.Write(filepath.Join(dir, GenerationsFile), 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, g := range gens {
			if err := enc.Encode(maskHomes(g)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write eval generations: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode eval results: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ResultsFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write eval results: %w", err)
	}
	return nil
}

// ReadResults reads <modelDir>/eval/results.json. The error wraps
// os.ErrNotExist when the model was never evaluated.
func ReadResults(modelDir string) (*Results, error) {
	return ReadSetResults(modelDir, "")
}

// ReadSetResults reads the results of evaluation set set
// (<modelDir>/eval/<set>/results.json; "" is ReadResults).
func ReadSetResults(modelDir, set string) (*Results, error) {
	path := filepath.Join(evalDir(modelDir, set), ResultsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read eval results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, want %d (re-run `vulntune evaluate`)", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}
