package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
)

// EvaluateRequest asks the engine to score and answer chat examples with one
// model, loaded once.
type EvaluateRequest struct {
	Model        string            `json:"model"`    // model directory (fused)
	Examples     []json.RawMessage `json:"examples"` // {"messages":[...]} rows
	MaxTokens    int               `json:"max_tokens"`
	MaxSeqLength int               `json:"max_seq_length"` // 0: DefaultScoreLength
	BatchSize    int               `json:"batch_size"`
	Decoding
	// SkipScoring answers without scoring: items carry no NLL and the
	// summary no loss. Grounded regeneration answers again what free
	// decoding scored, and the loss belongs to the weights, not to the
	// decoding; skipping it saves a forward pass over each whole example.
	SkipScoring bool `json:"skip_scoring,omitempty"`
	// Prefixes, when set, holds one list of answer token ids per example
	// (empty: none): each answer is decoded from after its prefix, as if
	// it had generated it, and reported whole (text, tokens and grounding
	// stats include the prefix). Grounded regeneration resumes each answer
	// at free decoding's first intervention: up to there grounded decoding
	// generates the free answer token for token, so its prefix is the
	// observing pass's EvaluateItem.PrefixIDs. Ids, not text: encoding the
	// decoded text need not give the same tokens back. A prefix leaves at
	// least one of MaxTokens to decode. Omitted when nil, so requests
	// without it keep their cache keys; with it, the prefixes are part of
	// the key.
	Prefixes [][]int `json:"prefixes,omitempty"`
	// ReturnIDs asks for every answer's token ids (EvaluateItem.IDs): what
	// Observe replays. Omitted when false, so requests without it keep
	// their cache keys.
	ReturnIDs bool `json:"return_ids,omitempty"`
}

// validatePrefixes checks r's prefixes as the engine would.
func (r EvaluateRequest) validatePrefixes() error {
	if len(r.Prefixes) == 0 {
		return nil
	}
	if len(r.Prefixes) != len(r.Examples) {
		return fmt.Errorf("evaluate: %d prefixes for %d examples", len(r.Prefixes), len(r.Examples))
	}
	for i, p := range r.Prefixes {
		if len(p) >= r.MaxTokens {
			return fmt.Errorf("evaluate: prefix %d: %d tokens leave none of max_tokens %d", i, len(p), r.MaxTokens)
		}
		for _, id := range p {
			if id < 0 {
				return fmt.Errorf("evaluate: prefix %d: token id %d", i, id)
			}
		}
	}
	return nil
}

// Decoding is how the evaluate and answer ops decode their answers beyond
// the bound and the batch: both hand it to the same engine code
// (repeat.py's CycleStop, grounded.py's request_processors), and both
// check it with validate. MaxTokens and BatchSize mean the same in both
// ops too, yet stay in each request: encoding/json writes an embedded
// struct's fields where it sits, evaluate's max_seq_length lies between
// the two, and evaluation hashes its request into cache keys
// (internal/evaluate's cacheKey), so the JSON must not change (TestRequestJSON).
type Decoding struct {
	// RepeatStop, when set, ends an answer whose tail repeats one cycle
	// (finish reason "repetition"); nil generates to MaxTokens. Omitted
	// when nil, so requests without it keep the cache keys they had
	// before it existed.
	RepeatStop *RepeatStop `json:"repeat_stop,omitempty"`
	// LoopGuard, when set, masks at each step every token that would
	// complete a cycle by its settings (vulntune_engine/repeat.py
	// CycleGuard), unless the prompt holds that run: the model writes its
	// next choice instead of a further copy. Settings earlier than
	// RepeatStop's keep the stop from firing at all. Omitted when nil, so
	// requests without it keep their cache keys.
	LoopGuard *LoopGuard `json:"loop_guard,omitempty"`
	// Grounds, when set, holds one text per example (evaluate.Ground: its
	// prompt and facts) that grounded decoding (grounded.py) lets answers
	// take identifiers from, and Grounding says how: GroundingObserve or
	// GroundingEnforce ("", with grounds, enforces).
	Grounds   []string `json:"grounds,omitempty"`
	Grounding string   `json:"grounding,omitempty"`
	// Pins, when set, holds one entry per ground: the versions grounded
	// decoding keeps the answer's fix snippets to (vulntune_engine/pin.py),
	// nil for an example without both. Omitted when empty, so requests
	// without it keep their cache keys.
	Pins []*Pin `json:"pins,omitempty"`
}

