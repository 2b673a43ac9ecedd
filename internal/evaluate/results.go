package evaluate

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/ident"
)

// SchemaVersion is the version of the results.json layout.
const SchemaVersion = 1

// ScoringVersion changes whenever metrics are computed differently (fact
// matching, hallucination rules), so the pipeline recomputes results made
// by an older scorer instead of comparing them with new ones.
// 2: a word cut off by the length bound no longer counts as a claim.
// 3: fix snippets and the first line must agree on the fixed version; URLs
// count as identifiers for the hallucination rate (issue 16).
// 4: answers stopped for repetition are not ended; the repetition share
// (issue 16).
// 5: a fix snippet's coordinate must name the package's own group, scope
// or module path, another's is a wrong snippet; URLs written with
// backslashes count as URLs, read with slashes.
// 6: a fix snippet that names the package and gives it no version where
// one belongs is wrong ("implementation 'g:a'", "npm install lodash",
// issue 16's "piprencabreelocalize(r'ch.qos.logback:logback-classic',
// ...)"), and so is an install command that never names the package but
// glues its name to other text ("go get golang.kts/io.netty-codec-http2");
// commands that only show or relock versions (npm ls, ./gradlew
// dependencyInsight, bundle update) stay unscored. A command written bare
// in prose ends with its clause.
// 7: the location in the answer's "Where" section must be the finding's,
// with a line number the prompt gives; snippet coverage (an answer that
// leaves out the fix snippet its reference has).
// 8: where the reference answer is known, a fix snippet that pins the
// package is right only as the reference writes its fix, line for line
// (snippetVerbatim): `npm install lodash @4.17.21`, `gem 'uri:0.10.2'`
// or an apt-get line for a Go module pinned the right version and fixed
// nothing.
// 9: the ecosystem an answer's package line names must be the reference
// answer's (EcosystemAccuracy): "(npm)" for a Go module went unscored.
// 10: a fix snippet written with a documented alias of the reference's
// command is written as the reference writes it: `npm add lodash@4.17.21`
// for `npm install lodash@4.17.21` (three of run E1's other-projects
// answers, right and scored wrong).
// 11: a path cut short counts as an ungrounded path (ident.cutPath): a
// substring of a prompt's path glued there to a longer name, which passed
// for grounded ("testdata/fixtures/images/alpine" for
// alpine-39.tar.gz in an "In short" line, "usr/bin/gpassw"); grounded
// decoding holds paths to the same rule. An answer that says no release
// fixes a finding that has a fix (remedy.NoFixClaims: "Until a fixed
// release exists", "no fixed version is known") names the wrong fix,
// whatever version it names elsewhere.
// 12: an URL's path keeps its case (ident.NormURL): a grounded answer
// linked `https://www.osv.dEV/vuLNEraBilItY/rUStSEc-2023-0015`, which v11
// read as the canonical OSV page of RUSTSEC-2023-0015; a canonical page
// is grounded only with its path and id as the database writes them
// (ident.CanonicalID).
// 13: an answer that puts the fix on the wrong release line is a wrong
// fix (remedy.LineContradictions, Facts.FixLine): free answers of the
// other projects called 7 to 11 of their 11 fixes on a later line "the
// lowest fixed version on the installed release line", hoek 2.16.3 to
// 4.2.1 and httpclient 4.1.1 to 4.3.5 among them.
// 14: a fix snippet is the reference's fix snippets whole, one after
// another (snippetVerbatim, tiles), not any of their lines: a grounded
// answer wrote the Maven <dependency> block for httpclient without its
// <groupId> line, every line right, and v13 passed it.
// 15: a word written four times in a row counts the answer as repeating
// itself (RepeatedWord): "The product buffer buffer buffer …", fifteen
// times in a grounded answer of the demo's model, counted as not
// repeating.
const ScoringVersion = 15

