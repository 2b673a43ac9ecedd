package narrate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/redact"
	"github.com/vulntune/vulntune/internal/remedy"
)

func load(t *testing.T, path string) finding.Finding {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f finding.Finding
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if f.ID == "" {
		f.ID = finding.Fingerprint(&f)
	}
	return f
}

func render(e dataset.Example) string {
	var b strings.Builder
	for _, m := range e.Messages {
		b.WriteString("=== " + m.Role + "\n" + m.Content + "\n")
	}
	return b.String()
}

// Identifiers an answer may only repeat, never invent.
var (
	vulnIDRe  = regexp.MustCompile(`\b(CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|CWE-\d+)\b`)
	versionRe = regexp.MustCompile(`\b\d+\.\d+(\.\d+)?([-.~+][0-9A-Za-z.~+-]+)?\b`)
	// ecosystemRe is the ecosystem of an answer's package line in "Where".
	danglingVersionRe = regexp.MustCompile(`\S@(\s|,|$)|installed version ?(\(|\n|$)|installed_version: *(\n|$)|version +with`)
	fixedListRe       = regexp.MustCompile(`(?i)fixed[ _]versions?:|fixed in:`)
	ecosystemRe       = regexp.MustCompile(`installed version \S+ \(([^)]+)\)`)
)

// TestGolden renders one example per sample finding of every kind and
// compares it to a reviewed golden; it also proves each answer passes the
// dataset's build checks and invents no identifier or version.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 8 {
		t.Fatalf("want samples of every kind, found %d", len(files))
	}
	kinds := map[finding.Kind]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			f := load(t, path)
			kinds[f.Kind] = true
			rem, err := remedy.For(&f)
			if err != nil {
				t.Fatal(err)
			}
			e := narrate.Example(&f, rem, nil)
			got := render(e)
			golden.Assert(t, filepath.Join("testdata", name+".golden.txt"), []byte(got))
			e.Meta.Split = dataset.Train
			if p := dataset.CheckExamples([]dataset.Example{e}, 0); len(p) > 0 {
				t.Errorf("build checks: %v", p)
			}
			// The first line carries every fact evaluation scores, so a
			// length-bounded answer that stops early still names them.
			lines := strings.SplitN(e.Assistant(), "\n", 3)
			if len(lines) < 2 || lines[0] != "**In short**" {
				t.Fatalf("answer does not open with an In short line:\n%s", e.Assistant())
			}
			checkHeadings(t, e.Assistant())
			short := lines[1]
			fc := e.Meta.Facts
			for _, want := range append([]string{fc.FixedVersion, fc.Location}, fc.CWE...) {
				if want != "" && !strings.Contains(short, want) {
					t.Errorf("In short line %q does not name %q", short, want)
				}
			}
			source, _ := json.Marshal(f)
			allowed := string(source) + rem.Text()
			for _, id := range vulnIDRe.FindAllString(e.Assistant(), -1) {
				if !strings.Contains(allowed, id) {
					t.Errorf("answer names %s, which is not in the finding or its remediation", id)
				}
			}
			for _, v := range versionRe.FindAllString(e.Assistant(), -1) {
				if !strings.Contains(allowed, v) {
					t.Errorf("answer names version %s, which is not in the finding or its remediation", v)
				}
			}
			// Links: only pages the prompt shows itself, never one the
			// answer builds from an id (ident.PagesShown).
			prompt := e.Prompt()
			for _, u := range ident.URLRE.FindAllString(e.Assistant(), -1) {
				u = strings.TrimRight(u, ".,;:)")
				if !strings.Contains(prompt, u) {
					t.Errorf("answer links %s, which its prompt does not show", u)
				}
			}
			if f.Kind == finding.KindSecret && strings.Contains(e.Assistant(), "REDACTED") == false && f.Location.Snippet != "" && strings.Contains(e.Assistant(), f.Location.Snippet) {
				t.Error("secret answer quotes the snippet")
			}
		})
	}
	for _, k := range []finding.Kind{finding.KindDependency, finding.KindCode, finding.KindConfig, finding.KindSecret, finding.KindWeb, finding.KindLicense} {
		if !kinds[k] {
			t.Errorf("no golden sample of kind %s", k)
		}
	}
}

func TestPhrasingsVary(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/code-semgrep-fix.json")
	seen := map[int]bool{}
	first := map[string]bool{}
	for i := 0; i < 64; i++ {
		f.ID = strings.Repeat("a", i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10))
		rem, _ := remedy.For(&f)
		e := narrate.Example(&f, rem, nil)
		seen[e.Meta.Phrasing] = true
		first[strings.SplitN(e.User(), "\n", 2)[0]] = true
	}
	if len(seen) < 4 || len(first) < 4 {
		t.Errorf("only %d phrasings (%d distinct openings) over 64 ids", len(seen), len(first))
	}
}

func TestFactsAndKeys(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	rem, _ := remedy.For(&f)
	e := narrate.Example(&f, rem, nil)
	if e.Meta.Facts.Package != f.Package.Name || e.Meta.Facts.FixedVersion == "" || e.Meta.Facts.Location != f.Location.Path ||
		e.Meta.Facts.InstalledVersion != f.Package.InstalledVersion || e.Meta.Facts.InstalledVersion == "" {
		t.Errorf("facts = %+v", e.Meta.Facts)
	}
	if !strings.Contains(e.Assistant(), e.Meta.Facts.FixedVersion) {
		t.Errorf("answer does not name the recommended version %s", e.Meta.Facts.FixedVersion)
	}
	hasPkgVuln := false
	for _, k := range e.Meta.Keys {
		if strings.HasPrefix(k, "pkgvuln:maven|") {
			hasPkgVuln = true
		}
	}
	if !hasPkgVuln {
		t.Errorf("keys = %v", e.Meta.Keys)
	}
}

func TestProseIsIncluded(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/web-zap.json")
	rem, _ := remedy.For(&f)
	p := &narrate.Prose{Summary: "The header is absent.", Impact: "Clients cannot tell requests apart.", FixRationale: "Adding it restores the check."}
	e := narrate.Example(&f, rem, p)
	for _, s := range []string{p.Summary, p.Impact, p.FixRationale} {
		if !strings.Contains(e.Assistant(), s) {
			t.Errorf("prose %q missing", s)
		}
	}
	if !e.Meta.LLM {
		t.Error("meta does not record LLM prose")
	}
}

// TestEveryPhrasingIsGrounded holds every sample, in every phrasing, to the
// dataset's grounding contract: the answer names no id, CWE, version or path
// that its prompt does not show.
func TestEveryPhrasingIsGrounded(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.json")
	for _, path := range files {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		f := load(t, path)
		rem, err := remedy.For(&f)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for i := 0; len(seen) < 4 && i < 200; i++ {
			f.ID = fmt.Sprintf("phrasing-%d", i)
			e := narrate.Example(&f, rem, nil)
			if seen[e.Meta.Phrasing] {
				continue
			}
			seen[e.Meta.Phrasing] = true
			if u := ident.Ungrounded(e.Assistant(), e.Prompt()); len(u) > 0 {
				t.Errorf("%s, phrasing %d: answer names %v, not in the prompt:\n%s", path, e.Meta.Phrasing, u, e.User())
			}
			// Links too, as evaluation counts them (evaluate.UngroundedIdents).
			if u := ident.UngroundedURLs(e.Assistant(), e.Prompt()); len(u) > 0 {
				t.Errorf("%s, phrasing %d: answer links %v, not in the prompt:\n%s", path, e.Meta.Phrasing, u, e.User())
			}
			// A package the scanner gave no version is named alone, and
			// only a vulnerable package's prompt lists fixed versions.
			for _, text := range []string{e.User(), e.Assistant()} {
				if m := danglingVersionRe.FindString(text); m != "" {
					t.Errorf("%s, phrasing %d: a version left empty (%q):\n%s", path, e.Meta.Phrasing, m, text)
				}
			}
			if f.Kind != finding.KindDependency && fixedListRe.MatchString(e.User()) {
				t.Errorf("%s, phrasing %d: fixed versions listed for a %s finding:\n%s", path, e.Meta.Phrasing, f.Kind, e.User())
			}
			// The ecosystem "Where" names, which the fix's build system
			// follows: a prompt without it leaves the model to guess.
			for _, m := range ecosystemRe.FindAllStringSubmatch(e.Assistant(), -1) {
				if !strings.Contains(e.User(), "("+m[1]+")") && !strings.Contains(e.User(), "ecosystem: "+m[1]+"\n") {
					t.Errorf("%s, phrasing %d: answer names ecosystem %q, not in the prompt:\n%s", path, e.Meta.Phrasing, m[1], e.User())
				}
			}
		}
		if len(seen) < 4 {
			t.Errorf("%s: only %d phrasings reached", path, len(seen))
		}
	}
}

