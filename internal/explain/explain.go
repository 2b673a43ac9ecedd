// Package explain answers the findings of a scan with a local model: it
// reads scanner reports (as `vulntune parse` does) or a findings.jsonl,
// builds each finding's prompt exactly as the dataset does (narrate), has
// the engine answer the prompts (the answer op: evaluation's greedy batched
// decoding without its scoring, the shared system prompt processed once,
// one continuous batch, answers stopped in a loop), checks every answer
// with evaluation's grounding test, and writes
// the answers beside the deterministic remediation facts (remedy) as
// Markdown, JSON, SARIF (the input SARIF enriched when the inputs are
// SARIF, see sarifin.go; a log of its own otherwise) or HTML. Answers are
// cached by engine, model and prompt under the data dir, so explaining an
// unchanged scan again generates nothing.
//
// The JSON output is Report, schema SchemaVersion: one object with
// "schema", "model", "max_tokens", "findings" (Explanation, most severe
// first), "summary" (Summary) and "input_errors". Fields are only added
// within a schema version; renaming or removing one bumps it.
package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

// SchemaVersion is the version of the JSON Report.
const SchemaVersion = 1

// DefaultMaxTokens bounds each answer as evaluation bounds its answers (the
// longest reference answer plus 25 %): the reference answers of the
// samples and the corpus run to 754 tokens, and a grounded answer gives
// every held line and may add its own (the other projects' gitleaks
// answer, its secret's Fix section held whole, took 836: 768 would have
// cut its How to verify). Answers that end by themselves pay nothing for
// the room.
const DefaultMaxTokens = 1024

// DefaultBatchSize is the number of answers decoded together. A scan has
// more findings than an evaluation set, and a wider batch decodes more
// tokens a second on a CPU (bench/decodestep.sh, 2 cores, 1,000 tokens of
// context: 119 tokens/s at 24, 141 at 48); OLMo-2-1B's KV cache for it is
// about 4.5 GB in bf16 (48 × ~700 tokens × 128 KB).
const DefaultBatchSize = 48

// Runner is the part of the engine explain needs (the answer op).
type Runner interface {
	Answer(ctx context.Context, req engine.AnswerRequest, onItem func(engine.EvaluateItem), onEvent func(engine.Event)) (*engine.AnswerSummary, error)
}

// Options say what to explain and with which model.
type Options struct {
	// Inputs are scanner reports (files, directories, zip archives) and
	// findings.jsonl files written by `vulntune parse`, told apart by
	// content.
	Inputs []string
	// TempDir holds ingest's spill files (see ingest.Options.TempDir).
	TempDir string
	// MinSeverity drops findings below it ("" keeps all).
	MinSeverity finding.Severity
	// Limit explains only the Limit most severe findings (0: all).
	Limit int
	// ModelDir is the model that answers; ModelName its name in the
	// output (default: the directory's name).
	ModelDir  string
	ModelName string
	// MaxTokens bounds each answer (0: DefaultMaxTokens).
	MaxTokens int
	// BatchSize is the number of answers generated together (0:
	// DefaultBatchSize).
	BatchSize int
	Engine    Runner
	// CacheDir, if set, keeps each answer keyed by the engine, the
	// model's files, the prompt and MaxTokens. Only engines with an
	// AnswerID take part (their greedy answers are reproducible).
	CacheDir string
	// Free decodes freely. By default answers are decoded grounded: an
	// answer may name a vulnerability id, CWE id, version, path or URL only
	// if the prompt or the finding's facts name it (the engine's
	// grounded.py, held to evaluation's hallucination measure).
	Free bool
	// SARIF asks for the SARIF output of the input logs themselves: when
	// every input is a SARIF file, each result is matched to its finding
	// (which reads every result through ingest once more) so that
	// WriteSARIF can enrich the input instead of writing a log of its own.
	SARIF bool
	// Progress, if set, is called as answers arrive (cached ones count at
	// once).
	Progress func(done, total int)
	Log      *slog.Logger // nil: discard
	Now      func() time.Time
}

