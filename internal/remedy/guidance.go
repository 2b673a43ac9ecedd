package remedy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

// Advice is the remediation for code, config and web findings, assembled
// from what the scanner itself says and the CWE catalogue. (It is not named
// Guidance because that is the function that builds it.)
type Advice struct {
	// Steps are the actions to take, in order.
	Steps []string `json:"steps"`
	// Changes are the concrete edits the scanner proposes (SARIF fixes[],
	// Semgrep autofix), placeholders excluded.
	Changes []Change `json:"changes"`
	// CWE holds the catalogue entries of the finding's CWE ids.
	CWE []cwe.Entry `json:"cwe"`
}

// CWE looks an id up in the shipped MITRE catalogue; it accepts "CWE-79",
// "79" and "cwe-079".
func CWE(id string) (cwe.Entry, bool) { return cwe.Lookup(id) }

// placeholder matches fixes that are no fix: the system vulntune replaces
// trained on "// TODO: Implement ..." lines that Semgrep rules carry.
var placeholder = regexp.MustCompile(`(?i)\b(TODO|FIXME|TBD|XXX)\b|implement (proper|secure|appropriate)`)

// solutionKeys are the Properties where ingest keeps a scanner's own advice
// (ZAP solution, SARIF rule help, Checkov/KICS guideline text).
var solutionKeys = []string{"solution", "resolution", "remediation", "guideline", "fix", "recommendation"}

// Guidance assembles the steps for a code, config or web finding: the
// scanner's proposed fixes, its solution text, the rule's help page and the
// CWE entries, each taken from the finding or the catalogue.
func Guidance(f *finding.Finding) Advice {
	g := Advice{Steps: []string{}, Changes: []Change{}, CWE: cweEntries(f)}
	if f == nil {
		return g
	}
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] && !placeholder.MatchString(s) {
			seen[s] = true
			g.Steps = append(g.Steps, s)
		}
	}
	for _, fix := range f.Fixes {
		if placeholder.MatchString(fix.Replacement) || placeholder.MatchString(fix.Description) {
			continue
		}
		if fix.Replacement == "" {
			for _, p := range paragraphs(fix.Description) {
				add(p)
			}
			continue
		}
		file := finding.CleanPath(fix.Path)
		if file == "" {
			file = finding.CleanPath(f.Location.Path)
		}
		note := "Replacement the scanner proposes"
		if d := strings.TrimSpace(fix.Description); d != "" {
			note += " (" + d + ")"
		}
		switch {
		case fix.StartLine > 0 && fix.EndLine > fix.StartLine:
			note += fmt.Sprintf(" for lines %d-%d", fix.StartLine, fix.EndLine)
		case fix.StartLine > 0:
			note += fmt.Sprintf(" for line %d", fix.StartLine)
		}
		g.Changes = append(g.Changes, Change{BuildSystem: "source", File: file, Scope: ScopeAny, Snippet: fix.Replacement, Note: note + "."})
		add(fmt.Sprintf("Apply the replacement the scanner proposes for %s (shown under changes), then review it in context.", where(f)))
	}
	for _, k := range solutionKeys {
		for _, p := range paragraphs(f.Properties[k]) {
			add(p)
		}
	}
	// A web alert without the scanner's solution: the rule's own fix, else
	// one for any web alert, so the steps say what to change before they
	// point at the documentation.
	if f.Kind == finding.KindWeb && len(g.Steps) == 0 {
		if s := webRuleFix(f); s != "" {
			add(s)
		} else {
			add(webFallback)
		}
	}
	if f.HelpURI != "" {
		add(StepDocumentedFix + ": " + f.HelpURI)
	}
	for _, e := range g.CWE {
		add(fmt.Sprintf("%s, %s (%s): %s", StepWeakness, e.ID, e.Name, e.Description))
	}
	// Nothing from the scanner or the catalogue: say what to change in
	// the rule's terms. Not the location again (the answer's "Where" has
	// it): "change <place> so that it no longer matches: <message>" taught
	// the tuned model to loop on the place and the message.
	if len(g.Steps) == 0 {
		if msg := firstNonEmpty(f.Message, f.Title); msg != "" {
			// Quoted as the rule's check: scanners word it as the problem
			// ("weak hash") or as the requirement ("Ensure top-level
			// permissions are not set to write-all"), and this reads right
			// for both.
			add(fmt.Sprintf("The rule's check, \"%s\", fails here: change the flagged code or setting until it passes, then re-run the scanner.", strings.TrimRight(msg, ". ")))
		} else {
			add("Change the flagged code or setting until the rule's check passes, then re-run the scanner.")
		}
	}
	return g
}

// The openings of the fix steps that state facts, not advice: the rule's
// page and the weakness's entry in the CWE catalogue. Grounded decoding
// holds a line that opens so to the finding's own (evaluate.AnswerPin):
// left to the weights, the demo model's grounded answers on the other
// projects wrote 20 such weakness lines, none the finding's ("The product
// does not expose the resource to the wrong hemisphere"), and documented
// fixes for findings with no page ("https. (click the flagged code)").
const (
	StepDocumentedFix = "Follow the rule's documented fix"
	StepWeakness      = "Address the underlying weakness"
)

// FactSteps are the openings grounded decoding holds: each step's words
// but its last, so a paraphrase of its close ("the rule's documented
// solution", "the underlying vulnerability") opens so too; held to the
// whole phrases, the demo model wrote those.
var FactSteps = []string{"Follow the rule's documented", "Address the underlying"}

// where names a finding's location for a sentence: path:line, or the web
// request.
func where(f *finding.Finding) string {
	l := f.Location
	switch {
	case l.URL != "":
		s := strings.TrimSpace(l.Method + " " + l.URL)
		if l.Param != "" {
			s += " (parameter " + l.Param + ")"
		}
		return s
	case l.Path != "" && l.StartLine > 0:
		return fmt.Sprintf("%s:%d", finding.CleanPath(l.Path), l.StartLine)
	case l.Path != "":
		return finding.CleanPath(l.Path)
	case l.Image != "":
		return l.Image
	}
	return "the reported location"
}

// wherePhrase is " <prep> <where>" for a sentence's end, or "" for a
// finding the scanner gave no location ("at the reported location" names
// one that was never reported: a license grouped under a package type).
func wherePhrase(f *finding.Finding, prep string) string {
	l := f.Location
	if l.URL == "" && l.Path == "" && l.Image == "" {
		return ""
	}
	return " " + prep + " " + where(f)
}

func cweEntries(f *finding.Finding) []cwe.Entry {
	out := []cwe.Entry{}
	if f == nil {
		return out
	}
	seen := map[string]bool{}
	for _, id := range f.CWE {
		if e, ok := cwe.Lookup(id); ok && !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

// paragraphs splits scanner text into its paragraphs or lines, keeping each
// one whole; scanners put one recommendation per line.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
