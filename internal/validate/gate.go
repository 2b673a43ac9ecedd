package validate

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// Fact gate modes.
const (
	// FactsMean compares the mean of the fact accuracies both models have.
	FactsMean = "mean"
	// FactsEach requires every available fact accuracy to improve.
	FactsEach = "each"
)

// GateOptions are the quality gate's thresholds. The zero value is the
// default: the tuned model must have a strictly lower held-out loss, a
// strictly higher fact accuracy (mean of the available accuracies), no
// higher hallucination rate, no lower snippet accuracy, no smaller share
// of answers that end by themselves and no larger share of answers that
// repeat themselves than its base.
type GateOptions struct {
	// MinLossGain: base loss − tuned loss must exceed this.
	MinLossGain float64
	// MinFactGain: tuned − base fact accuracy must exceed this.
	MinFactGain float64
	// MaxHallucinationIncrease: tuned − base hallucination rate must not
	// exceed this.
	MaxHallucinationIncrease float64
	// MaxEndedShareDecrease: base − tuned share of answers that ended by
	// themselves must not exceed this.
	MaxEndedShareDecrease float64
	// MaxRepetitionShareIncrease: tuned − base share of answers repeating
	// themselves (evaluate.Metrics.RepetitionShare) must not exceed this.
	MaxRepetitionShareIncrease float64
	// Facts is FactsMean (default) or FactsEach.
	Facts string
}

func checkGate(r *Report, opts Options, meta map[string]any) {
	res, err := evaluate.ReadResults(opts.ModelDir)
	if err != nil {
		switch {
		case !errors.Is(err, fs.ErrNotExist):
			r.add(GroupGate, "quality gate", Fail, "%v", err)
		case opts.RequireEval:
			r.add(GroupGate, "quality gate", Fail, "not evaluated: no eval/results.json (run `vulntune evaluate`)")
		case meta != nil && meta["kind"] == modelstore.KindBase:
			r.add(GroupGate, "quality gate", Skip, "base model: nothing to compare against")
		default:
			r.add(GroupGate, "quality gate", Warn, "not evaluated: no eval/results.json (run `vulntune evaluate`)")
		}
		return
	}
	g := opts.Gate
	b, t := res.Base, res.Tuned
	switch {
	case b.Loss == nil || t.Loss == nil:
		r.add(GroupGate, "held-out loss", Fail, "results.json has no loss")
	case *b.Loss-*t.Loss > g.MinLossGain:
		r.add(GroupGate, "held-out loss", Pass, "tuned %.4f < base %.4f", *t.Loss, *b.Loss)
	default:
		r.add(GroupGate, "held-out loss", Fail, "tuned %.4f does not beat base %.4f by more than %g", *t.Loss, *b.Loss, g.MinLossGain)
	}
	checkFacts(r, g, b, t)
	switch {
	case b.HallucinationRate == nil || t.HallucinationRate == nil:
		r.add(GroupGate, "hallucination rate", Fail, "results.json has no hallucination rate")
	case *t.HallucinationRate-*b.HallucinationRate <= g.MaxHallucinationIncrease:
		r.add(GroupGate, "hallucination rate", Pass, "tuned %.4f, base %.4f", *t.HallucinationRate, *b.HallucinationRate)
	default:
		r.add(GroupGate, "hallucination rate", Fail, "tuned %.4f exceeds base %.4f by more than %g", *t.HallucinationRate, *b.HallucinationRate, g.MaxHallucinationIncrease)
	}
	checkWholeAnswer(r, g, b, t)
}