// Report is what one explain run produced (the JSON output).
type Report struct {
	Schema    int    `json:"schema"`
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	// Decoding is "grounded" (the default) or "free" (Options.Free).
	Decoding    string        `json:"decoding"`
	Findings    []Explanation `json:"findings"`
	Summary     Summary       `json:"summary"`
	InputErrors []string      `json:"input_errors"`
	// InputWarnings are problems the parsers worked around, keeping the
	// findings (ingest.Result's Warnings).
	InputWarnings []string `json:"input_warnings,omitempty"`
	// sarifIn are the input SARIF logs to enrich (Options.SARIF); not
	// part of the JSON.
	sarifIn []sarifInput
}

// Explanation is one finding, the model's answer to it and the
// deterministic remediation to compare it with.
type Explanation struct {
	FindingID string   `json:"finding_id"`
	Kind      string   `json:"kind"`
	Severity  string   `json:"severity"`
	Title     string   `json:"title"`
	Tool      string   `json:"tool"`
	Rule      string   `json:"rule,omitempty"`
	Path      string   `json:"path,omitempty"`
	Line      int      `json:"line,omitempty"`
	URL       string   `json:"url,omitempty"`
	Image     string   `json:"image,omitempty"`
	CWE       []string `json:"cwe"`
	VulnIDs   []string `json:"vuln_ids"`
	// Remediation are the deterministic facts (remedy) beside the answer.
	Remediation Remediation `json:"remediation"`
	// Answer is the model's answer, verbatim; FinishReason is "stop",
	// "length" (cut at max_tokens) or "repetition" (stopped in a loop,
	// kept up to the loop's first round).
	Answer           string `json:"answer"`
	FinishReason     string `json:"finish_reason"`
	GenerationTokens int    `json:"generation_tokens"`
	// Grounded is false when the answer names identifiers (ids, versions,
	// paths, URLs) in neither the prompt nor the finding's facts; they are
	// listed in Ungrounded. Such answers are kept and marked, never
	// replaced; grounded decoding (the default) does not write them.
	Grounded   bool     `json:"grounded"`
	Ungrounded []string `json:"ungrounded"`
	// Names says whether the answer names the fixed version, a CWE and the
	// location (nil: the finding has none to name), as evaluation scores.
	Names Names `json:"names"`
	// Cached says the answer came from the cache.
	Cached bool `json:"cached"`
}

// Names are evaluation's accuracy checks of one answer.
type Names struct {
	FixedVersion *bool `json:"fixed_version"`
	CWE          *bool `json:"cwe"`
	Location     *bool `json:"location"`
}

// Remediation is remedy's deterministic advice for a finding.
type Remediation struct {
	Summary          string   `json:"summary,omitempty"`
	Package          string   `json:"package,omitempty"`
	Ecosystem        string   `json:"ecosystem,omitempty"`
	InstalledVersion string   `json:"installed_version,omitempty"`
	FixedVersion     string   `json:"fixed_version,omitempty"`
	Status           string   `json:"status,omitempty"`
	Changes          []Change `json:"changes"`
	Steps            []string `json:"steps"`
	// References are the finding's advisory and weakness pages (at most
	// maxReferences): answers link only pages their prompt shows, so the
	// canonical pages of the finding's ids are vulntune's to give.
	References []string `json:"references"`
}

// maxReferences bounds the links beside an answer: the scanner's own page
// and the advisories come first, the CWE entries after them.
const maxReferences = 3

// Change is one edit remedy proposes: a snippet for a build system, in a
// file when known.
type Change struct {
	BuildSystem string `json:"build_system"`
	File        string `json:"file,omitempty"`
	Snippet     string `json:"snippet"`
}

