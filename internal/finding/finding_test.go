package finding_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
)

func TestSeverityMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		got   func() (finding.Severity, bool)
		want  finding.Severity
		known bool
	}{
		{"trivy CRITICAL", func() (finding.Severity, bool) { return finding.SeverityFromWord("CRITICAL") }, finding.SeverityCritical, true},
		{"osv MODERATE", func() (finding.Severity, bool) { return finding.SeverityFromWord("Moderate") }, finding.SeverityMedium, true},
		{"semgrep ERROR", func() (finding.Severity, bool) { return finding.SeverityFromWord("ERROR") }, finding.SeverityHigh, true},
		{"grype Negligible", func() (finding.Severity, bool) { return finding.SeverityFromWord("Negligible") }, finding.SeverityLow, true},
		{"unknown word", func() (finding.Severity, bool) { return finding.SeverityFromWord("bogus") }, "", false},
		{"sarif note", func() (finding.Severity, bool) { return finding.SeverityFromSARIFLevel("note") }, finding.SeverityLow, true},
		{"sarif none", func() (finding.Severity, bool) { return finding.SeverityFromSARIFLevel("none") }, finding.SeverityInfo, true},
		{"sarif bad", func() (finding.Severity, bool) { return finding.SeverityFromSARIFLevel("fatal") }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.got()
			if got != tt.want || ok != tt.known {
				t.Errorf("got (%q, %v), want (%q, %v)", got, ok, tt.want, tt.known)
			}
		})
	}
}

func TestSeverityFromScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		score float64
		want  finding.Severity
	}{
		{10, finding.SeverityCritical}, {9.0, finding.SeverityCritical}, {8.9, finding.SeverityHigh},
		{7.0, finding.SeverityHigh}, {6.9, finding.SeverityMedium}, {4.0, finding.SeverityMedium},
		{3.9, finding.SeverityLow}, {0.1, finding.SeverityLow}, {0, finding.SeverityInfo},
	}
	for _, tt := range tests {
		if got := finding.SeverityFromScore(tt.score); got != tt.want {
			t.Errorf("SeverityFromScore(%v) = %q, want %q", tt.score, got, tt.want)
		}
	}
}

