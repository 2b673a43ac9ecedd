package evaluate

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/ident"
)

// EvaluationHeading is the card section evaluation owns.
const EvaluationHeading = "Evaluation"

// CardSection renders the model card's Evaluation section from r, the
// held-out split's results (nil when only other sets were evaluated), and
// sets, the results of other evaluation sets (reports of other projects):
// for each, the base-vs-tuned table (fix snippet accuracy and the share of
// answers that ended by themselves included; free decoding beside grounded
// decoding when both were measured), then one table per finding
// kind and one per tool, each figure with the number of examples it is
// over, then the ungrounded identifiers by type. Training writes it into
// the card it renders; evaluation rewrites it each time it runs.
func CardSection(r *Results, sets ...*Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", EvaluationHeading)
	if r != nil {
		fmt.Fprintf(&b, "Held-out figures from `eval/results.json` (%d examples of the %s split; base → tuned):\n\n",
			r.Tuned.N, orDash(r.Dataset.Split))
		cardTables(&b, r)
	}
	for _, s := range sets {
		if r != nil {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "### %s\n\n", SetTitle(s.Set))
		fmt.Fprintf(&b, "Figures from `eval/%s/results.json`: %d findings from reports of projects, scanners and ecosystems the model was not trained on", s.Set, s.Tuned.N)
		if sel := s.Selection; sel != nil {
			fmt.Fprintf(&b, " (chosen from %d by a fixed stratified rule: %s)", sel.From, sel.Rule)
		}
		b.WriteString("; base → tuned:\n\n")
		cardTables(&b, s)
	}
	return b.String()
}

// SetTitle is how an evaluation set is headed in the card and the run
// report: "Other projects" for the set of other projects' reports.
func SetTitle(set string) string {
	switch set {
	case "":
		return "Held-out split"
	case OtherSet, "corpus", "other-projects":
		return "Other projects"
	}
	return "Evaluation set " + set
}

// OtherSet is the evaluation set of other projects' reports (make demo's,
// from examples/corpus).
const OtherSet = "other"

// cardTables writes r's overall, per-kind, per-tool and ungrounded tables.
func cardTables(b *strings.Builder, r *Results) {
	table(b, r.Base, r.Tuned)
	if line := boundLine(r); line != "" {
		b.WriteString("\n" + line + "\n")
	}
	if g := r.Grounded; g != nil {
		groundedTable(b, r, g)
	}
	split := func(title, col string, keys []string, by map[string]Pair) {
		if len(keys) == 0 {
			return
		}
		fmt.Fprintf(b, "\n%s (tuned model, base in brackets):\n\n", title)
		fmt.Fprintf(b, "| %s | examples | fixed version | CWE | location | hallucination |\n|---|---|---|---|---|---|\n", col)
		for _, k := range keys {
			p := by[k]
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s |\n", k, p.Tuned.N,
				vs(p.Base.FixedVersionAccuracy, p.Tuned.FixedVersionAccuracy, p.Tuned.FixedVersionN),
				vs(p.Base.CWEAccuracy, p.Tuned.CWEAccuracy, p.Tuned.CWEN),
				vs(p.Base.LocationAccuracy, p.Tuned.LocationAccuracy, p.Tuned.LocationN),
				vs(p.Base.HallucinationRate, p.Tuned.HallucinationRate, p.Tuned.N))
		}
	}
	split("By kind of finding", "kind", r.Kinds(), r.ByKind)
	split("By tool", "tool", r.Tools(), r.ByTool)
	if r.Base.UngroundedByKind != nil || r.Tuned.UngroundedByKind != nil {
		b.WriteString("\nUngrounded identifiers by type (named in answers, found neither in the prompt nor among the finding's facts):\n\n")
		b.WriteString("| type | base | tuned |\n|---|---|---|\n")
		for _, k := range ident.Kinds {
			fmt.Fprintf(b, "| %s | %d | %d |\n", k, r.Base.UngroundedByKind[k], r.Tuned.UngroundedByKind[k])
		}
	}
	if r.Tuned.Truncated > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers were cut at the evaluation's token limit.\n", r.Tuned.Truncated, r.Tuned.N)
	}
	if r.Tuned.Repeating > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers were stopped repeating themselves.\n", r.Tuned.Repeating, r.Tuned.N)
	}
	if r.Tuned.LoopGuarded > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers started a loop the loop guard steered them out of.\n", r.Tuned.LoopGuarded, r.Tuned.N)
	}
	if r.Tuned.SectionGuarded > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers began a section again, made one up or left a list's bullets; the loop guard steered them on.\n", r.Tuned.SectionGuarded, r.Tuned.N)
	}
	if r.Tuned.LineGuarded > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers began to write part of a line again; the loop guard steered them on.\n", r.Tuned.LineGuarded, r.Tuned.N)
	}
	if r.Tuned.WordGuarded > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers began to write a word over and over; the loop guard steered them on.\n", r.Tuned.WordGuarded, r.Tuned.N)
	}
	if r.Tuned.ItemGuarded > 0 {
		fmt.Fprintf(b, "\n%d of %d tuned answers began to write their lines over again, numbered on; the loop guard steered them on.\n", r.Tuned.ItemGuarded, r.Tuned.N)
	}
}