// Summary counts what happened.
type Summary struct {
	// Findings were read; Suppressed, BelowSeverity and OverLimit were
	// left out (in that order of checks).
	Findings      int `json:"findings"`
	Suppressed    int `json:"suppressed"`
	BelowSeverity int `json:"below_severity"`
	OverLimit     int `json:"over_limit"`
	// Answered = Grounded + Flagged; Cached of them came from the cache;
	// Looped of them were stopped in a loop (finish reason "repetition").
	Answered int `json:"answered"`
	Grounded int `json:"grounded"`
	Flagged  int `json:"flagged"`
	Cached   int `json:"cached"`
	Looped   int `json:"looped"`
	// Seconds is the whole run; GenerationTokens and TokensPerSecond
	// count the answers generated in it (not the cached ones).
	Seconds          float64 `json:"seconds"`
	GenerationTokens int     `json:"generation_tokens"`
	TokensPerSecond  float64 `json:"tokens_per_second"`
	// Where the engine's time went (zero when every answer was cached):
	// loading the model, then answering; UniquePrompts were answered (the
	// others repeated one), PromptTokens processed, SharedPrefixTokens of
	// them once for all prompts.
	LoadSeconds        float64 `json:"load_seconds"`
	AnswerSeconds      float64 `json:"answer_seconds"`
	UniquePrompts      int     `json:"unique_prompts"`
	PromptTokens       int     `json:"prompt_tokens"`
	SharedPrefixTokens int     `json:"shared_prefix_tokens"`
}

// job is one finding on its way to an answer.
type job struct {
	f        finding.Finding
	rem      remedy.Remediation
	messages []chat.Message // system, user and an empty assistant turn
	prompt   string         // system and user text, for the grounding test
	facts    dataset.Facts  // what evaluation scores the answer against
	fixes    string         // vulntune's own answer, whose fix, In short, What it is, Where and How to verify lines and Why it matters opening grounded decoding holds the answer's to
	key      string         // cache key; "" when not cached
	item     *engine.EvaluateItem
	cached   bool
}

// Run reads the inputs, answers every kept finding and checks the answers.
// Input problems are in Report.InputErrors; an error means nothing could be
// explained (no model, an engine failure, no readable input).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.ModelDir == "" || opts.Engine == nil {
		return nil, errors.New("explain: a model dir and an engine are required")
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if _, err := ParseSeverity(string(opts.MinSeverity)); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	start := opts.Now()
	r := &Report{Schema: SchemaVersion, Model: opts.ModelName, MaxTokens: opts.MaxTokens, Decoding: "grounded",
		Findings: []Explanation{}, InputErrors: []string{}}
	if opts.Free {
		r.Decoding = "free"
	}
	if r.Model == "" {
		r.Model = filepath.Base(opts.ModelDir)
	}
	in, err := readInputs(ctx, opts.Inputs, opts.TempDir)
	if err != nil {
		return nil, err
	}
	r.InputErrors, r.InputWarnings = in.errors, in.warnings
	r.Summary.Findings = len(in.findings)
	if opts.SARIF {
		if r.sarifIn, err = sarifInputs(ctx, opts.Inputs, opts.TempDir); err != nil {
			return nil, err
		}
	}
	kept := selectFindings(in.findings, opts.MinSeverity, opts.Limit, &r.Summary)

	jobs := make([]*job, 0, len(kept))
	for _, f := range kept {
		rem, err := remedy.For(&f)
		if err != nil {
			r.InputErrors = append(r.InputErrors, fmt.Sprintf("finding %s: %v", f.ID, err))
			continue
		}
		// The dataset's own example: its system and user turns are the
		// prompt the model was trained on. Its reference answer is not
		// sent: the assistant turn is left empty, so the engine scores
		// nothing worth the time and the model is not shown the answer.
		ex := narrate.Example(&f, rem, nil)
		msgs := append(chat.PromptTurns(ex.Messages), chat.Message{Role: "assistant", Content: ""})
		jobs = append(jobs, &job{f: f, rem: rem, messages: msgs, prompt: ex.Prompt(), facts: ex.Meta.Facts, fixes: ex.Assistant()})
	}
	if err := answerAll(ctx, opts, jobs, &r.Summary); err != nil {
		return nil, err
	}
	for _, j := range jobs {
		e := explanation(j)
		r.Findings = append(r.Findings, e)
		r.Summary.Answered++
		if e.Grounded {
			r.Summary.Grounded++
		} else {
			r.Summary.Flagged++
		}
		if e.Cached {
			r.Summary.Cached++
		}
		if e.FinishReason == "repetition" {
			r.Summary.Looped++
		}
	}
	r.Summary.Seconds = opts.Now().Sub(start).Seconds()
	return r, nil
}

// ParseSeverity reads a minimum severity; "" is none.
func ParseSeverity(s string) (finding.Severity, error) {
	sev := finding.Severity(s)
	if s != "" && sev.Rank() < 0 {
		return "", fmt.Errorf("unknown severity %q (want one of %v)", s, finding.Severities)
	}
	return sev, nil
}