// Metrics are one model's figures over a set of examples. Every fraction is
// in 0..1. A metric without eligible examples is nil (JSON null), never 0:
// a dataset without dependency findings has no fixed-version accuracy, and
// 0 would read as "always wrong".
type Metrics struct {
	// N is the number of examples.
	N int `json:"n"`
	// Loss is the mean token-level cross-entropy over every assistant-turn
	// token of the examples (token-weighted, not a mean of per-example
	// means); Perplexity is exp(Loss).
	Loss       *float64 `json:"loss"`
	Perplexity *float64 `json:"perplexity"`
	LossTokens int      `json:"loss_tokens"`
	// FixedVersionAccuracy: share of dependency examples with a known fix
	// whose answer names the package and the fixed version.
	FixedVersionAccuracy *float64 `json:"fixed_version_accuracy"`
	FixedVersionN        int      `json:"fixed_version_n"`
	// CWEAccuracy: share of examples with CWE ids whose answer names one.
	CWEAccuracy *float64 `json:"cwe_accuracy"`
	CWEN        int      `json:"cwe_n"`
	// LocationAccuracy: share of examples with a path or URL whose answer
	// names it (a path may be named by its file name).
	LocationAccuracy *float64 `json:"location_accuracy"`
	LocationN        int      `json:"location_n"`
	// HallucinationRate: share of answers naming an identifier found neither
	// in the prompt nor among the finding's facts (see Ungrounded).
	HallucinationRate *float64 `json:"hallucination_rate"`
	// SnippetAccuracy: share of dependency examples with a known fix whose
	// answer has a fix snippet (code block, upgrade command) for the
	// package, where every such snippet pins the fixed version and none the
	// installed one.
	SnippetAccuracy *float64 `json:"snippet_accuracy"`
	SnippetN        int      `json:"snippet_n"`
	// SnippetCoverage: share of the examples whose reference answer has a
	// fix snippet for the package whose answer has one too (right or
	// wrong: SnippetAccuracy judges it). An answer that leaves the fix out
	// is not scored by SnippetAccuracy; this counts it.
	SnippetCoverage  *float64 `json:"snippet_coverage"`
	SnippetCoverageN int      `json:"snippet_coverage_n"`
	// EcosystemAccuracy: share of the examples whose reference answer
	// names the package's ecosystem whose answer names the same one
	// (Scores.Ecosystem).
	EcosystemAccuracy *float64 `json:"ecosystem_accuracy"`
	EcosystemN        int      `json:"ecosystem_n"`
	// Truncated counts answers cut at max_tokens, Repeating answers the
	// engine stopped because their tail repeated one cycle
	// (engine.RepeatStop); EndedShare is the share of answers that ended
	// by themselves (end of sequence), neither of those.
	Truncated  int      `json:"truncated"`
	Repeating  int      `json:"repeating"`
	EndedShare *float64 `json:"ended_share"`
	// RepetitionShare is the share of answers stopped for repetition,
	// with a line repeated RepeatedLineCount times or more (RepeatedLine)
	// or a word written RepeatedWordCount times in a row (RepeatedWord):
	// a loop the stop ended, or one too loose or too short for it to see.
	RepetitionShare *float64 `json:"repetition_share"`
	// LoopGuarded counts the answers the loop guard (engine.Decoding's
	// LoopGuard) kept out of a loop at least once: the weights alone would
	// have gone on repeating there.
	LoopGuarded int `json:"loop_guarded"`
	// SectionGuarded counts the answers the loop guard kept from opening a
	// bold line that is no section still to come, one already given or one
	// made up (engine.LoopGuard.Sections).
	SectionGuarded int `json:"section_guarded"`
	// LineGuarded counts the answers the loop guard kept from writing a
	// span of a line a third time (engine.LoopGuard.LineSpan): a loop
	// that varies, with no one period for the cycle rule.
	LineGuarded int `json:"line_guarded"`
	// WordGuarded counts the answers the loop guard kept from writing a
	// word engine.LoopGuard.WordRun times in a row: a one-token loop too
	// short for the other rules.
	WordGuarded int `json:"word_guarded"`
	// ItemGuarded counts the answers the loop guard kept from opening a
	// line a third time as two lines had, list markers aside
	// (engine.LoopGuard.ItemSpan): list items written by turns.
	ItemGuarded int `json:"item_guarded"`
	// UngroundedByKind counts the ungrounded identifiers of every answer by
	// kind (ident.Kinds: version, CWE, vulnerability id, path, URL), each
	// kind present, so a regression shows where it came from.
	UngroundedByKind map[string]int `json:"ungrounded_by_kind"`
}

// FactAccuracy is the mean of the fact accuracies that are not nil, or nil
// when none is. The quality gate compares it between models.
func (m Metrics) FactAccuracy() *float64 {
	var sum float64
	n := 0
	for _, v := range []*float64{m.FixedVersionAccuracy, m.CWEAccuracy, m.LocationAccuracy} {
		if v != nil {
			sum += *v
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return ptr(sum / float64(n))
}

// Pair holds the same metrics for the base and the tuned model.
type Pair struct {
	Base  Metrics `json:"base"`
	Tuned Metrics `json:"tuned"`
}

// Results is the content of <model>/eval/results.json.
type Results struct {
	Schema int     `json:"schema"`
	Base   Metrics `json:"base"`
	Tuned  Metrics `json:"tuned"`
	// ByKind splits the metrics by finding kind (dependency, code, ...).
	ByKind map[string]Pair `json:"by_kind"`
	// Grounded holds the figures under grounded decoding; nil when only
	// free decoding was measured (Options.Free, or results made before it).
	Grounded *GroundedResults `json:"grounded,omitempty"`
	// ByTool splits them by the scanner that reported the finding; a
	// finding several tools reported counts for each.
	ByTool map[string]Pair `json:"by_tool"`
	// Set is the evaluation set ("" for the model's held-out split; "other"
	// for reports of other projects), Selection how its examples were
	// chosen when they were (WriteSet).
	Set       string     `json:"set,omitempty"`
	Selection *Selection `json:"selection,omitempty"`

	Model     string `json:"model"`      // the tuned model's name (its dir name)
	BaseModel string `json:"base_model"` // the base model's name
	Dataset   struct {
		Split       string `json:"split"`
		SplitSHA256 string `json:"split_sha256"` // of <split>.jsonl as evaluated
		Examples    int    `json:"examples"`     // rows in the split
		Evaluated   int    `json:"evaluated"`    // after --limit
	} `json:"dataset"`
	MaxTokens int `json:"max_tokens"`
	// Bound says where MaxTokens came from and how answers were stopped
	// (nil in results written before vulntune recorded it).
	Bound    *Bound    `json:"bound,omitempty"`
	Decoding string    `json:"decoding"`
	Date     time.Time `json:"date"`
	// Rescored is when Rescore last scored the stored answers again.
	Rescored  *time.Time `json:"rescored,omitempty"`
	Durations struct {
		BaseSeconds  float64 `json:"base_seconds"`
		TunedSeconds float64 `json:"tuned_seconds"`
		TotalSeconds float64 `json:"total_seconds"`
		// BaseCached: the base model's answers came from the evaluation
		// cache (BaseSeconds is then the time to read them).
		BaseCached bool `json:"base_cached,omitempty"`
		// GenerateSeconds is the engine's decoding time over the answers
		// generated in this run (not those from the cache), and
		// RepeatCheckSeconds the part of it the repetition stop took.
		GenerateSeconds    float64 `json:"generate_seconds"`
		RepeatCheckSeconds float64 `json:"repeat_check_seconds"`
		// GroundedSeconds is the time grounded decoding's second pass took
		// (both models; included in TotalSeconds).
		GroundedSeconds float64 `json:"grounded_seconds,omitempty"`
	} `json:"durations"`
}

// DecodingGrounded marks an answer generated with grounded decoding.
const DecodingGrounded = "grounded"

// GroundedResults are both models' figures under grounded decoding: an
// answer may name a vulnerability id, CWE id, version, path or URL only if
// the prompt or the finding's facts name it (the engine's grounded.py),
// which is what vulntune guarantees whatever the weights do. Free results
// (Results.Base, Results.Tuned) show what the weights alone do.
type GroundedResults struct {
	Base  Metrics `json:"base"`
	Tuned Metrics `json:"tuned"`
	// BaseRegenerated and TunedRegenerated count the answers generated
	// again with grounded decoding: those whose free decoding reported
	// that grounded decoding would intervene. Every other grounded answer
	// is its free answer, token for token.
	BaseRegenerated  int `json:"base_regenerated"`
	TunedRegenerated int `json:"tuned_regenerated"`
	// Interventions counts the tokens grounded decoding replaced in the
	// regenerated answers of both models; Stuck, the answers it had to
	// end because no token could continue them.
	Interventions int `json:"interventions"`
	Stuck         int `json:"stuck"`
}

// Generation is one line of eval/generations.jsonl.
type Generation struct {
	Model            string   `json:"model"` // "base" or "tuned"
	Index            int      `json:"index"` // 0-based row of the split file
	FindingID        string   `json:"finding_id"`
	Kind             string   `json:"kind"`
	Tools            []string `json:"tools,omitempty"`
	Text             string   `json:"text"`
	FinishReason     string   `json:"finish_reason"`
	GenerationTokens int      `json:"generation_tokens"`
	Loss             *float64 `json:"loss"` // mean over this example's assistant tokens
	LossTokens       int      `json:"loss_tokens"`
	Scores           Scores   `json:"scores"`
	// Decoding is DecodingGrounded for an answer grounded decoding
	// generated again, "" for free decoding.
	Decoding string `json:"decoding,omitempty"`
	// Grounding is what grounded decoding did to this answer, or for a
	// free one where it would first have intervened.
	Grounding *engine.GroundingStats `json:"grounding,omitempty"`
	// LoopGuard is what the loop guard did to this answer (nil: decoded
	// without one).
	LoopGuard *engine.LoopGuardStats `json:"loop_guard,omitempty"`
	nll       float64
	// prefix is the engine's PrefixIDs: where grounded regeneration
	// resumes this free answer (groundModel). Not written: token ids mean
	// nothing without the tokenizer, and the cache keeps them.
	prefix []int
	// ids are the answer's tokens (engine.EvaluateItem.IDs), which
	// observe replays; not written either.
	ids []int
}

// score checks g's answer against its example: the one place that decides
// how an answer is scored, for fresh answers and rescored ones alike.
func (g *Generation) score(e example) {
	text := completeText(g.Text, g.FinishReason)
	g.Scores = Score(text, e.prompt(), e.Meta.Facts)
	if s := g.Scores.Snippet; s != nil && *s && !snippetVerbatim(text, e.answer(), e.Meta.Facts.Package) {
		wrong := false
		g.Scores.Snippet = &wrong
	}
	if snippetScore(e.answer(), e.Meta.Facts) != nil {
		w := g.Scores.Snippet != nil
		g.Scores.SnippetWritten = &w
	}
	if want := namedEcosystem(e.answer()); want != "" {
		ok := namedEcosystem(text) == want
		g.Scores.Ecosystem = &ok
	}
}

// aggregate computes Metrics over gens.
func aggregate(gens []Generation) Metrics {
	m := Metrics{N: len(gens)}
	var nll float64
	var fv, cwe, loc, hall, snip, cov, eco, rep int
	if len(gens) > 0 {
		m.UngroundedByKind = map[string]int{}
		for _, k := range ident.Kinds {
			m.UngroundedByKind[k] = 0
		}
	}
	for _, g := range gens {
		nll += g.nll
		m.LossTokens += g.LossTokens
		count(g.Scores.FixedVersion, &m.FixedVersionN, &fv)
		count(g.Scores.CWE, &m.CWEN, &cwe)
		count(g.Scores.Location, &m.LocationN, &loc)
		count(g.Scores.Snippet, &m.SnippetN, &snip)
		count(g.Scores.SnippetWritten, &m.SnippetCoverageN, &cov)
		count(g.Scores.Ecosystem, &m.EcosystemN, &eco)
		if len(g.Scores.Ungrounded) > 0 {
			hall++
		}
		for k, n := range g.Scores.UngroundedByKind {
			m.UngroundedByKind[k] += n
		}
		switch g.FinishReason {
		case FinishLength:
			m.Truncated++
		case FinishRepetition:
			m.Repeating++
		}
		_, lines := RepeatedLine(g.Text)
		if _, words := RepeatedWord(g.Text); g.FinishReason == FinishRepetition || lines >= RepeatedLineCount || words >= RepeatedWordCount {
			rep++
		}
		if g.LoopGuard != nil && g.LoopGuard.Bans > 0 {
			m.LoopGuarded++
		}
		if g.LoopGuard != nil && g.LoopGuard.SectionBans > 0 {
			m.SectionGuarded++
		}
		if g.LoopGuard != nil && g.LoopGuard.LineBans > 0 {
			m.LineGuarded++
		}
		if g.LoopGuard != nil && g.LoopGuard.WordBans > 0 {
			m.WordGuarded++
		}
		if g.LoopGuard != nil && g.LoopGuard.ItemBans > 0 {
			m.ItemGuarded++
		}
	}
	if m.LossTokens > 0 {
		m.Loss = ptr(nll / float64(m.LossTokens))
		m.Perplexity = ptr(math.Exp(*m.Loss))
	}
	m.FixedVersionAccuracy = frac(fv, m.FixedVersionN)
	m.CWEAccuracy = frac(cwe, m.CWEN)
	m.LocationAccuracy = frac(loc, m.LocationN)
	m.HallucinationRate = frac(hall, m.N)
	m.SnippetAccuracy = frac(snip, m.SnippetN)
	m.SnippetCoverage = frac(cov, m.SnippetCoverageN)
	m.EcosystemAccuracy = frac(eco, m.EcosystemN)
	m.EndedShare = frac(m.N-m.Truncated-m.Repeating, m.N)
	m.RepetitionShare = frac(rep, m.N)
	return m
}

func count(ok *bool, eligible, hits *int) {
	if ok == nil {
		return
	}
	*eligible++
	if *ok {
		*hits++
	}
}

func frac(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	return ptr(float64(a) / float64(b))
}

func ptr(f float64) *float64 { return &f }

// summarize fills the overall and per-kind metrics of r.
func (r *Results) summarize(base, tuned []Generation) {
	r.Base, r.Tuned = aggregate(base), aggregate(tuned)
	kinds := map[string]bool{}
	for _, g := range base {
		kinds[g.Kind] = true
	}
	r.ByKind = map[string]Pair{}
	for k := range kinds {
		is := func(g Generation) bool { return g.Kind == k }
		r.ByKind[k] = Pair{Base: aggregate(where(base, is)), Tuned: aggregate(where(tuned, is))}
	}
	tools := map[string]bool{}
	for _, g := range base {
		for _, t := range g.Tools {
			tools[t] = true
		}
	}
	r.ByTool = map[string]Pair{}
	for t := range tools {
		is := func(g Generation) bool { return slices.Contains(g.Tools, t) }
		r.ByTool[t] = Pair{Base: aggregate(where(base, is)), Tuned: aggregate(where(tuned, is))}
	}
}

func where(gens []Generation, keep func(Generation) bool) []Generation {
	var out []Generation
	for _, g := range gens {
		if keep(g) {
			out = append(out, g)
		}
	}
	return out
}

// Kinds returns the keys of ByKind, sorted.
func (r *Results) Kinds() []string {
	out := make([]string, 0, len(r.ByKind))
	for k := range r.ByKind {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// summarizeGrounded fills r.Grounded from both models' free and grounded
// answers (the free ones where grounded decoding left them alone).
func (r *Results) summarizeGrounded(baseG, tunedG []Generation) {
	g := &GroundedResults{Base: aggregate(baseG), Tuned: aggregate(tunedG)}
	for _, gens := range [][]Generation{baseG, tunedG} {
		for _, a := range gens {
			if a.Decoding != DecodingGrounded {
				continue
			}
			if a.Model == "base" {
				g.BaseRegenerated++
			} else {
				g.TunedRegenerated++
			}
			if a.Grounding != nil {
				g.Interventions += a.Grounding.Interventions
				g.Stuck += min(a.Grounding.Stuck, 1)
			}
		}
	}
	r.Grounded = g
}

// Tools returns the keys of ByTool, sorted.
func (r *Results) Tools() []string {
	out := make([]string, 0, len(r.ByTool))
	for t := range r.ByTool {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
