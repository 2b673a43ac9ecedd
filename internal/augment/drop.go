package augment

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
)

// A copy that loses a fact (issue 16). In the samples, whether a finding
// names a CWE or a line follows from its tool and kind: every Semgrep, ZAP
// and OSV-Scanner finding names a CWE, no Trivy dependency or Checkov
// finding does; every code and config finding gives a line, no dependency
// finding does. A model tuned on them learnt "OSV-Scanner: write a CWE"
// and "File …, line …" rather than "copy what the finding gives", and on
// other projects wrote CWE ids the findings never named (a CVE's year as
// "CWE-2023") and line numbers for lock files ("File composer.lock, line
// 15-16"). Copy n of a finding may drop its CWEs, and separately its line,
// in prompt and answer together, so the same tool and kind come both with
// and without them.

// dropsCWE says whether copy n of f loses its CWEs: f names some, no text
// of its repeats one (the copy would still name what its facts lack), and
// the copy falls in cat.CWEDropShare.
func dropsCWE(f *finding.Finding, n int, cat Catalogue) bool {
	if cat.CWEDropShare <= 0 || len(f.CWE) == 0 {
		return false
	}
	for _, t := range allText(f) {
		if ident.CWERE.MatchString(t) {
			return false
		}
	}
	return Seed(f.ID+"|drop-cwe", n).Float64() < cat.CWEDropShare
}

// dropsLine says whether copy n of f loses the line of its location: f
// gives a file and a line that no text of its repeats, and the copy falls
// in cat.LineDropShare.
func dropsLine(f *finding.Finding, n int, cat Catalogue) bool {
	l := f.Location
	if cat.LineDropShare <= 0 || l.Path == "" || l.StartLine <= 0 {
		return false
	}
	named := regexp.MustCompile(fmt.Sprintf(`(?i)(?::|\blines?:?\s*)%d\b`, l.StartLine))
	for _, t := range allText(f) {
		if named.MatchString(t) {
			return false
		}
	}
	return Seed(f.ID+"|drop-line", n).Float64() < cat.LineDropShare
}

// dropsLink says whether copy n of f loses its rule's page: f is no
// package's finding and has one (the link a prompt shows, and the fix
// step "Follow the rule's documented fix: <link>" the answer gives), and
// the copy falls in cat.LinkDropShare. In the samples every ZAP alert and
// a quarter of the Semgrep findings have the page; on other projects,
// whose findings mostly have none, the tuned model wrote that step anyway
// and made up the link after it (7 of the 7 links it invented on two
// seeds, bench/RESULTS.md).
func dropsLink(f *finding.Finding, n int, cat Catalogue) bool {
	if cat.LinkDropShare <= 0 || f.Package != nil || !strings.Contains(f.HelpURI, "://") {
		return false
	}
	return Seed(f.ID+"|drop-link", n).Float64() < cat.LinkDropShare
}

// without is f without its CWEs (cwe), without line numbers (line): its
// location's, and those of its related locations, flow steps and fixes,
// as a fix "for line 12" would still give one; and without its rule's
// page (link).
func without(f *finding.Finding, cwe, line, link bool) *finding.Finding {
	c := clone(f)
	if cwe {
		c.CWE = nil
	}
	if link {
		c.HelpURI = ""
	}
	if line {
		noLine := func(l *finding.Location) { l.StartLine, l.EndLine, l.StartCol = 0, 0, 0 }
		noLine(&c.Location)
		for i := range c.Related {
			noLine(&c.Related[i])
		}
		for i := range c.Flow {
			noLine(&c.Flow[i])
		}
		for i := range c.Fixes {
			c.Fixes[i].StartLine, c.Fixes[i].EndLine = 0, 0
		}
	}
	return &c
}