// AddGround appends an example's ground and its pin (nil: none) to d. Pins
// stays empty until an example has one, so a request none of whose
// examples is pinned keeps the JSON, and the cache key, it had before pins
// existed.
func (d *Decoding) AddGround(ground string, pin *Pin) {
	d.Grounds = append(d.Grounds, ground)
	if pin != nil && d.Pins == nil {
		d.Pins = make([]*Pin, len(d.Grounds)-1, len(d.Grounds))
	}
	if d.Pins != nil {
		d.Pins = append(d.Pins, pin)
	}
}

// Pin is what grounded decoding holds an answer to beyond its ground: no
// version in a fenced block or an install command of a dependency's fix
// is Installed (evaluate's snippet score calls such a snippet
// vulnerable), and one still being written that can only become Installed
// is steered to Fixed where the two part; fenced blocks and the lines of
// the sections it names are vulntune's own for the finding.
type Pin struct {
	Installed string `json:"installed"`
	Fixed     string `json:"fixed"`
	// Blocks, when set, are what a fenced block of the answer may hold:
	// one or more of them whole, one after another, each line as written
	// but for leading and trailing blanks; a fence closes only after a
	// whole one (the finding's own fix snippets, evaluate.AnswerPin).
	Blocks [][]string `json:"blocks,omitempty"`
	// Sections, when set, holds the sections it names by their heading
	// line ("**Where**") to their lines, every one once, in any order, as
	// written but for leading and trailing blanks (blank lines aside): the
	// finding's own facts, as vulntune writes them (evaluate.AnswerPin).
	Sections map[string][]string `json:"sections,omitempty"`
	// Leads, when set, maps a section's heading line ("**Fix**") to the
	// lines it must open with, in order, each as written but for leading
	// and trailing blanks (blank lines between them aside); the rest of
	// the section is the model's (evaluate.AnswerPin).
	Leads map[string][]string `json:"leads,omitempty"`
	// Headings, when set, are the only section headings ("**Where**") the
	// answer may write, each once: the sections the finding's own answer
	// has (evaluate.AnswerPin).
	Headings []string `json:"headings,omitempty"`
	// Steps, when set, maps the opening of a fix step that states a fact
	// ("Address the underlying weakness") to the only lines, a list
	// marker and blanks aside, a line of the answer that opens so may be
	// (none: it may not be written): the finding's own steps
	// (evaluate.AnswerPin). The opening is matched in any case.
	Steps map[string][]string `json:"steps,omitempty"`
	// Forbidden are phrases, lower-case, the answer may not write in any
	// case: the claims that would make its fix wrong (evaluate.AnswerPin).
	Forbidden []string `json:"forbidden,omitempty"`
}

// validate checks a request of op ("evaluate" or "answer") decoding its
// answers to n examples with d, at most maxTokens tokens each and
// batchSize at a time, as the engine would, but before a model loads.
func (d Decoding) validate(op string, maxTokens, batchSize, n int) error {
	if maxTokens <= 0 || batchSize <= 0 {
		return fmt.Errorf("%s: max_tokens and batch_size must be positive, got %d and %d", op, maxTokens, batchSize)
	}
	if err := d.RepeatStop.validate(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := d.LoopGuard.validate(); err != nil {
		return fmt.Errorf("%s: loop guard: %w", op, err)
	}
	if len(d.Grounds) > 0 && len(d.Grounds) != n {
		return fmt.Errorf("%s: %d grounds for %d examples", op, len(d.Grounds), n)
	}
	if len(d.Pins) > 0 && len(d.Pins) != len(d.Grounds) {
		return fmt.Errorf("%s: %d pins for %d grounds", op, len(d.Pins), len(d.Grounds))
	}
	switch d.Grounding {
	case "", GroundingObserve, GroundingEnforce:
	default:
		return fmt.Errorf("%s: grounding %q: want %q or %q", op, d.Grounding, GroundingObserve, GroundingEnforce)
	}
	return nil
}

// RepeatStop is the engine's loop check (vulntune_engine/repeat.py
// CycleStop): an answer stops once its last MinRepeats periods of some
// length p ≤ MaxPeriod tokens are identical and span at least MinTokens
// tokens. A greedy decoder that starts repeating a line repeats it to the
// length bound; this ends it after a few copies.
type RepeatStop struct {
	MaxPeriod  int `json:"max_period"`
	MinRepeats int `json:"min_repeats"`
	MinTokens  int `json:"min_tokens"`
}

// String describes s as results and logs show it.
func (s RepeatStop) String() string {
	return fmt.Sprintf("a cycle of at most %d tokens repeated %d times over at least %d tokens", s.MaxPeriod, s.MinRepeats, s.MinTokens)
}

// validate checks s as the engine would.
func (s *RepeatStop) validate() error {
	if s != nil && (s.MaxPeriod < 1 || s.MinRepeats < 2 || s.MinTokens < 1) {
		return fmt.Errorf("repeat stop: max period >= 1, min repeats >= 2 and min tokens >= 1 required, got %d, %d, %d", s.MaxPeriod, s.MinRepeats, s.MinTokens)
	}
	return nil
}

// LoopGuard is the engine's loop guard (vulntune_engine/repeat.py
// CycleGuard): at each step it masks the tokens that would make the
// answer's tail a cycle by RepeatStop's rule at its settings, unless the
// prompt holds that run. After MaxBans masked top tokens (0: no limit) it
// gives up and the answer ends as the repetition stop ends one.
//
// Sections, when set, are the headings an answer gives once each and the
// only lines it opens in bold (chat.Headings): the guard also masks the
// tokens that would start a given heading's line again or open a bold
// line that is no heading still to come (SectionGuard), a loop of whole
// sections whose period is longer than MaxPeriod, or made-up sections.
// Omitted when empty, so guards without it keep their cache keys.
//
// Lists, those of Sections that are bullet lists (chat.ListHeadings), hold
// every line of theirs to a bullet, a blank line or a heading still to
// come. LineSpan, when not 0, masks a token that would write a span of
// that many tokens a third time within one line, unless the prompt holds
// the span (LineRepeat): a loop that varies has no one period. After
// LineStrikes steers within one line (for a cycle or a span; 0: no limit)
// the line is stuck and the guard lets only a token that ends it through.
//
// WordRun, when not 0, masks a token that would write a word that many
// times in a row (case aside, with nothing but blanks, commas and line
// breaks between, as evaluate.RepeatedWord reads words), unless the prompt
// writes it as many times (WordRun in repeat.py): a one-token loop
// ("buffer buffer buffer") is 15 copies long before it spans LineSpan's or
// MinTokens' 16 tokens. Its steers count toward LineStrikes.
//
// ItemSpan, when not 0, masks a token that would open a line with the
// same ItemSpan tokens a third time, its list marker aside ("- ", "12. ";
// as evaluate.RepeatedLine reads lines), unless the prompt opens as many
// lines so (ItemRepeat in repeat.py): two list items written by turns and
// numbered on repeat no one period and no span within a line. Its steers
// count toward LineStrikes too.
type LoopGuard struct {
	RepeatStop
	MaxBans     int      `json:"max_bans"`
	Sections    []string `json:"sections,omitempty"`
	Lists       []string `json:"lists,omitempty"`
	LineSpan    int      `json:"line_span,omitempty"`
	LineStrikes int      `json:"line_strikes,omitempty"`
	WordRun     int      `json:"word_run,omitempty"`
	ItemSpan    int      `json:"item_span,omitempty"`
}

// DefaultLoopGuard is the loop guard vulntune decodes its answers with
// (evaluation, explain and `serve --grounded`):
// the stop's rule over 16 tokens instead of 48, so a run of one token or a
// short cycle (" --set --set", "CWE: CWE:") is steered after 16 tokens and
// a longer cycle at its third copy, before the stop would end the answer
// in the middle of its fix. It touches no reference answer of the sample
// or corpus datasets (TestRepeatStopAndLoopGuardSpareReferenceAnswers); a
// run the prompt holds is copied whole. An answer that comes back to a loop a twelfth time is stuck and
// ends there as a repeated one: of the tuned answers it steered on the
// other projects, those that went on to end needed 1 to 11 steers, the two
// that never did 45 each, and going on to the bound cost the base model's
// evaluation minutes (bench/RESULTS.md).
//
// It also holds answers to their sections, each once: an answer to a code
// finding without a location wrote "Why it matters" and "How to verify"
// over and over, each copy a character different, to the bound
// (bench/RESULTS.md, "Each section once").
//
// And it holds a word to two copies in a row: read whole, the demo's model
// answered a flawfinder finding "The product buffer buffer buffer …",
// fifteen copies, that no other rule reached (bench/RESULTS.md, "A word
// loop steered"). Scoring counts a run from four copies
// (evaluate.RepeatedWordCount); no reference answer writes a word three
// times in a row.
//
// And it holds a line's opening of 8 tokens, list marker aside, to two
// copies: the v23 demo model's grounded checkov answer on the other
// projects wrote two fix steps by turns, numbered 2 to 25, to the bound
// (bench/RESULTS.md, "Items by turns"). It masks no reference answer from
// 3 tokens up.
var DefaultLoopGuard = LoopGuard{RepeatStop: RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 16}, MaxBans: 12, Sections: chat.Headings(),
	Lists: chat.ListHeadings(), LineSpan: 16, LineStrikes: 4, WordRun: 3, ItemSpan: 8}