// checkWholeAnswer is the gate on what a user reads to the end: the answers
// end by themselves without looping, and their fix snippets pin the fixed
// version (issue 16). Repetition is compared with the base, not held to an
// absolute bound: the question the gate answers is whether fine-tuning made
// the model worse, and a small base model that loops itself would fail any
// fixed bound whatever its fine-tune did. Snippet accuracy is compared only when both models wrote fix
// snippets: a base model that writes none has nothing to beat.
func checkWholeAnswer(r *Report, g GateOptions, b, t evaluate.Metrics) {
	switch {
	case b.SnippetAccuracy == nil || t.SnippetAccuracy == nil:
		r.add(GroupGate, "snippet accuracy", Skip, "no fix snippets to compare (base n=%d, tuned n=%d)", b.SnippetN, t.SnippetN)
	case *t.SnippetAccuracy >= *b.SnippetAccuracy:
		r.add(GroupGate, "snippet accuracy", Pass, "tuned %.4f (n=%d), base %.4f (n=%d)", *t.SnippetAccuracy, t.SnippetN, *b.SnippetAccuracy, b.SnippetN)
	default:
		r.add(GroupGate, "snippet accuracy", Fail, "tuned %.4f (n=%d) is below base %.4f (n=%d)", *t.SnippetAccuracy, t.SnippetN, *b.SnippetAccuracy, b.SnippetN)
	}
	switch {
	case b.EndedShare == nil || t.EndedShare == nil:
		r.add(GroupGate, "answers ended", Fail, "results.json has no ended share (scored before vulntune recorded it: run `vulntune evaluate --rescore`)")
	case *b.EndedShare-*t.EndedShare <= g.MaxEndedShareDecrease:
		r.add(GroupGate, "answers ended", Pass, "tuned %.4f, base %.4f ended by themselves", *t.EndedShare, *b.EndedShare)
	default:
		r.add(GroupGate, "answers ended", Fail, "tuned %.4f ended by themselves, below base %.4f by more than %g", *t.EndedShare, *b.EndedShare, g.MaxEndedShareDecrease)
	}
	switch {
	case b.RepetitionShare == nil || t.RepetitionShare == nil:
		r.add(GroupGate, "answers repeating", Fail, "results.json has no repetition share (scored before vulntune recorded it: run `vulntune evaluate --rescore`)")
	case *t.RepetitionShare-*b.RepetitionShare <= g.MaxRepetitionShareIncrease:
		r.add(GroupGate, "answers repeating", Pass, "tuned %.4f, base %.4f repeat themselves", *t.RepetitionShare, *b.RepetitionShare)
	default:
		r.add(GroupGate, "answers repeating", Fail, "tuned %.4f repeat themselves, above base %.4f by more than %g", *t.RepetitionShare, *b.RepetitionShare, g.MaxRepetitionShareIncrease)
	}
}

func checkFacts(r *Report, g GateOptions, b, t evaluate.Metrics) {
	if g.Facts == FactsEach {
		pairs := []struct {
			name string
			b, t *float64
		}{
			{"fixed version", b.FixedVersionAccuracy, t.FixedVersionAccuracy},
			{"CWE", b.CWEAccuracy, t.CWEAccuracy},
			{"location", b.LocationAccuracy, t.LocationAccuracy},
		}
		n := 0
		for _, p := range pairs {
			if p.b == nil || p.t == nil {
				continue
			}
			n++
			if *p.t-*p.b <= g.MinFactGain {
				r.add(GroupGate, "fact accuracy", Fail, "%s accuracy: tuned %.4f does not beat base %.4f", p.name, *p.t, *p.b)
				return
			}
		}
		if n == 0 {
			r.add(GroupGate, "fact accuracy", Fail, "no fact accuracy in results.json")
			return
		}
		r.add(GroupGate, "fact accuracy", Pass, "each of %d accuracies improves", n)
		return
	}
	bf, tf := b.FactAccuracy(), t.FactAccuracy()
	switch {
	case bf == nil || tf == nil:
		r.add(GroupGate, "fact accuracy", Fail, "no fact accuracy in results.json")
	case *tf-*bf > g.MinFactGain:
		r.add(GroupGate, "fact accuracy", Pass, "mean: tuned %.4f > base %.4f", *tf, *bf)
	default:
		r.add(GroupGate, "fact accuracy", Fail, "mean: tuned %.4f does not beat base %.4f by more than %g", *tf, *bf, g.MinFactGain)
	}
}

// GateFailed reports whether a check of the gate group failed, as opposed
// to an artifact or functional check.
func (r *Report) GateFailed() bool {
	for _, c := range r.Failed() {
		if c.Group == GroupGate {
			return true
		}
	}
	return false
}

// validFactsMode checks a Facts value.
func validFactsMode(m string) error {
	if m == "" || m == FactsMean || m == FactsEach {
		return nil
	}
	return fmt.Errorf("gate facts mode %q: want %q or %q", m, FactsMean, FactsEach)
}

// GateHeading is the model card section the quality gate's verdict goes in.
const GateHeading = "Quality gate"

// GateSection renders the verdict of the quality gate for the model card:
// passed or failed, and each of its checks with what it compared. Only
// the gate's checks: the artifact and functional checks are the validate
// command's report.
func (r *Report) GateSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", GateHeading)
	var rows []Check
	for _, c := range r.Checks {
		if c.Group == GroupGate {
			rows = append(rows, c)
		}
	}
	switch {
	case len(rows) == 0:
		b.WriteString("Not checked.\n")
		return b.String()
	case r.GateFailed():
		b.WriteString("**Failed**: the tuned model does not beat its base on held-out findings by the margins below.\n\n")
	default:
		b.WriteString("**Passed**: the tuned model beats its base on held-out findings (`vulntune validate`).\n\n")
	}
	b.WriteString("| check | result | detail |\n|---|---|---|\n")
	for _, c := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Name, c.Status, strings.ReplaceAll(c.Detail, "|", `\|`))
	}
	return b.String()
}