// selectFindings drops suppressed findings and those below min, orders the
// rest most severe first (then by file, line and id, so the order is
// stable), and keeps the first limit.
func selectFindings(all []finding.Finding, min finding.Severity, limit int, s *Summary) []finding.Finding {
	var out []finding.Finding
	for _, f := range all {
		switch {
		case f.Suppressed:
			s.Suppressed++
		case min != "" && f.Severity.Rank() < min.Rank():
			s.BelowSeverity++
		default:
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if ga, gb := group(a), group(b); ga != gb {
			return ga < gb
		}
		if a.Location.StartLine != b.Location.StartLine {
			return a.Location.StartLine < b.Location.StartLine
		}
		return a.ID < b.ID
	})
	if limit > 0 && len(out) > limit {
		s.OverLimit = len(out) - limit
		out = out[:limit]
	}
	return out
}

// group is where a finding is, for grouping: its file, else its URL's
// site, else its image.
func group(f finding.Finding) string {
	l := f.Location
	switch {
	case l.Path != "":
		return l.Path
	case l.URL != "":
		return l.URL
	case l.Image != "":
		return l.Image
	}
	return ""
}

// answerAll fills every job's item: from the cache where it holds one,
// else from the engine in one answer call for the rest (which answers
// identical prompts once).
func answerAll(ctx context.Context, opts Options, jobs []*job, s *Summary) error {
	c, err := newCache(opts)
	if err != nil {
		return err
	}
	var todo []*job
	done := 0
	for _, j := range jobs {
		if c != nil {
			if j.key, err = c.key(j.messages); err != nil {
				return err
			}
			if it := c.load(j.key); it != nil {
				j.item, j.cached = it, true
				done++
				continue
			}
		}
		todo = append(todo, j)
	}
	if opts.Progress != nil && len(jobs) > 0 {
		opts.Progress(done, len(jobs))
	}
	if len(todo) == 0 {
		return nil
	}
	req := engine.AnswerRequest{Model: opts.ModelDir, MaxTokens: opts.MaxTokens, BatchSize: opts.BatchSize,
		Decoding: engine.Decoding{RepeatStop: &evaluate.DefaultRepeatStop, LoopGuard: &engine.DefaultLoopGuard}}
	for _, j := range todo {
		b, err := json.Marshal(struct {
			Messages []chat.Message `json:"messages"`
		}{j.messages})
		if err != nil {
			return err
		}
		req.Examples = append(req.Examples, b)
		if !opts.Free {
			req.AddGround(evaluate.Ground(j.prompt, j.facts), evaluate.AnswerPin(j.facts, string(j.f.Kind), j.fixes))
			req.Grounding = engine.GroundingEnforce
		}
	}
	var bad error
	var storeErr error
	t := opts.Now()
	sum, err := opts.Engine.Answer(ctx, req, func(it engine.EvaluateItem) {
		if it.Index < 0 || it.Index >= len(todo) || todo[it.Index].item != nil {
			bad = fmt.Errorf("engine reported answer %d twice or out of range (0..%d)", it.Index, len(todo)-1)
			return
		}
		j := todo[it.Index]
		j.item = &it
		s.GenerationTokens += it.GenerationTokens
		if c != nil {
			storeErr = errors.Join(storeErr, c.store(j.key, it))
		}
		done++
		if opts.Progress != nil {
			opts.Progress(done, len(jobs))
		}
	}, nil)
	if err != nil {
		return fmt.Errorf("explain with %s: %w", filepath.Base(opts.ModelDir), err)
	}
	if bad != nil {
		return fmt.Errorf("explain: %w", bad)
	}
	for _, j := range todo {
		if j.item == nil {
			return fmt.Errorf("explain: the engine answered %d of %d findings", countAnswered(todo), len(todo))
		}
	}
	if storeErr != nil {
		opts.Log.Warn("explain cache not written", "error", storeErr)
	}
	if sum != nil {
		s.LoadSeconds, s.AnswerSeconds = sum.LoadSeconds, sum.PrefixSeconds+sum.GenerateSeconds
		s.UniquePrompts, s.PromptTokens, s.SharedPrefixTokens = sum.UniquePrompts, sum.PromptTokens, sum.SharedPrefixTokens
	}
	if sec := opts.Now().Sub(t).Seconds(); sec > 0 {
		s.TokensPerSecond = float64(s.GenerationTokens) / sec
	}
	return nil
}