// String describes g as results and logs show it.
func (g LoopGuard) String() string {
	s := g.RepeatStop.String()
	if g.MaxBans > 0 {
		s += fmt.Sprintf(" (at most %d times an answer)", g.MaxBans)
	}
	if len(g.Sections) > 0 {
		s += fmt.Sprintf("; each of %d section headings once", len(g.Sections))
	}
	if len(g.Lists) > 0 {
		s += fmt.Sprintf(", %d of them bullet lists", len(g.Lists))
	}
	if g.LineSpan > 0 {
		s += fmt.Sprintf("; no span of %d tokens three times in a line", g.LineSpan)
	}
	if g.LineStrikes > 0 {
		s += fmt.Sprintf(", a line ended after %d steers", g.LineStrikes)
	}
	if g.WordRun > 0 {
		s += fmt.Sprintf("; no word %d times in a row", g.WordRun)
	}
	if g.ItemSpan > 0 {
		s += fmt.Sprintf("; no line opening with the same %d tokens three times, list markers aside", g.ItemSpan)
	}
	return s
}

// validate checks g as the engine would.
func (g *LoopGuard) validate() error {
	if g == nil {
		return nil
	}
	if err := g.RepeatStop.validate(); err != nil {
		return err
	}
	if g.MaxBans < 0 {
		return fmt.Errorf("max bans: want 0 or more, got %d", g.MaxBans)
	}
	for _, h := range g.Sections {
		if strings.TrimSpace(h) == "" || strings.Contains(h, "\n") {
			return fmt.Errorf("section heading %q: want one line of text", h)
		}
	}
	for _, h := range g.Lists {
		if !slices.Contains(g.Sections, h) {
			return fmt.Errorf("list heading %q: want one of the section headings", h)
		}
	}
	if g.LineSpan == 1 || g.LineSpan < 0 {
		return fmt.Errorf("line span: want 0 or 2 or more tokens, got %d", g.LineSpan)
	}
	if g.LineStrikes < 0 || (g.LineStrikes > 0 && g.LineSpan == 0) {
		return fmt.Errorf("line strikes: want 0 or more, with a line span, got %d", g.LineStrikes)
	}
	if g.WordRun == 1 || g.WordRun < 0 {
		return fmt.Errorf("word run: want 0 or 2 or more copies, got %d", g.WordRun)
	}
	if g.ItemSpan == 1 || g.ItemSpan < 0 {
		return fmt.Errorf("item span: want 0 or 2 or more tokens, got %d", g.ItemSpan)
	}
	return nil
}

