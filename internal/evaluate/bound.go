package evaluate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/vulntune/vulntune/internal/engine"
)

// ReferenceMargin is how far past the longest reference answer of the
// evaluated examples the length bound lies when none is given: an answer
// may say the same in more words than its reference and still end by
// itself, and one that runs past the bound by a quarter is not going to.
const ReferenceMargin = 0.25

// boundStep rounds the bound up to a multiple of itself, so a change of a
// few tokens in the longest answer keeps the bound (and the evaluation
// cache's keys) as they were.
const boundStep = 32

// DefaultRepeatStop is the loop check evaluation decodes with. A tuned
// answer was seen repeating one 30-odd-token line to the length bound;
// three copies of any cycle of up to 256 tokens, over 48 tokens or more,
// end it. No reference answer of the sample or corpus datasets comes near
// (at most five identical tokens in a row, no span of 18 tokens repeated
// twice: TestRepeatStopAndLoopGuardSpareReferenceAnswers), and the check costs about
// 20 µs per token (bench/RESULTS.md).
var DefaultRepeatStop = engine.RepeatStop{MaxPeriod: 256, MinRepeats: 3, MinTokens: 48}

// Bound sources, as results.json records them.
const (
	// BoundReferences: the bound was set from the longest reference answer.
	BoundReferences = "references"
	// BoundExplicit: the bound was given (--max-tokens, --eval-max-tokens,
	// fine_tuning.evaluation.max_tokens).
	BoundExplicit = "explicit"
)

// Bound is how long an answer may be and why, in results.json.
type Bound struct {
	// Source is BoundReferences or BoundExplicit.
	Source string `json:"source"`
	// LongestReference is the longest reference answer of the evaluated
	// examples, in the base model's tokens.
	LongestReference int `json:"longest_reference_tokens"`
	// BelowLongestReference is set when an explicit bound is below
	// LongestReference: answers as long as their reference are cut, so
	// the ended share and the facts measure the bound, not the model.
	BelowLongestReference bool `json:"below_longest_reference,omitempty"`
	// RepeatStop is the loop check answers were decoded with (nil: none).
	RepeatStop *engine.RepeatStop `json:"repeat_stop"`
	// ReferencesRepeatStopped counts reference answers the loop check would
	// end early; above 0, the check cuts answers a model should write.
	ReferencesRepeatStopped int `json:"references_repeat_stopped"`
	// LoopGuard is the loop guard answers were decoded with (nil: none),
	// and ReferencesGuarded counts reference answers it would steer, read
	// without their prompts (at its strictest); above 0, it changes
	// answers a model should write.
	LoopGuard         *engine.LoopGuard `json:"loop_guard,omitempty"`
	ReferencesGuarded int               `json:"references_guarded"`
}

// BoundFromReferences is the length bound for reference answers of at most
// longest tokens: longest plus ReferenceMargin, rounded up to a multiple of
// boundStep (and at least one step).
func BoundFromReferences(longest int) int {
	n := int(math.Ceil(float64(longest) * (1 + ReferenceMargin)))
	n = (n + boundStep - 1) / boundStep * boundStep
	return max(n, boundStep)
}

// bound measures the reference answers of exs with the base model's
// tokenizer and decides the length bound: explicit when positive (with a
// warning when it cuts reference answers), else BoundFromReferences. Both
// models share the base's tokenizer (fine-tuning keeps it), so one count
// serves both.
func bound(ctx context.Context, run Runner, baseDir string, explicit int, dec engine.Decoding, exs []example, log *slog.Logger) (int, Bound, error) {
	texts, prompts := make([]string, len(exs)), make([]string, len(exs))
	for i, e := range exs {
		texts[i], prompts[i] = e.answer(), e.prompt()
	}
	stop := dec.RepeatStop
	refs, err := run.References(ctx, engine.ReferencesRequest{Model: baseDir, Texts: texts, Prompts: prompts, RepeatStop: stop, LoopGuard: dec.LoopGuard})
	if err != nil {
		return 0, Bound{}, fmt.Errorf("measure reference answers: %w", err)
	}
	b := Bound{Source: BoundReferences, RepeatStop: stop, LoopGuard: dec.LoopGuard}
	longestAt := -1
	var stopped, guarded []string
	for i, n := range refs.Tokens {
		if n > b.LongestReference {
			b.LongestReference, longestAt = n, i
		}
		if refs.Stops[i] >= 0 {
			stopped = append(stopped, fmt.Sprintf("%s (after %d of %d tokens)", exs[i].Meta.FindingID, refs.Stops[i], n))
		}
		if i < len(refs.Guarded) && refs.Guarded[i] >= 0 {
			guarded = append(guarded, fmt.Sprintf("%s (token %d of %d)", exs[i].Meta.FindingID, refs.Guarded[i], n))
		}
	}
	b.ReferencesRepeatStopped = len(stopped)
	if len(stopped) > 0 {
		log.Warn("the repetition stop would cut reference answers short: answers like them are cut too",
			"stop", stop.String(), "answers", strings.Join(stopped, ", "))
	}
	b.ReferencesGuarded = len(guarded)
	if len(guarded) > 0 {
		log.Warn("the loop guard would steer reference answers unless their prompts hold the repeated run: answers like them may be changed too",
			"guard", dec.LoopGuard.String(), "answers", strings.Join(guarded, ", "))
	}
	if explicit > 0 {
		b.Source = BoundExplicit
		if explicit < b.LongestReference {
			b.BelowLongestReference = true
			log.Warn("the evaluation bound is below the longest reference answer: answers as long as theirs are cut, so the ended share and the facts measure the bound, not the model (leave the bound unset to derive it from the answers)",
				"max_tokens", explicit, "longest_reference_tokens", b.LongestReference, "finding", exs[longestAt].Meta.FindingID)
		}
		return explicit, b, nil
	}
	return BoundFromReferences(b.LongestReference), b, nil
}