// TestAnswersAreCompact holds every sample's answer to what keeps it
// inside the training sequence length (issue 16: 42% of the main job's
// training rows were cut): one fix snippet for a package, no CVSS vector
// (the prompt shows none), no alias list or other fixed versions (the
// prompt lists them), at most one link, and the scanner's description
// quoted to a sentence budget.
func TestAnswersAreCompact(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.json")
	for _, path := range files {
		f := load(t, path)
		rem, err := remedy.For(&f)
		if err != nil {
			t.Fatal(err)
		}
		a := narrate.Example(&f, rem, nil).Assistant()
		if n := strings.Count(a, "```") / 2; f.Package != nil && n > 1 {
			t.Errorf("%s: %d fix snippets for a package, want at most 1:\n%s", path, n, a)
		}
		for _, banned := range []string{"CVSS:", "Also known as", "Other fixed versions"} {
			if strings.Contains(a, banned) {
				t.Errorf("%s: answer carries %q:\n%s", path, banned, a)
			}
		}
		if _, refs, ok := strings.Cut(a, "**References**\n"); ok && strings.Count(refs, "\n- ")+1 > 1 {
			t.Errorf("%s: more than one reference:\n%s", path, refs)
		}
		_, why, _ := strings.Cut(a, "**Why it matters**\n")
		why, _, _ = strings.Cut(why, "\n")
		if len(why) > 600 {
			t.Errorf("%s: why it matters runs to %d characters:\n%s", path, len(why), why)
		}
	}
}

// TestNoStepShown: when every remediation step names something the prompt
// does not show, the fix says what to change in the finding's own terms,
// without restating its location (the "Where" section has it): the old
// "Change <location> so that ..." step taught the tuned model to loop on
// the location.
func TestNoStepShown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		kind finding.Kind
		want string
	}{
		{finding.KindWeb, "1. Change the response the alert describes where it is produced"},
		{finding.KindCode, "1. Rewrite the flagged code so that the pattern the rule describes is gone"},
		{finding.KindConfig, "1. Set the flagged setting to the secure value the rule describes"},
	} {
		f := finding.Finding{ID: "nostep-" + string(tt.kind), Kind: tt.kind, Severity: finding.SeverityMedium, Title: "Weak thing",
			Tools:    []finding.Tool{{Name: "scanner", RuleID: "R1"}},
			Location: finding.Location{URL: "http://localhost:8080/login", Method: "GET"},
			Fixes:    []finding.Fix{{Description: "Upgrade the library past CVE-2021-44228."}}}
		if tt.kind != finding.KindWeb {
			f.Location = finding.Location{Path: "src/app/login.go", StartLine: 7}
		}
		rem, err := remedy.For(&f)
		if err != nil {
			t.Fatal(err)
		}
		a := narrate.Example(&f, rem, nil).Assistant()
		_, fix, _ := strings.Cut(a, "**Fix**\n")
		fix, _, _ = strings.Cut(fix, "\n\n")
		if !strings.Contains(fix, tt.want) || strings.Contains(fix, "CVE-2021-44228") {
			t.Errorf("%s: fix %q, want %q and no ungrounded step", tt.kind, fix, tt.want)
		}
		if strings.Contains(fix, "localhost") || strings.Contains(fix, "login.go") {
			t.Errorf("%s: fix restates the location: %q", tt.kind, fix)
		}
	}
}

// TestUngroundedProseIsLeftOut: prose that names an identifier the prompt
// does not show would break the grounding contract; the example is built
// without it and says so.
func TestUngroundedProseIsLeftOut(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/web-zap.json")
	rem, _ := remedy.For(&f)
	e := narrate.Example(&f, rem, &narrate.Prose{Summary: "See also CVE-2019-0001 in src/app/Handler.java."})
	if e.Meta.LLM || strings.Contains(e.Assistant(), "CVE-2019-0001") {
		t.Errorf("ungrounded prose kept (llm %v):\n%s", e.Meta.LLM, e.Assistant())
	}
}

// A package named like a credential ("passwd") followed by its title must
// not read as a password assignment to the dataset's secret scan, which
// refuses the whole dataset.
func TestPasswordLikePackageIsNotASecret(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-debian-no-fix.json")
	f.Package.Name = "passwd"
	f.Title = "shadow-utils: Default subordinate ID configuration in /etc/login.defs"
	rem, err := remedy.For(&f)
	if err != nil {
		t.Fatal(err)
	}
	e := narrate.Example(&f, rem, nil)
	line, _ := json.Marshal(e.Messages)
	if m := redact.Scan(string(line)); len(m) > 0 {
		t.Errorf("secret scan flags the example (%s): %s", m[0].Detector, e.Assistant())
	}
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }

// TestReferencesOnlyShownLinks: an answer links a page naming one of the
// finding's ids only when its prompt shows the link itself; the canonical
// page of an id (which evaluation would ground) is never built.
func TestReferencesOnlyShownLinks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, file, help string
		want             string // the References line, "" for none
	}{
		{"dependency: advisory not in the prompt", "testdata/dependency-maven-gradle-lockfile.json", "", ""},
		{"code: canonical CWE page not in the prompt", "testdata/code-semgrep-fix.json", "", ""},
		{"code: rule page in the prompt names the CWE", "testdata/code-semgrep-fix.json",
			"https://cwe.mitre.org/data/definitions/89.html", "- https://cwe.mitre.org/data/definitions/89.html"},
		{"code: rule page in the prompt names no id", "testdata/code-semgrep-fix.json", "https://semgrep.dev/r/formatted-sql-query", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := load(t, tt.file)
			if tt.help != "" {
				f.HelpURI = tt.help
			}
			rem, err := remedy.For(&f)
			if err != nil {
				t.Fatal(err)
			}
			e := narrate.Example(&f, rem, nil)
			a := e.Assistant()
			_, refs, found := strings.Cut(a, "**References**\n")
			switch {
			case tt.want == "" && found:
				t.Errorf("answer has references %q; want none", refs)
			case tt.want != "" && strings.TrimSpace(refs) != tt.want:
				t.Errorf("references = %q, want %q\n%s", refs, tt.want, a)
			}
			if tt.help != "" && !strings.Contains(e.Prompt(), tt.help) {
				t.Errorf("prompt does not show %s", tt.help)
			}
		})
	}
}

// checkHeadings requires answer's bold lines to be chat.Headings, in order,
// each once: the loop guard bans a heading's second copy
// (engine.LoopGuard.Sections), and a heading it does not know it cannot
// hold to once.
//
// In a list section (chat.ListSections) every other line is a bullet or
// blank, as the loop guard holds generated answers to.
func checkHeadings(t *testing.T, answer string) {
	t.Helper()
	next, list := 0, false
	for _, line := range strings.Split(answer, "\n") {
		if !strings.HasPrefix(line, "**") {
			if list && line != "" && !strings.HasPrefix(line, "- ") {
				t.Errorf("line %q of a list section is no bullet:\n%s", line, answer)
			}
			continue
		}
		list = slices.Contains(chat.ListHeadings(), line)
		i := slices.Index(chat.Headings(), line)
		if i < next {
			t.Errorf("heading line %q is not one of chat.Headings after %v", line, chat.Headings()[:next])
			continue
		}
		next = i + 1
	}
	if next == 0 {
		t.Errorf("answer has no heading of chat.Headings:\n%s", answer)
	}
	// "In short" is one line: the answer's headline, read on its own.
	if _, rest, ok := strings.Cut(answer, chat.Heading("In short")+"\n"); ok {
		if short, _, _ := strings.Cut(rest, "\n\n"); strings.Contains(short, "\n") {
			t.Errorf("the In short section spans lines:\n%s", short)
		}
	}
}

// TestFactsFixLine: the facts say which release line the recommended fix
// is on, for scoring's and grounded decoding's release-line rule
// (remedy.LineContradictions); other outcomes say none.
func TestFactsFixLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ file, want string }{
		{"dependency-npm-later-major", "other-line"},
		{"dependency-alpine-newer-upstream", "other-line"},
		{"dependency-pypi-requirements", "same-line"},
		{"dependency-debian-no-fix", ""},
		{"code-semgrep-fix", ""},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f := load(t, filepath.Join("testdata", tt.file+".json"))
			rem, err := remedy.For(&f)
			if err != nil {
				t.Fatal(err)
			}
			e := narrate.Example(&f, rem, nil)
			if got := e.Meta.Facts.FixLine; got != tt.want {
				t.Errorf("FixLine = %q, want %q", got, tt.want)
			}
			// The prompt says the line in the answer's own words, for the
			// model to copy rather than work out.
			note := ""
			if rem.Choice != nil {
				note = remedy.LineNote(*rem.Choice)
			}
			if (note != "") != (tt.want != "") {
				t.Fatalf("LineNote = %q for FixLine %q", note, tt.want)
			}
			if note == "" {
				return
			}
			if !strings.Contains(e.User(), "(recommended: "+note) {
				t.Errorf("prompt does not mark the recommended version with %q:\n%s", note, e.User())
			}
			for _, clause := range strings.Split(note, "; ") {
				if !strings.Contains(strings.ToLower(e.Assistant()), clause) {
					t.Errorf("answer does not say %q:\n%s", clause, e.Assistant())
				}
			}
		})
	}
}