// boundLine says how long answers could be and how loops were steered and
// stopped, or "" for results that do not record it.
func boundLine(r *Results) string {
	bd := r.Bound
	if bd == nil {
		return ""
	}
	var s string
	switch {
	case bd.Source == BoundReferences:
		s = fmt.Sprintf("Answers were read whole: generated greedily up to %d tokens, the longest reference answer (%d tokens) plus %.0f%%.",
			r.MaxTokens, bd.LongestReference, ReferenceMargin*100)
	case bd.BelowLongestReference:
		s = fmt.Sprintf("Answers were cut at %d tokens, **below the longest reference answer (%d tokens)**: answers as long as their reference are not read whole.",
			r.MaxTokens, bd.LongestReference)
	default:
		s = fmt.Sprintf("Answers were generated greedily up to %d tokens (longest reference answer: %d tokens).", r.MaxTokens, bd.LongestReference)
	}
	if bd.LoopGuard != nil {
		s += fmt.Sprintf(" A token that would have completed %s (unless the prompt holds that run) was masked, and the model wrote its next choice.", bd.LoopGuard)
	}
	if bd.RepeatStop != nil {
		s += fmt.Sprintf(" An answer was stopped early, as not ended, when its tail repeated %s.", bd.RepeatStop)
	}
	return s
}

func table(b *strings.Builder, base, tuned Metrics) {
	b.WriteString("| metric | base | tuned |\n|---|---|---|\n")
	row := func(k string, x, y *float64) {
		if x != nil || y != nil {
			fmt.Fprintf(b, "| %s | %s | %s |\n", k, fmtMetric(x), fmtMetric(y))
		}
	}
	row("loss", base.Loss, tuned.Loss)
	row("perplexity", base.Perplexity, tuned.Perplexity)
	row(fmt.Sprintf("fixed version accuracy (n=%d)", tuned.FixedVersionN), base.FixedVersionAccuracy, tuned.FixedVersionAccuracy)
	row(fmt.Sprintf("CWE accuracy (n=%d)", tuned.CWEN), base.CWEAccuracy, tuned.CWEAccuracy)
	row(fmt.Sprintf("location accuracy (n=%d)", tuned.LocationN), base.LocationAccuracy, tuned.LocationAccuracy)
	row(fmt.Sprintf("hallucination rate (n=%d)", tuned.N), base.HallucinationRate, tuned.HallucinationRate)
	row(fmt.Sprintf("fix snippet accuracy (n=%d)", tuned.SnippetN), base.SnippetAccuracy, tuned.SnippetAccuracy)
	row(fmt.Sprintf("fix snippet written where the reference has one (n=%d)", tuned.SnippetCoverageN), base.SnippetCoverage, tuned.SnippetCoverage)
	row(fmt.Sprintf("ecosystem named as the reference (n=%d)", tuned.EcosystemN), base.EcosystemAccuracy, tuned.EcosystemAccuracy)
	row(fmt.Sprintf("answers ended by themselves (n=%d)", tuned.N), base.EndedShare, tuned.EndedShare)
	row(fmt.Sprintf("answers repeating themselves (n=%d)", tuned.N), base.RepetitionShare, tuned.RepetitionShare)
}

