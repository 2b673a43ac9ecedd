package remedy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

// loadFindings reads every testdata/findings/<case>.json (not the goldens).
func loadFindings(t *testing.T) map[string]*finding.Finding {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "findings", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*finding.Finding{}
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f finding.Finding
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = &f
	}
	if len(out) < 10 {
		t.Fatalf("found %d sample findings, want at least 10", len(out))
	}
	return out
}

// goldenFile is what a golden file holds: the structure and its rendering, so
// reviewers read the text a model would be trained on.
type goldenFile struct {
	Remediation remedy.Remediation `json:"remediation"`
	Text        []string           `json:"text"`
}

func TestGolden(t *testing.T) {
	for name, f := range loadFindings(t) {
		t.Run(name, func(t *testing.T) {
			r, err := remedy.For(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(goldenFile{r, strings.Split(r.Text(), "\n")}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden.Assert(t, filepath.Join("testdata", "findings", name+".golden.json"), got)
		})
	}
}

var (
	versionToken = regexp.MustCompile(`\b\d+(?:[.:~+^-][0-9A-Za-z]+)*\.\d+(?:[.:~+^_-][0-9A-Za-z]+)*`)
	vulnToken    = regexp.MustCompile(`\b(?:CVE-\d{4}-\d+|GHSA(?:-[0-9a-z]{4}){3}|CWE-\d+)\b`)
	pathToken    = regexp.MustCompile(`(?:^|[\s(,])((?:[\w.@-]+/)+[\w.@-]+\.[A-Za-z]{1,10}|[\w-]+\.(?:xml|json|lock|txt|toml|yaml|kts|gradle|lockfile|py|go|mod|sum|tf|cjs|js|ini|env))\b`)
	placeholders = regexp.MustCompile(`(?i)\b(TODO|FIXME|TBD|lorem|placeholder)\b|<your[ -]|\bX\.Y\.Z\b`)
)

// ungrounded returns every version string, vulnerability or CWE id and file
// path in text that occurs neither in source (the finding's JSON plus the
// cited catalogue entries) nor, for paths, as a known manifest beside a
// directory in source; and any placeholder text.
func ungrounded(text, source string) []string {
	manifests := map[string]bool{}
	for _, m := range finding.ManifestNames() {
		manifests[m] = true
	}
	var bad []string
	if m := placeholders.FindString(text); m != "" && !strings.Contains(source, m) {
		bad = append(bad, "placeholder "+m)
	}
	for _, v := range versionToken.FindAllString(text, -1) {
		if !strings.Contains(source, v) && !strings.Contains(source, strings.TrimPrefix(v, "go")) {
			bad = append(bad, "version "+v)
		}
	}
	for _, id := range vulnToken.FindAllString(text, -1) {
		if !strings.Contains(source, id) {
			bad = append(bad, "id "+id)
		}
	}
	for _, m := range pathToken.FindAllStringSubmatch(text, -1) {
		p := m[1]
		if strings.Contains(source, p) {
			continue
		}
		dir, base := filepath.Split(p)
		if manifests[base] && (dir == "" || strings.Contains(source, dir)) {
			continue
		}
		bad = append(bad, "path "+p)
	}
	return bad
}

func TestUngroundedCatchesInventions(t *testing.T) {
	t.Parallel()
	source := `{"package":{"installed_version":"1.3.5","fixed_versions":["1.3.15"]},"vuln_ids":["CVE-2024-12801"],"location":{"path":"svc/gradle.lockfile"}}`
	tests := []struct {
		text string
		want int
	}{
		{"Upgrade from 1.3.5 to 1.3.15 for CVE-2024-12801 in svc/build.gradle.kts.", 0},
		{"Upgrade to 1.5.13.", 1},
		{"It fixes CVE-2023-0001 and CWE-79.", 2},
		{"Edit other/pom.xml and lib/secret.py.", 2},
		{"// TODO: Implement validation", 1},
	}
	for _, tt := range tests {
		if got := ungrounded(tt.text, source); len(got) != tt.want {
			t.Errorf("ungrounded(%q) = %q, want %d findings", tt.text, got, tt.want)
		}
	}
}

// TestGrounded checks that every version string, vulnerability or CWE id
// and file path in each sample's rendered remediation, and every reference,
// comes from the finding, the CWE catalogue entries it cites or the flavour
// table.
func TestGrounded(t *testing.T) {
	for name, f := range loadFindings(t) {
		t.Run(name, func(t *testing.T) {
			r, err := remedy.For(f)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			source := string(raw)
			for _, e := range r.CWE {
				source += " " + e.ID + " " + e.Name + " " + e.Description + " " + e.URL
			}
			// The flavour table is shipped knowledge too: a listed version
			// rewritten into the installed flavour (TestKeepFlavour).
			if c := r.Choice; c != nil && c.Listed != "" {
				source += " " + c.Fixed
			}
			for _, b := range ungrounded(r.Text(), source) {
				t.Errorf("ungrounded %s", b)
			}
			for _, ref := range r.References {
				if !strings.Contains(source, ref) {
					t.Errorf("reference %q is not from the finding or the catalogue", ref)
				}
			}
		})
	}
}

func TestNoOrphanGoldens(t *testing.T) {
	goldens, err := filepath.Glob(filepath.Join("testdata", "findings", "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".golden.json") + ".json"); err != nil {
			t.Errorf("golden %s has no input: %v", g, err)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }
