package augment_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }

func load(t *testing.T, path string) finding.Finding {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f finding.Finding
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// render writes a copy for review: what was replaced, then the copy's
// messages and facts as the dataset holds them.
// narrated is copy c's example as the dataset writes it: remedy's fix,
// narrate's prompt and answer.
func narrated(t *testing.T, c *finding.Finding) dataset.Example {
	t.Helper()
	rem, err := remedy.For(c)
	if err != nil {
		t.Fatal(err)
	}
	return narrate.Example(c, rem, nil)
}

func render(reps []augment.Replacement, e dataset.Example) string {
	var b strings.Builder
	b.WriteString("# replacements\n")
	for _, r := range reps {
		fmt.Fprintf(&b, "%s: %s -> %s\n", r.Kind, r.Old, r.New)
	}
	for _, m := range e.Messages[1:] {
		fmt.Fprintf(&b, "\n# %s\n%s\n", m.Role, m.Content)
	}
	facts, _ := json.Marshal(e.Meta.Facts)
	fmt.Fprintf(&b, "\n# facts\n%s\n", facts)
	return b.String()
}

// TestGolden narrates copy 1 of each sample finding and compares it with a
// reviewed golden: the whole example is the original's with the facts
// replaced, consistently in prompt and answer.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 4 {
		t.Fatalf("want the sample findings, found %d", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := load(t, path)
			c, reps, err := augment.Finding(&f, 1, augment.Default(), augment.Avoid{})
			if err != nil {
				t.Fatal(err)
			}
			e := narrated(t, &c)
			golden.Assert(t, filepath.Join("testdata", name+".copy1.golden.txt"), []byte(render(reps, e)))
			e.Meta.Split = dataset.Train
			if p := dataset.CheckExamples([]dataset.Example{e}, 0); len(p) > 0 {
				t.Errorf("build checks: %v", p)
			}
		})
	}
}

// TestDeterministic: a copy depends on the finding and its number only.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	a, ra, err := augment.Finding(&f, 1, augment.Default(), augment.Avoid{})
	if err != nil {
		t.Fatal(err)
	}
	b, rb, _ := augment.Finding(&f, 1, augment.Default(), augment.Avoid{})
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		t.Error("two copies 1 of one finding differ")
	}
	c, _, _ := augment.Finding(&f, 2, augment.Default(), augment.Avoid{})
	if c.ID == a.ID || reflect.DeepEqual(c.Package, a.Package) {
		t.Errorf("copies 1 and 2 are the same: %+v", c.Package)
	}
	if orig := load(t, "testdata/dependency-maven-gradle-lockfile.json"); !reflect.DeepEqual(orig, f) {
		t.Error("Finding changed the original")
	}
}

// TestAvoid: a copy takes no package, vulnerability id or path it is told
// to avoid (the held-out examples'), whatever the draw.
func TestAvoid(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	cat := augment.Default()
	cat.Packages = map[string][]string{"maven": {"org.a:one", "org.b:two"}}
	avoid := augment.Avoid{Packages: map[string]bool{"maven|org.a:one": true}}
	for n := 1; n <= 10; n++ {
		c, _, err := augment.Finding(&f, n, cat, avoid)
		if err != nil {
			t.Fatal(err)
		}
		if c.Package.Name != "org.b:two" {
			t.Errorf("copy %d took %s", n, c.Package.Name)
		}
	}
	cat.Packages["maven"] = []string{"org.a:one"}
	if _, _, err := augment.Finding(&f, 1, cat, avoid); err == nil || !strings.Contains(err.Error(), "dataset.augment.packages") {
		t.Errorf("an empty pool after avoiding: %v, want an error naming the setting", err)
	}
}

func TestLeftovers(t *testing.T) {
	t.Parallel()
	reps := []augment.Replacement{
		{Kind: augment.KindPackage, Old: "com.google.guava:guava", New: "org.a:one"},
		{Kind: "CWE", Old: "CWE-79", New: "CWE-89"},
		{Kind: "version", Old: "31.1-jre", New: "4.2-jre"},
		{Kind: augment.KindLine, Old: "+0", New: "+3"},
	}
	cases := []struct {
		text string
		want []string
	}{
		{"org.a:one 4.2-jre CWE-89", nil},
		{"COM.GOOGLE.GUAVA:GUAVA", []string{"com.google.guava:guava"}},
		{"cwe 079", []string{"CWE-79"}},
		{"131.1-jre and 31.1-jre2", nil},
		{"was 31.1-jre.", []string{"31.1-jre"}},
	}
	for _, tc := range cases {
		if got := augment.Leftovers(tc.text, reps); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Leftovers(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// TestRuleNamespaces: in rule_namespace_share of its copies a code finding
// whose rule id has no digits takes a "namespace/" prefix (ESLint's and
// CodeQL's form), in prompt and answer alike; a rule id with digits keeps
// its shape, and other kinds keep theirs.
func TestRuleNamespaces(t *testing.T) {
	cat := augment.Default()
	cat.RuleNamespaceShare = 1
	tests := []struct {
		name    string
		kind    finding.Kind
		rule    string
		slashed bool
	}{
		{"semgrep id", finding.KindCode, "java.lang.security.audit.formatted-sql-string", true},
		{"eslint id", finding.KindCode, "vue/multi-word-component-names", true},
		{"gosec id with digits", finding.KindCode, "G115", false},
		{"config finding", finding.KindConfig, "kubernetes.security.run-as-root", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := finding.Finding{ID: "f-" + tt.name, Kind: tt.kind, Title: "Flagged by " + tt.rule, Message: "rule " + tt.rule + " matched",
				Tools:    []finding.Tool{{Name: "scanner", RuleID: tt.rule}},
				Location: finding.Location{Path: "src/app/OrderService.java", StartLine: 12}}
			for n := 1; n <= 3; n++ {
				c, _, err := augment.Finding(&f, n, cat, augment.Avoid{})
				if err != nil {
					t.Fatal(err)
				}
				got := c.Tools[0].RuleID
				ns, name, ok := strings.Cut(got, "/")
				if slashed := ok && !strings.ContainsAny(ns, "./:") && slices.Contains(cat.RuleNamespaces, ns); slashed != tt.slashed {
					t.Errorf("copy %d: rule %q -> %q; want a namespace/ prefix: %v", n, tt.rule, got, tt.slashed)
				}
				if tt.slashed && (name == "" || strings.Contains(c.Message, tt.rule) || !strings.Contains(c.Message, got)) {
					t.Errorf("copy %d: rule %q -> %q, message %q: the text must name the new id only", n, tt.rule, got, c.Message)
				}
			}
		})
	}
	cat.RuleNamespaceShare = 0
	f := finding.Finding{ID: "f", Kind: finding.KindCode, Tools: []finding.Tool{{Name: "semgrep", RuleID: "python.flask.debug-enabled"}},
		Location: finding.Location{Path: "app.py", StartLine: 3}}
	if c, _, err := augment.Finding(&f, 1, cat, augment.Avoid{}); err != nil || strings.Contains(c.Tools[0].RuleID, "/") {
		t.Errorf("share 0: rule %q (%v), want the dotted form kept", c.Tools[0].RuleID, err)
	}
}

// TestStemQualifiers: at share 1 every copy of a code or config finding
// gives its replaced files a second dot (name.pb.go), the same one for every
// path of the copy, in the location and the text alike, while the names a
// text gives the class keep the bare stem; other kinds and files whose
// extension already has two parts keep theirs.
func TestStemQualifiers(t *testing.T) {
	cat := augment.Default()
	cat.StemQualifierShare = 1
	tests := []struct {
		name      string
		kind      finding.Kind
		path      string
		qualified bool
	}{
		{"go source", finding.KindCode, "pkg/events/events_vtproto.go", true},
		{"terraform", finding.KindConfig, "infra/storage.tf", true},
		{"two-part extension kept", finding.KindCode, "web/src/app.module.ts", false},
		{"secret finding", finding.KindSecret, "config/settings.yml", false},
		{"build file kept", finding.KindConfig, "Dockerfile", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := finding.Finding{ID: "f-" + tt.name, Kind: tt.kind, Title: "Flagged", Message: "found in " + tt.path + ":12",
				Tools:    []finding.Tool{{Name: "scanner", RuleID: "G115"}},
				Location: finding.Location{Path: tt.path, StartLine: 12}}
			for n := 1; n <= 3; n++ {
				c, _, err := augment.Finding(&f, n, cat, augment.Avoid{})
				if err != nil {
					t.Fatal(err)
				}
				base := path.Base(c.Location.Path)
				qualified := strings.Count(base, ".") == strings.Count(path.Base(tt.path), ".")+1
				if qualified != tt.qualified {
					t.Errorf("copy %d: %s -> %s; want a second dot: %v", n, tt.path, c.Location.Path, tt.qualified)
				}
				if qualified {
					q := strings.Split(base, ".")[1]
					if !slices.Contains(cat.StemQualifiers, q) || path.Ext(base) != path.Ext(tt.path) {
						t.Errorf("copy %d: %s -> %s; want name.<qualifier>%s", n, tt.path, base, path.Ext(tt.path))
					}
				}
				if !strings.Contains(c.Message, c.Location.Path+":") {
					t.Errorf("copy %d: message %q does not name the copy's file %s", n, c.Message, c.Location.Path)
				}
			}
		})
	}
	cat.StemQualifierShare = 0
	f := finding.Finding{ID: "f", Kind: finding.KindCode, Tools: []finding.Tool{{Name: "gosec", RuleID: "G115"}},
		Location: finding.Location{Path: "pkg/events/events.go", StartLine: 3}}
	if c, _, err := augment.Finding(&f, 1, cat, augment.Avoid{}); err != nil || strings.Count(path.Base(c.Location.Path), ".") != 1 {
		t.Errorf("share 0: %s (%v), want one dot", c.Location.Path, err)
	}
}