func countAnswered(jobs []*job) int {
	n := 0
	for _, j := range jobs {
		if j.item != nil {
			n++
		}
	}
	return n
}

// explanation checks j's answer and sets it beside the finding's facts.
func explanation(j *job) Explanation {
	f, it := j.f, j.item
	e := Explanation{
		FindingID: f.ID, Kind: string(f.Kind), Severity: string(f.Severity), Title: f.Title,
		Path: f.Location.Path, Line: f.Location.StartLine, URL: f.Location.URL, Image: f.Location.Image,
		CWE: nonNil(f.CWE), VulnIDs: nonNil(f.VulnIDs),
		Answer: strings.TrimSpace(it.Text), FinishReason: it.FinishReason, GenerationTokens: it.GenerationTokens,
		Cached: j.cached, Remediation: remediation(&f, j.rem),
	}
	if len(f.Tools) > 0 {
		e.Tool, e.Rule = f.Tools[0].Name, f.Tools[0].RuleID
	}
	// An answer stopped in a loop is cut as one cut at max_tokens is: its
	// last word may be partial.
	reason := it.FinishReason
	if reason == "repetition" {
		reason = "length"
	}
	sc := evaluate.ScoreAnswer(it.Text, reason, j.prompt, j.facts)
	e.Ungrounded = nonNil(sc.Ungrounded)
	e.Grounded = len(e.Ungrounded) == 0
	e.Names = Names{FixedVersion: sc.FixedVersion, CWE: sc.CWE, Location: sc.Location}
	return e
}

func remediation(f *finding.Finding, rem remedy.Remediation) Remediation {
	r := Remediation{Summary: rem.Summary, Changes: []Change{}, Steps: nonNil(rem.Steps),
		References: nonNil(rem.References[:min(len(rem.References), maxReferences)])}
	if f.Package != nil {
		r.Package, r.Ecosystem, r.InstalledVersion = f.Package.Name, f.Package.Ecosystem, f.Package.InstalledVersion
	}
	if c := rem.Choice; c != nil {
		r.Status = string(c.Status)
		if c.Status != remedy.StatusNotAffected {
			r.FixedVersion = c.Fixed
		}
	}
	for _, c := range rem.Changes {
		r.Changes = append(r.Changes, Change{BuildSystem: c.BuildSystem, File: c.File, Snippet: c.Snippet})
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON writes r as indented JSON (the schema in the package doc).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Formats are the output formats Write knows, the default first.
var Formats = []string{"markdown", "json", "sarif", "html"}

// CheckFormat refuses a format Write does not know, saying what to use.
func CheckFormat(format string) error {
	if slices.Contains(Formats, format) {
		return nil
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Write writes r in format (see Formats).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "markdown":
		return WriteMarkdown(w, r)
	case "json":
		return WriteJSON(w, r)
	case "sarif":
		return WriteSARIF(w, r)
	case "html":
		return WriteHTML(w, r)
	}
	return CheckFormat(format)
}

// WriteFile writes r in format to path, atomically.
func WriteFile(path string, r *Report, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { return Write(w, r, format) })
}

// WriteSummary writes the run's one-paragraph summary for people.
func WriteSummary(w io.Writer, s Summary) error {
	_, err := fmt.Fprintf(w, "explained %d finding(s): %d grounded, %d flagged, %d from the cache, %d stopped in a loop; %.1fs, %d tokens generated (%.1f tokens/s)",
		s.Answered, s.Grounded, s.Flagged, s.Cached, s.Looped, s.Seconds, s.GenerationTokens, s.TokensPerSecond)
	if err != nil {
		return err
	}
	if left := s.Suppressed + s.BelowSeverity + s.OverLimit; left > 0 {
		_, err = fmt.Fprintf(w, "; left out %d suppressed, %d below the minimum severity, %d over the limit", s.Suppressed, s.BelowSeverity, s.OverLimit)
		if err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(w)
	return err
}