// Grounding modes of a request with Grounds (Decoding).
const (
	// GroundingObserve decodes freely and reports, per answer, where
	// grounded decoding would first have intervened (nowhere: the grounded
	// answer is the free one).
	GroundingObserve = "observe"
	// GroundingEnforce decodes with grounded decoding.
	GroundingEnforce = "enforce"
)

// GroundingStats is what grounded decoding did (or, observing, would have
// done) to one answer.
type GroundingStats struct {
	// Steps counts the tokens it checked: the answer's, its end of
	// sequence included; never mlx-lm's look-ahead past the answer's end
	// (grounded.py's past_end and stats(tokens)).
	Steps int `json:"steps"`
	// Interventions counts the steps whose top token it replaced;
	// FirstIntervention is the answer token where it first did (nil:
	// never), always within the answer: at most generation_tokens, which
	// it reaches only where it replaced the end of sequence. Observing,
	// it stops at the first.
	Interventions     int  `json:"interventions"`
	FirstIntervention *int `json:"first_intervention"`
	// Deep counts steps where no token of the top 64 passed and the walk
	// went on through the vocabulary; Stuck, steps where none passed at
	// all and the answer was ended.
	Deep  int `json:"deep"`
	Stuck int `json:"stuck"`
}

// LoopGuardStats is what the loop guard (Decoding.LoopGuard) did to one
// answer: Bans counts the steps where it masked the model's top token to
// keep it out of a cycle, SectionBans those where it did to keep a bold
// line to a section heading still to come, LineBans, WordBans and ItemBans
// those where it did to keep a span of a line from a third copy, a word
// from its LoopGuard.WordRun-th one in a row or a line's opening from its
// third copy, LineEnds those where it ended a stuck
// line, FirstBan is the answer token where it first did any of these (nil:
// never), GaveUp says Bans reached
// LoopGuard.MaxBans and ended the answer ("repetition"). An answer it
// banned nothing in is the unguarded answer token for token.
type LoopGuardStats struct {
	Bans        int  `json:"bans"`
	SectionBans int  `json:"section_bans,omitempty"`
	LineBans    int  `json:"line_bans,omitempty"`
	LineEnds    int  `json:"line_ends,omitempty"`
	WordBans    int  `json:"word_bans,omitempty"`
	ItemBans    int  `json:"item_bans,omitempty"`
	FirstBan    *int `json:"first_ban"`
	GaveUp      bool `json:"gave_up"`
}

// EvaluateItem is one example's outcome: the greedy answer to its prompt
// turns and the summed cross-entropy of its assistant tokens.
type EvaluateItem struct {
	Index            int     `json:"index"`
	Text             string  `json:"text"`
	PromptTokens     int     `json:"prompt_tokens"`
	GenerationTokens int     `json:"generation_tokens"`
	FinishReason     string  `json:"finish_reason"` // "stop", "length" or "repetition" (RepeatStop)
	NLL              float64 `json:"nll"`
	LossTokens       int     `json:"loss_tokens"`
	Seconds          float64 `json:"seconds"`
	// Grounding is set when the request named grounds.
	Grounding *GroundingStats `json:"grounding,omitempty"`
	// LoopGuard is set when the request had a loop guard.
	LoopGuard *LoopGuardStats `json:"loop_guard,omitempty"`
	// PrefixIDs, observing grounded decoding, is the answer's tokens
	// before Grounding.FirstIntervention, where grounded regeneration
	// resumes (EvaluateRequest.Prefixes); nil where the processor would
	// not have intervened.
	PrefixIDs []int `json:"prefix_ids,omitempty"`
	// IDs, when the request asked (ReturnIDs), are all the answer's
	// tokens, its end of sequence aside.
	IDs []int `json:"ids,omitempty"`
}

