package augment_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ident"
)

// TestDrop: with drop_share 1, every copy of a finding with a CWE loses
// it and every copy of one with a line loses that, and neither the copy's
// prompt nor its answer names them; its facts have no CWE to score; the
// replacement list records the CWEs dropped. With share 0 every copy
// keeps its (replaced) CWE and line, and a finding whose text repeats its
// CWE or line keeps it at any share: the text would still say it.
func TestDrop(t *testing.T) {
	t.Parallel()
	cweRE := regexp.MustCompile(`(?i)\bCWE[- ]?[0-9]+`)
	lineRE := regexp.MustCompile(`\blines? [0-9]+|\.[a-z]+:[0-9]+`)
	for _, tc := range []struct {
		name, file string
		share      float64
		text       string // put into the description, "" for none
		cwe, line  bool   // dropped
	}{
		{"code", "testdata/code-semgrep-fix.json", 1, "", true, true},
		{"dependency", "testdata/dependency-maven-gradle-lockfile.json", 1, "", true, false},
		{"web", "testdata/web-zap.json", 1, "", true, false},
		{"config", "testdata/config-checkov.json", 1, "", false, true},
		{"share 0", "testdata/code-semgrep-fix.json", 0, "", false, false},
		{"text names both", "testdata/code-semgrep-fix.json", 1, "See CWE-89; the query is built on line 12.", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := load(t, tc.file)
			if tc.text != "" {
				orig.Description = tc.text
			}
			cat := augment.Default()
			cat.CWEDropShare, cat.LineDropShare = tc.share, tc.share
			for n := 1; n <= 3; n++ {
				c, reps, err := augment.Finding(&orig, n, cat, augment.Avoid{})
				if err != nil {
					t.Fatal(err)
				}
				dropped := 0
				for _, r := range reps {
					if r.Kind == augment.KindNoCWE {
						dropped++
					}
				}
				if gotCWE := len(orig.CWE) > 0 && len(c.CWE) == 0; gotCWE != tc.cwe || (dropped > 0) != tc.cwe {
					t.Errorf("copy %d: CWEs %v, %d recorded as dropped; want dropped %v", n, c.CWE, dropped, tc.cwe)
				}
				if gotLine := orig.Location.StartLine > 0 && c.Location.StartLine == 0; gotLine != tc.line {
					t.Errorf("copy %d: line %d (original %d); want dropped %v", n, c.Location.StartLine, orig.Location.StartLine, tc.line)
				}
				e := narrated(t, &c)
				text := e.Prompt() + "\n" + e.Assistant()
				if m := cweRE.FindString(text); tc.cwe && m != "" {
					t.Errorf("copy %d lost its CWEs but still names %s:\n%s", n, m, text)
				}
				if tc.cwe && len(e.Meta.Facts.CWE) != 0 {
					t.Errorf("copy %d: facts' CWEs %v, want none", n, e.Meta.Facts.CWE)
				}
				if m := lineRE.FindString(text); tc.line && m != "" {
					t.Errorf("copy %d lost its line but still gives %q:\n%s", n, m, text)
				}
				if !tc.cwe && len(c.CWE) > 0 && !strings.Contains(e.Assistant(), c.CWE[0]) {
					t.Errorf("copy %d keeps %v but its answer does not name it:\n%s", n, c.CWE, e.Assistant())
				}
				if left := augment.Leftovers(text, reps); len(left) > 0 {
					t.Errorf("copy %d still names %v", n, left)
				}
				e.Meta.Split = dataset.Train
				if probs := dataset.CheckExamples([]dataset.Example{e}, 0); len(probs) > 0 {
					t.Errorf("copy %d: %v", n, probs)
				}
			}
		})
	}
}

// TestDropLink: with link_drop_share 1 every copy of a finding with a
// rule's page loses it, and neither its prompt nor its answer links a
// page or gives the step that follows one; at 0 the copy keeps the page
// and the step, and a package's finding (whose prompt shows no page)
// keeps its links at any share.
func TestDropLink(t *testing.T) {
	t.Parallel()
	const step = "documented fix"
	for _, tc := range []struct {
		name, file string
		share      float64
		dropped    bool
	}{
		{"web", "testdata/web-zap.json", 1, true},
		{"code", "testdata/code-semgrep-fix.json", 1, true},
		{"share 0", "testdata/web-zap.json", 0, false},
		{"dependency", "testdata/dependency-maven-gradle-lockfile.json", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := load(t, tc.file)
			cat := augment.Default()
			cat.LinkDropShare = tc.share
			for n := 1; n <= 3; n++ {
				c, reps, err := augment.Finding(&orig, n, cat, augment.Avoid{})
				if err != nil {
					t.Fatal(err)
				}
				if got := orig.HelpURI != "" && c.HelpURI == ""; got != tc.dropped {
					t.Errorf("copy %d: page %q (original %q); want dropped %v", n, c.HelpURI, orig.HelpURI, tc.dropped)
				}
				e := narrated(t, &c)
				var links []string // pages, not the endpoint a web finding is at
				for _, u := range ident.URLRE.FindAllString(e.Prompt()+"\n"+e.Assistant(), -1) {
					if c.Location.URL == "" || !strings.HasPrefix(u, c.Location.URL) {
						links = append(links, u)
					}
				}
				switch {
				case tc.dropped && (len(links) > 0 || strings.Contains(e.Assistant(), step)):
					t.Errorf("copy %d lost its page but still links %q or gives its step:\n%s\n%s", n, links, e.User(), e.Assistant())
				case !tc.dropped && orig.Package == nil && !strings.Contains(e.Assistant(), step+": "+c.HelpURI):
					t.Errorf("copy %d keeps its page %q but its answer does not follow it:\n%s", n, c.HelpURI, e.Assistant())
				}
				if left := augment.Leftovers(e.Prompt()+"\n"+e.Assistant(), reps); len(left) > 0 {
					t.Errorf("copy %d still names %v", n, left)
				}
				e.Meta.Split = dataset.Train
				if probs := dataset.CheckExamples([]dataset.Example{e}, 0); len(probs) > 0 {
					t.Errorf("copy %d: %v", n, probs)
				}
			}
		})
	}
}
