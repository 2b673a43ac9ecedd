package evaluate

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vulntune/vulntune/internal/ident"
)

// WriteTable prints metric × base / tuned / delta for the overall figures,
// then the same under grounded decoding when it was measured, then the
// ungrounded identifiers by kind, then the per-kind and per-tool fact
// accuracy and hallucination rate. Missing metrics
// print as "-".
func WriteTable(w io.Writer, r *Results) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cached := ""
	if r.Durations.BaseCached {
		cached = "; base answers from the evaluation cache"
	}
	bound := ""
	if r.Bound != nil {
		bound = fmt.Sprintf(", longest reference %d", r.Bound.LongestReference)
		if r.Bound.BelowLongestReference {
			bound += ": BELOW IT, answers cut"
		}
	}
	what := r.Dataset.Split
	if r.Set != "" {
		what = SetTitle(r.Set) + " (" + r.Set + ")"
	}
	fmt.Fprintf(tw, "%s vs %s on %d %s examples (greedy, max %d tokens%s%s)\n",
		r.Model, r.BaseModel, r.Dataset.Evaluated, what, r.MaxTokens, bound, cached)
	fmt.Fprintln(tw, "metric\tbase\ttuned\tdelta\t")
	rows := []struct {
		name string
		get  func(Metrics) *float64
		n    func(Metrics) int
	}{
		{"loss", func(m Metrics) *float64 { return m.Loss }, nil},
		{"perplexity", func(m Metrics) *float64 { return m.Perplexity }, nil},
		{"fixed_version_accuracy", func(m Metrics) *float64 { return m.FixedVersionAccuracy }, func(m Metrics) int { return m.FixedVersionN }},
		{"cwe_accuracy", func(m Metrics) *float64 { return m.CWEAccuracy }, func(m Metrics) int { return m.CWEN }},
		{"location_accuracy", func(m Metrics) *float64 { return m.LocationAccuracy }, func(m Metrics) int { return m.LocationN }},
		{"hallucination_rate", func(m Metrics) *float64 { return m.HallucinationRate }, func(m Metrics) int { return m.N }},
		{"snippet_accuracy", func(m Metrics) *float64 { return m.SnippetAccuracy }, func(m Metrics) int { return m.SnippetN }},
		{"snippet_coverage", func(m Metrics) *float64 { return m.SnippetCoverage }, func(m Metrics) int { return m.SnippetCoverageN }},
		{"ecosystem_accuracy", func(m Metrics) *float64 { return m.EcosystemAccuracy }, func(m Metrics) int { return m.EcosystemN }},
		{"ended_share", func(m Metrics) *float64 { return m.EndedShare }, func(m Metrics) int { return m.N }},
		{"repetition_share", func(m Metrics) *float64 { return m.RepetitionShare }, func(m Metrics) int { return m.N }},
	}
	for _, row := range rows {
		name := row.name
		if row.n != nil {
			name = fmt.Sprintf("%s (n=%d)", name, row.n(r.Tuned))
		}
		b, t := row.get(r.Base), row.get(r.Tuned)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, num(b), num(t), delta(b, t))
	}
	if r.Bound != nil && r.Bound.LoopGuard != nil {
		// A count, not a share: the answers the weights alone would have
		// gone on looping in, which ended_share no longer shows.
		fmt.Fprintf(tw, "loop_guarded (n=%d)\t%d\t%d\t\t\n", r.Tuned.N, r.Base.LoopGuarded, r.Tuned.LoopGuarded)
		if len(r.Bound.LoopGuard.Sections) > 0 {
			fmt.Fprintf(tw, "section_guarded (n=%d)\t%d\t%d\t\t\n", r.Tuned.N, r.Base.SectionGuarded, r.Tuned.SectionGuarded)
		}
		if r.Bound.LoopGuard.LineSpan > 0 {
			fmt.Fprintf(tw, "line_guarded (n=%d)\t%d\t%d\t\t\n", r.Tuned.N, r.Base.LineGuarded, r.Tuned.LineGuarded)
		}
		if r.Bound.LoopGuard.WordRun > 0 {
			fmt.Fprintf(tw, "word_guarded (n=%d)\t%d\t%d\t\t\n", r.Tuned.N, r.Base.WordGuarded, r.Tuned.WordGuarded)
		}
		if r.Bound.LoopGuard.ItemSpan > 0 {
			fmt.Fprintf(tw, "item_guarded (n=%d)\t%d\t%d\t\t\n", r.Tuned.N, r.Base.ItemGuarded, r.Tuned.ItemGuarded)
		}
	}
	if g := r.Grounded; g != nil {
		fmt.Fprintf(tw, "\ngrounded decoding (regenerated: base %d, tuned %d)\tbase\ttuned\tdelta\t\n", g.BaseRegenerated, g.TunedRegenerated)
		for _, row := range groundedRows {
			b, t := row.get(g.Base), row.get(g.Tuned)
			if b == nil && t == nil {
				continue
			}
			fmt.Fprintf(tw, "%s (n=%d)\t%s\t%s\t%s\t\n", row.name, row.n(g.Tuned), num(b), num(t), delta(b, t))
		}
	}
	if r.Base.UngroundedByKind != nil || r.Tuned.UngroundedByKind != nil {
		fmt.Fprintln(tw, "\nungrounded by kind\tbase\ttuned\t")
		for _, k := range ident.Kinds {
			fmt.Fprintf(tw, "%s\t%d\t%d\t\n", k, r.Base.UngroundedByKind[k], r.Tuned.UngroundedByKind[k])
		}
	}
	for _, by := range []struct {
		col  string
		keys []string
		m    map[string]Pair
	}{{"kind", r.Kinds(), r.ByKind}, {"tool", r.Tools(), r.ByTool}} {
		if len(by.m) < 2 {
			continue
		}
		fmt.Fprintf(tw, "\n%s\tn\tfacts base\tfacts tuned\thalluc. base\thalluc. tuned\t\n", by.col)
		for _, k := range by.keys {
			p := by.m[k]
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", k, p.Tuned.N, num(p.Base.FactAccuracy()), num(p.Tuned.FactAccuracy()),
				num(p.Base.HallucinationRate), num(p.Tuned.HallucinationRate))
		}
	}
	return tw.Flush()
}

func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *v)
}

func delta(a, b *float64) string {
	if a == nil || b == nil {
		return "-"
	}
	return fmt.Sprintf("%+.4f", *b-*a)
}