// EvaluateSummary is the token-weighted loss over every scored token and the
// time spent. Loss and Perplexity are nil when no token was scored.
type EvaluateSummary struct {
	Loss       *float64 `json:"loss"`
	Perplexity *float64 `json:"perplexity"`
	LossTokens int      `json:"loss_tokens"`
	Items      int      `json:"items"`
	// GenerationTokens counts the tokens decoded; ResumedTokens, those of
	// the request's Prefixes, which the answers include but nothing
	// decoded.
	GenerationTokens int     `json:"generation_tokens"`
	ResumedTokens    int     `json:"resumed_tokens"`
	ScoreSeconds     float64 `json:"score_seconds"`
	GenerateSeconds  float64 `json:"generate_seconds"`
	// RepeatCheckSeconds is the part of GenerateSeconds spent in the
	// RepeatStop check.
	RepeatCheckSeconds float64 `json:"repeat_check_seconds"`
	// SharedPrefill counts the answers generated from the KV cache scoring
	// left behind, without processing their prompt again.
	SharedPrefill int `json:"shared_prefill"`
	// CPUKernels is "vulntune" when vulntune_engine/cpumath.py's kernels were in place.
	CPUKernels         string `json:"cpu_kernels"`
	ChatTemplateSource string `json:"chat_template_source"`
}

// subset is r for the examples at idx, with their grounds, pins and prefixes.
func (r EvaluateRequest) subset(idx []int) EvaluateRequest {
	r.Examples, r.Grounds, r.Pins, r.Prefixes = pick(r.Examples, idx), pick(r.Grounds, idx), pick(r.Pins, idx), pick(r.Prefixes, idx)
	return r
}

// Evaluate runs the evaluate op. onItem receives each example as its answer
// finishes (in completion order, not input order); onEvent, if not nil,
// receives every other event (progress).
func (e *Engine) Evaluate(ctx context.Context, req EvaluateRequest, onItem func(EvaluateItem), onEvent func(Event)) (*EvaluateSummary, error) {
	if err := req.Decoding.validate("evaluate", req.MaxTokens, req.BatchSize, len(req.Examples)); err != nil {
		return nil, err
	}
	if err := req.validatePrefixes(); err != nil {
		return nil, err
	}
	if req.MaxSeqLength <= 0 {
		req.MaxSeqLength = DefaultScoreLength
	}
	return answering(ctx, e, req, req.Examples, req.Model, func(r EvaluateRequest) scriptCall { return evalCall("evaluate", r) },
		req.subset, mergeEvaluate, onItem, onEvent)
}

// ObserveRequest asks where grounded decoding would first have changed
// answers free decoding gave: the observe op replays each answer's tokens
// through the observing processor (grounded.py GroundedProcessor.replay)
// with the model's tokenizer only, no weights, in seconds. Free decoding
// is greedy, so the token each step took is the top one observing would
// have seen, and the replay reports what observing while decoding
// reports. Evaluation keeps free answers under a key without grounds and
// pins, and a change to grounded decoding's rules regenerates only the
// answers it changes.
type ObserveRequest struct {
	Model     string `json:"model"` // the directory of the model that answered: its tokenizer
	MaxTokens int    `json:"max_tokens"`
	// Grounds and Pins are as in Decoding, one ground per answer.
	Grounds []string         `json:"grounds"`
	Pins    []*Pin           `json:"pins,omitempty"`
	Answers []ObservedAnswer `json:"answers"`
}

// ObservedAnswer is one free answer to replay: its tokens and how it
// ended (an EvaluateItem's IDs and FinishReason).
type ObservedAnswer struct {
	IDs          []int  `json:"ids"`
	FinishReason string `json:"finish_reason"`
}

// Observation is what observing grounded decoding reports of one answer,
// as EvaluateItem's Grounding and PrefixIDs do under GroundingObserve.
type Observation struct {
	Index     int             `json:"index"`
	Grounding *GroundingStats `json:"grounding"`
	PrefixIDs []int           `json:"prefix_ids,omitempty"`
}