// groundedTable shows free and grounded decoding side by side: what the
// weights alone do, and what vulntune guarantees when it decodes.
func groundedTable(b *strings.Builder, r *Results, g *GroundedResults) {
	fmt.Fprintf(b, "\nFree and grounded decoding. Grounded decoding lets an answer name a vulnerability id, CWE id, version, path or URL "+
		"only if the prompt or the finding's facts name it, and never gives a fix snippet the installed version; %d of %d tuned and %d of %d base answers needed it and were generated again "+
		"(the others are the free answers, token for token):\n\n", g.TunedRegenerated, r.Tuned.N, g.BaseRegenerated, r.Base.N)
	b.WriteString("| metric | base free | base grounded | tuned free | tuned grounded |\n|---|---|---|---|---|\n")
	for _, row := range groundedRows {
		if row.get(r.Base) == nil && row.get(r.Tuned) == nil && row.get(g.Tuned) == nil {
			continue
		}
		fmt.Fprintf(b, "| %s (n=%d) | %s | %s | %s | %s |\n", row.name, row.n(r.Tuned), fmtMetric(row.get(r.Base)),
			fmtMetric(row.get(g.Base)), fmtMetric(row.get(r.Tuned)), fmtMetric(row.get(g.Tuned)))
	}
}

// groundedRows are the figures grounded decoding can change.
var groundedRows = []struct {
	name string
	get  func(Metrics) *float64
	n    func(Metrics) int
}{
	{"hallucination rate", func(m Metrics) *float64 { return m.HallucinationRate }, func(m Metrics) int { return m.N }},
	{"fixed version accuracy", func(m Metrics) *float64 { return m.FixedVersionAccuracy }, func(m Metrics) int { return m.FixedVersionN }},
	{"CWE accuracy", func(m Metrics) *float64 { return m.CWEAccuracy }, func(m Metrics) int { return m.CWEN }},
	{"location accuracy", func(m Metrics) *float64 { return m.LocationAccuracy }, func(m Metrics) int { return m.LocationN }},
	{"fix snippet accuracy", func(m Metrics) *float64 { return m.SnippetAccuracy }, func(m Metrics) int { return m.SnippetN }},
	{"answers ended by themselves", func(m Metrics) *float64 { return m.EndedShare }, func(m Metrics) int { return m.N }},
}

func vs(base, tuned *float64, n int) string {
	if tuned == nil && base == nil {
		return "–"
	}
	return fmt.Sprintf("%s (%s), n=%d", fmtMetric(tuned), fmtMetric(base), n)
}

func fmtMetric(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *v)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// ReplaceCardSection sets the "## heading" section of <modelDir>/README.md
// to section (which starts with that heading line): in place when the card
// has it, else before the "## Use" section, else at the end. A model dir
// without a card is left alone.
func ReplaceCardSection(modelDir, heading, section string) error {
	path, b, err := readCard(modelDir)
	if b == nil || err != nil {
		return err
	}
	front, body := splitFrontMatter(b)
	out := bytes.NewBuffer(nil)
	if front != nil {
		out.WriteString("---\n")
		out.Write(front)
		out.WriteString("---\n")
	}
	out.WriteString(replaceSection(string(body), heading, strings.TrimRight(section, "\n")+"\n\n"))
	if err := atomicfile.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("update model card: %w", err)
	}
	return nil
}

// replaceSection puts section in body where "## heading" is (up to the
// next "## " heading), else before "## Use", else at the end.
func replaceSection(body, heading, section string) string {
	lines := strings.SplitAfter(body, "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		t := strings.TrimRight(l, "\n")
		if start < 0 && t == "## "+heading {
			start = i
			continue
		}
		if start >= 0 && strings.HasPrefix(t, "## ") {
			end = i
			break
		}
	}
	if start < 0 {
		for i, l := range lines {
			if strings.TrimRight(l, "\n") == "## Use" {
				return strings.Join(lines[:i], "") + section + strings.Join(lines[i:], "")
			}
		}
		if body != "" && !strings.HasSuffix(body, "\n\n") {
			body = strings.TrimRight(body, "\n") + "\n\n"
		}
		return body + strings.TrimRight(section, "\n") + "\n"
	}
	return strings.Join(lines[:start], "") + section + strings.Join(lines[end:], "")
}