func TestSeverityUnmarshalRejectsUnknown(t *testing.T) {
	t.Parallel()
	var f finding.Finding
	if err := json.Unmarshal([]byte(`{"severity":"hgih"}`), &f); err == nil {
		t.Fatal("want error for unknown severity")
	}
	if err := json.Unmarshal([]byte(`{"severity":"high"}`), &f); err != nil || f.Severity != finding.SeverityHigh {
		t.Fatalf("got %v %q", err, f.Severity)
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	// known is KnownEcosystem's name, "" when the word names none.
	known := func(word string) string {
		e, ok := finding.KnownEcosystem(word)
		if !ok {
			return ""
		}
		return e
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"cve preferred over ghsa", finding.CanonicalVulnID([]string{"GHSA-xxxx-yyyy-zzzz", "cve-2021-44228"}), "CVE-2021-44228"},
		{"smallest cve", finding.CanonicalVulnID([]string{"CVE-2022-2", "CVE-2021-9"}), "CVE-2021-9"},
		{"ghsa when no cve, in the advisory's case", finding.CanonicalVulnID([]string{"GO-2022-0001", "GHSA-aaaa-bbbb-cccc"}), "GHSA-aaaa-bbbb-cccc"},
		{"ghsa upper-cased by a tool", finding.CanonicalVulnID([]string{"GHSA-JFH8-C2JP-5V3Q"}), "GHSA-jfh8-c2jp-5v3q"},
		{"smallest ghsa without case", finding.CanonicalVulnID([]string{"GHSA-q2x7-8rv6-6q7h", "GHSA-H46C-H94J-95F3"}), "GHSA-h46c-h94j-95f3"},
		{"other ids keep their case", finding.CanonicalVulnID([]string{"npm:hoek:20180212"}), "npm:hoek:20180212"},
		{"spelling: lower-case cve", finding.VulnIDSpelling(" cve-2021-44228 "), "CVE-2021-44228"},
		{"spelling: snyk id as written", finding.VulnIDSpelling("SNYK-JS-LODASH-1040724"), "SNYK-JS-LODASH-1040724"},
		{"other ids", finding.CanonicalVulnID([]string{"PYSEC-2", "OSV-1"}), "OSV-1"},
		{"empty", finding.CanonicalVulnID(nil), ""},
		{"trivy jar", finding.CanonicalEcosystem("jar"), "maven"},
		{"osv Maven", finding.CanonicalEcosystem("Maven"), "maven"},
		{"grype java-archive", finding.CanonicalEcosystem("java-archive"), "maven"},
		{"debian release", finding.CanonicalEcosystem("Debian:12"), "debian"},
		{"ubuntu with space", finding.CanonicalEcosystem("ubuntu 22.04"), "debian"},
		{"crates", finding.CanonicalEcosystem("crates.io"), "cargo"},
		{"trivy uv.lock", finding.CanonicalEcosystem("uv"), "pypi"},
		{"known: apk", known("apk"), "alpine"},
		{"known: distribution with release", known("Alpine:3.18"), "alpine"},
		{"unknown: a tag", known("security"), ""},
		{"unknown: a cwe", known("CWE-79"), ""},
		{"unknown: empty", known(" "), ""},
		{"pep 503", finding.CanonicalPackageName("pypi", "Flask_SQLAlchemy"), "flask-sqlalchemy"},
		{"maven slash", finding.CanonicalPackageName("maven", "com.fasterxml/jackson"), "com.fasterxml:jackson"},
		{"npm keeps case", finding.CanonicalPackageName("npm", "@Scope/Pkg"), "@Scope/Pkg"},
		{"path backslash", finding.CleanPath(`src\main\App.java`), "src/main/App.java"},
		{"path dot", finding.CleanPath("./a/../b/c.go"), "b/c.go"},
		{"path file uri", finding.CleanPath("file://src/x.py"), "src/x.py"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func dep(tool, eco, name, ver string, ids ...string) finding.Finding {
	return finding.Finding{
		Tools: []finding.Tool{{Name: tool, RuleID: ids[0]}}, Kind: finding.KindDependency, Severity: finding.SeverityHigh, Occurrences: 1,
		VulnIDs: ids, Package: &finding.Package{Name: name, Ecosystem: eco, InstalledVersion: ver},
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	code := func(rule, path string, line int, pfp string) finding.Finding {
		return finding.Finding{Tools: []finding.Tool{{Name: "semgrep", RuleID: rule}}, Kind: finding.KindCode,
			Location: finding.Location{Path: path, StartLine: line}, PartialFingerprint: pfp}
	}
	web := func(u, method, param string) finding.Finding {
		return finding.Finding{Tools: []finding.Tool{{Name: "zap", RuleID: "10038"}}, Kind: finding.KindWeb,
			Location: finding.Location{URL: u, Method: method, Param: param}}
	}
	secret := func(hash string) finding.Finding {
		return finding.Finding{Tools: []finding.Tool{{Name: "gitleaks", RuleID: "aws"}}, Kind: finding.KindSecret,
			Location: finding.Location{Path: "a.env", StartLine: 3}, SecretHash: hash}
	}
	tests := []struct {
		name string
		a, b finding.Finding
		same bool
	}{
		{"trivy and osv agree on one cve", dep("trivy", "jar", "org.x:y", "1.0", "CVE-2021-1"), dep("osv-scanner", "Maven", "org.x:y", "1.0", "GHSA-1", "CVE-2021-1"), true},
		{"different installed version", dep("trivy", "npm", "lodash", "4.17.20", "CVE-2021-1"), dep("trivy", "npm", "lodash", "4.17.19", "CVE-2021-1"), false},
		{"pypi name normalisation", dep("trivy", "pip", "Flask_Cors", "1", "CVE-1"), dep("osv-scanner", "PyPI", "flask-cors", "1", "CVE-1"), true},
		{"ghsa id case", dep("grype", "npm", "minimist", "1.2.0", "GHSA-VH95-RMGR-6W4M"), dep("osv-scanner", "npm", "minimist", "1.2.0", "GHSA-vh95-rmgr-6w4m"), true},
		{"same rule path line", code("r.x", "a.go", 3, ""), code("r.x", "a.go", 3, ""), true},
		{"rule id case-insensitive", code("R.X", "a.go", 3, ""), code("r.x", "a.go", 3, ""), true},
		{"other line", code("r.x", "a.go", 3, ""), code("r.x", "a.go", 4, ""), false},
		{"partial fingerprint survives line move", code("r.x", "a.go", 3, "abc"), code("r.x", "a.go", 9, "abc"), true},
		{"two packages on one line", withPkg(code("unpinned", "Dockerfile", 4, ""), "curl"), withPkg(code("unpinned", "Dockerfile", 4, ""), "git"), false},
		{"two messages on one line", withMsg(code("unpinned", "Dockerfile", 4, ""), "Package 'curl' has no version"), withMsg(code("unpinned", "Dockerfile", 4, ""), "Package 'git' has no version"), false},
		{"message case and wrapping", withMsg(code("r.x", "a.go", 3, ""), "Use of  weak\nhash"), withMsg(code("r.x", "a.go", 3, ""), "use of weak hash"), true},
		{"partial fingerprint outweighs message", withMsg(code("r.x", "a.go", 3, "abc"), "one"), withMsg(code("r.x", "a.go", 3, "abc"), "two"), true},
		{"web ignores query", web("https://h/p?a=1", "GET", "a"), web("https://h/p?a=2", "get", "a"), true},
		{"web other param", web("https://h/p", "GET", "a"), web("https://h/p", "GET", "b"), false},
		{"secret by hash", secret("h1"), secret("h1"), true},
		{"different secret same place", secret("h1"), secret("h2"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := finding.Fingerprint(&tt.a), finding.Fingerprint(&tt.b)
			if (a == b) != tt.same {
				t.Errorf("fingerprints %s vs %s: same=%v, want %v", a, b, a == b, tt.same)
			}
			if len(a) != 24 {
				t.Errorf("fingerprint %q: want 24 hex chars", a)
			}
		})
	}
}

func withPkg(f finding.Finding, name string) finding.Finding {
	f.Package = &finding.Package{Name: name}
	return f
}

func withMsg(f finding.Finding, m string) finding.Finding {
	f.Message = m
	return f
}

// TestMergeOrderIndependent folds the same reports in every order: the
// merged finding (location, help URI, package fields taken from one report)
// must be byte-identical.
func TestMergeOrderIndependent(t *testing.T) {
	t.Parallel()
	mk := func(tool, path string, line int, help, purl string) finding.Finding {
		f := dep(tool, "npm", "lodash", "4.17.20", "CVE-2020-8203")
		f.Location = finding.Location{Path: path, StartLine: line}
		f.HelpURI = help
		f.Package.PURL = purl
		f.Sources = []finding.Source{{ToolFile: tool + ".json"}}
		f.ID = finding.Fingerprint(&f)
		return f
	}
	reports := []finding.Finding{
		mk("trivy", "package-lock.json", 10, "https://a", "pkg:npm/lodash@4.17.20"),
		mk("osv-scanner", "web/package-lock.json", 0, "https://b", ""),
		mk("grype", "", 0, "", "pkg:npm/lodash@4.17.20?x=1"),
	}
	var want []byte
	for _, p := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		in := []finding.Finding{reports[p[0]], reports[p[1]], reports[p[2]]}
		out, st := finding.Merge(in)
		if st.Output != 1 {
			t.Fatalf("order %v: %d findings, want 1", p, st.Output)
		}
		got, err := json.Marshal(out[0])
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			t.Errorf("order %v merged to\n%s\nwant\n%s", p, got, want)
		}
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a := dep("trivy", "jar", "org.x:y", "1.0", "CVE-2021-1")
	a.Package.FixedVersions = []string{"1.1"}
	a.Sources = []finding.Source{{ToolFile: "a.sarif"}}
	b := dep("osv-scanner", "Maven", "org.x:y", "1.0", "GHSA-1", "CVE-2021-1")
	b.Severity = finding.SeverityCritical
	b.Score = 9.8
	b.Package.FixedVersions = []string{"1.1", "2.0"}
	b.Description = "longer description"
	b.Sources = []finding.Source{{ToolFile: "osv.json"}}
	c := a // same file seen twice (duplicate artifact)
	c.Suppressed = true
	d := dep("trivy", "npm", "lodash", "4.17.20", "CVE-2020-8203")
	d.Severity = finding.SeverityLow
	in := []finding.Finding{d, a, b, c}
	for i := range in {
		in[i].ID = finding.Fingerprint(&in[i])
	}
	out, st := finding.Merge(in)
	if st.Input != 4 || st.Output != 2 || st.Merged != 2 || st.MultiTool != 1 {
		t.Fatalf("stats = %+v", st)
	}
	m := out[0] // critical sorts first
	if m.Severity != finding.SeverityCritical || m.Score != 9.8 {
		t.Errorf("severity/score not the highest: %q %v", m.Severity, m.Score)
	}
	if got := len(m.Tools); got != 2 {
		t.Errorf("tools = %v", m.Tools)
	}
	if got, want := m.VulnIDs, []string{"CVE-2021-1", "GHSA-1"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("vuln ids = %v", got)
	}
	if got := m.Package.FixedVersions; len(got) != 2 {
		t.Errorf("fixed = %v", got)
	}
	if m.Suppressed {
		t.Error("one unsuppressed report must keep the merged finding unsuppressed")
	}
	if m.Occurrences != 3 || len(m.Sources) != 2 {
		t.Errorf("occurrences %d sources %v", m.Occurrences, m.Sources)
	}
	if out[1].References == nil || out[1].CWE == nil {
		t.Error("lists must be [] not null")
	}
}

// TestMergeVulnIDCase: one GHSA id cased differently by two tools is one
// id after the merge, spelt as the advisory spells it.
func TestMergeVulnIDCase(t *testing.T) {
	t.Parallel()
	a := dep("grype", "npm", "minimist", "1.2.0", "GHSA-VH95-RMGR-6W4M")
	b := dep("osv-scanner", "npm", "minimist", "1.2.0", "GHSA-vh95-rmgr-6w4m")
	in := []finding.Finding{a, b}
	for i := range in {
		in[i].ID = finding.Fingerprint(&in[i])
	}
	out, st := finding.Merge(in)
	if st.Output != 1 {
		t.Fatalf("%d findings, want 1", st.Output)
	}
	if got, want := out[0].VulnIDs, []string{"GHSA-vh95-rmgr-6w4m"}; !slices.Equal(got, want) {
		t.Errorf("vuln ids %v, want %v", got, want)
	}
}

// A Go module's fixed versions take the "v" of its installed version
// (Trivy reports "0.37.0" beside "v0.35.0"); the standard library's and
// other ecosystems' stay as reported.
func TestNormalizeGoFixedVersions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		eco, name, installed string
		fixed, want          []string
	}{
		{"gomod", "github.com/open-policy-agent/opa", "v0.35.0", []string{"0.37.0"}, []string{"v0.37.0"}},
		{"go", "golang.org/x/net", "v0.7.0", []string{"0.17.0", "v0.23.0"}, []string{"v0.17.0", "v0.23.0"}},
		{"gobinary", "stdlib", "v1.20.4", []string{"1.20.5"}, []string{"1.20.5"}},
		{"gomod", "example.com/m", "0.1.0", []string{"0.2.0"}, []string{"0.2.0"}},
		{"npm", "minimist", "v1.2.0", []string{"1.2.6"}, []string{"1.2.6"}},
	} {
		f := finding.Finding{Package: &finding.Package{Name: tt.name, Ecosystem: tt.eco,
			InstalledVersion: tt.installed, FixedVersions: slices.Clone(tt.fixed)}}
		finding.Normalize(&f)
		if !slices.Equal(f.Package.FixedVersions, tt.want) {
			t.Errorf("%s %s %s: fixed %v, want %v", tt.eco, tt.name, tt.installed, f.Package.FixedVersions, tt.want)
		}
	}
}