// Observe runs the observe op: one Observation per answer, in request
// order.
func (e *Engine) Observe(ctx context.Context, req ObserveRequest, onEvent func(Event)) ([]Observation, error) {
	d := Decoding{Grounds: req.Grounds, Pins: req.Pins, Grounding: GroundingObserve}
	if err := d.validate("observe", req.MaxTokens, 1, len(req.Answers)); err != nil {
		return nil, err
	}
	if len(req.Grounds) != len(req.Answers) {
		return nil, fmt.Errorf("observe: %d grounds for %d answers", len(req.Grounds), len(req.Answers))
	}
	for i, a := range req.Answers {
		switch a.FinishReason {
		case "stop", "length", "repetition":
		default:
			return nil, fmt.Errorf("observe: answer %d: finish reason %q: want stop, length or repetition", i, a.FinishReason)
		}
	}
	var out struct {
		Items []Observation `json:"items"`
	}
	if err := e.runScript(ctx, evalCall("observe", req), onEvent, &out); err != nil {
		return nil, err
	}
	if len(out.Items) != len(req.Answers) {
		return nil, &EngineError{Op: "observe", Message: fmt.Sprintf("engine observed %d of %d answers", len(out.Items), len(req.Answers))}
	}
	for i, o := range out.Items {
		if o.Index != i || o.Grounding == nil {
			return nil, &EngineError{Op: "observe", Message: fmt.Sprintf("engine's observation %d is of answer %d or has no grounding report", i, o.Index)}
		}
	}
	return out.Items, nil
}

// ReferencesRequest asks for the token counts of texts (reference answers)
// with a model's tokenizer, and where RepeatStop would end each.
type ReferencesRequest struct {
	Model string   `json:"model"`
	Texts []string `json:"texts"`
	// Prompts, one a text when given, are what the loop guard reads each
	// text against, as in decoding (a span the prompt holds may come back
	// in a line); without them it reads at its strictest.
	Prompts    []string    `json:"prompts,omitempty"`
	RepeatStop *RepeatStop `json:"repeat_stop,omitempty"`
	LoopGuard  *LoopGuard  `json:"loop_guard,omitempty"`
}

// References is what the references op measured, one entry per text in
// request order: Tokens its length in tokens (no special tokens), Stops
// the number of tokens after which RepeatStop would end it, Guarded the
// token LoopGuard would first mask (read without the prompt, so at its
// strictest); -1 where neither would.
type References struct {
	Tokens  []int `json:"tokens"`
	Stops   []int `json:"stops"`
	Guarded []int `json:"guarded"`
}

// References runs the references op: the model's tokenizer only, no
// weights, seconds. Evaluation sets its length bound from the longest
// reference answer, and checks that the repetition stop leaves every one
// of them whole.
func (e *Engine) References(ctx context.Context, req ReferencesRequest) (*References, error) {
	if err := req.RepeatStop.validate(); err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	if err := req.LoopGuard.validate(); err != nil {
		return nil, fmt.Errorf("references: loop guard: %w", err)
	}
	if len(req.Prompts) > 0 && len(req.Prompts) != len(req.Texts) {
		return nil, fmt.Errorf("references: %d prompts for %d texts", len(req.Prompts), len(req.Texts))
	}
	var out References
	call := scriptCall{Module: "repeat", Op: "references", Req: req, Env: []string{"HF_HUB_OFFLINE=1"}}
	if err := e.runScript(ctx, call, nil, &out); err != nil {
		return nil, err
	}
	if len(out.Tokens) != len(req.Texts) || len(out.Stops) != len(req.Texts) || len(out.Guarded) != len(req.Texts) {
		return nil, &EngineError{Op: "references", Message: fmt.Sprintf("engine measured %d, %d and %d of %d texts", len(out.Tokens), len(out.Stops), len(out.Guarded), len(req.Texts))}
	}
	return &out, nil
}

// CheckModelRequest asks for the tokenizer and chat-template checks of
// validation and, when Generate is set, one greedy answer to Messages.
type CheckModelRequest struct {
	Model     string         `json:"model"`
	Texts     []string       `json:"texts"`    // round-tripped through the tokenizer
	Messages  []chat.Message `json:"messages"` // rendered through the chat template
	Generate  bool           `json:"generate"`
	MaxTokens int            `json:"max_tokens"` // the answer's bound when Generate
}

// RoundTrip is one text encoded and decoded again.
type RoundTrip struct {
	Text    string `json:"text"`
	Decoded string `json:"decoded"`
	Tokens  int    `json:"tokens"`
	OK      bool   `json:"ok"`
}

// TemplateCheck says whether the chat template rendered every message.
type TemplateCheck struct {
	OK       bool   `json:"ok"`
	Source   string `json:"source"`
	Rendered string `json:"rendered"`
	Error    string `json:"error"`
}

// CheckGeneration is the functional check's answer.
type CheckGeneration struct {
	Text             string `json:"text"`
	GenerationTokens int    `json:"generation_tokens"`
	FinishReason     string `json:"finish_reason"`
}

// ModelCheck is what the check op found. TokenizerError is set when the
// tokenizer did not load; the other parts are then empty.
type ModelCheck struct {
	TokenizerError string           `json:"tokenizer_error"`
	RoundTrips     []RoundTrip      `json:"round_trips"`
	Template       TemplateCheck    `json:"template"`
	Generation     *CheckGeneration `json:"generation"`
}

// CheckModel runs the check op. A broken tokenizer or template is reported
// in the result, not as an error; errors mean the engine itself failed.
func (e *Engine) CheckModel(ctx context.Context, req CheckModelRequest) (*ModelCheck, error) {
	if req.Generate && req.MaxTokens <= 0 {
		return nil, fmt.Errorf("check: max_tokens must be positive to generate, got %d", req.MaxTokens)
	}
	var out ModelCheck
	if err := e.runScript(ctx, evalCall("check", req), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// evalCall runs op of the evaluate module. The Hub is switched off: these ops read
// local directories only, and a missing one must fail rather than turn into
// a download.
func evalCall(op string, req any) scriptCall {
	return scriptCall{Module: "evaluate", Op: op, Req: req, Env: []string{"HF_HUB_OFFLINE=1"}}
}

// EvaluateID identifies what the evaluate op answers with: its modules, the
// interpreter and the packages installed with it (the venv's stamp), and the
// BLAS preloaded and the CPU kernels chosen. Greedy answers of one model to
// one request are the same for the same ID, which is what lets evaluation
// reuse them.
func (e *Engine) EvaluateID() string {
	// The modules the evaluate op runs: a change to any of them may change
	// an answer.
	return e.evaluateID(moduleClosure("evaluate"))
}

// FreeEvaluateID is EvaluateID for requests without grounds: their
// answers never run grounded decoding's modules (grounded.py and what
// only it imports: pin.py), so a change to its rules keeps them.
func (e *Engine) FreeEvaluateID() string {
	return e.evaluateID(moduleClosure("evaluate", "grounded"))
}

func (e *Engine) evaluateID(modules []string) string {
	h := sha256.New()
	h.Write([]byte(moduleSum(modules...)))
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s", e.Python, e.Preload, strings.Join(e.Kernels, " "))
	if st, err := ReadStamp(filepath.Dir(filepath.Dir(e.Python))); err == nil {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s", st.LockSHA256, st.PythonVersion, st.InstalledAt)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// itemHandler passes the "item" events of the evaluate and answer ops to
// onItem, decoded, and every other event to onEvent (if not nil); an item
// that does not decode is joined into *errp, for the op to report after the
// run.
func itemHandler(onItem func(EvaluateItem), onEvent func(Event), errp *error) func(Event) {
	return func(ev Event) {
		if ev.Event != "item" {
			if onEvent != nil {
				onEvent(ev)
			}
			return
		}
		var it EvaluateItem
		if err := json.Unmarshal(ev.Raw, &it); err != nil {
			*errp = errors.Join(*errp, fmt.Errorf("decode item event: %w", err))
			return
		}
		if onItem != nil {
			onItem(it)
		}
	}
}
