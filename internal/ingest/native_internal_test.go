package ingest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestJSONCVSSScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		vector   string
		want     float64
		wantRank int
		wantErr  bool
	}{
		// Scores from the FIRST calculators and NVD for these vectors.
		{"v3.1 critical", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, 4, false},
		{"v3.1 scope changed", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, 4, false},
		{"v3.1 availability only", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, 4, false},
		{"v3.1 local", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5, 4, false},
		{"v3.0", "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, 2, false},
		{"v4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7, 3, false},
		{"v4.0 critical", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, 3, false},
		{"v2", "AV:N/AC:M/Au:N/C:C/I:C/A:C", 9.3, 1, false},
		{"v2 partial", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, 1, false},
		{"v2 in parentheses", "(AV:N/AC:L/Au:N/C:N/I:N/A:P)", 5.0, 1, false},
		{"unknown version", "CVSS:5.0/AV:N", 0, 0, true},
		{"missing metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", 0, 0, true},
		{"empty", "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, rank, err := jsonCVSSScore(tt.vector)
			if (err != nil) != tt.wantErr {
				t.Fatalf("jsonCVSSScore(%q) error = %v, wantErr %v", tt.vector, err, tt.wantErr)
			}
			if got != tt.want || rank != tt.wantRank {
				t.Errorf("jsonCVSSScore(%q) = %v rank %d, want %v rank %d", tt.vector, got, rank, tt.want, tt.wantRank)
			}
		})
	}
}

func TestJSONCVSSPrefersV31(t *testing.T) {
	t.Parallel()
	var b jsonCVSS
	for _, v := range []string{
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", // 9.3
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",                    // 7.5
		"not a vector",
		"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", // 5.5, same version, lower
	} {
		b.consider(v)
	}
	if b.score != 7.5 || !strings.HasPrefix(b.vector, "CVSS:3.1/AV:N") {
		t.Errorf("best = %v %q, want the v3.1 vector scoring 7.5", b.score, b.vector)
	}
}

func TestJSONCWE(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"CWE-89", "CWE-89"},
		{"CWE-89: Improper Neutralization of Special Elements used in an SQL Command", "CWE-89"},
		{"cwe-079", "CWE-79"},
		{"79", "CWE-79"},
		{"CWE_22", "CWE-22"},
		{"-1", ""},
		{"0", ""},
		{"", ""},
		{"NVD-CWE-Other", ""},
		{"A03:2021 - Injection", ""},
	}
	for _, tt := range tests {
		if got := jsonCWE(tt.in); got != tt.want {
			t.Errorf("jsonCWE(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOSVFixed(t *testing.T) {
	t.Parallel()
	var v osvVuln
	err := json.Unmarshal([]byte(`{"affected": [
		{"package": {"ecosystem": "PyPI", "name": "django"}, "ranges": [
			{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.2.3"}]},
			{"type": "SEMVER", "events": [{"introduced": "5.0"}, {"fixed": "5.0.1"}]},
			{"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "0123abcd"}]}]},
		{"package": {"ecosystem": "PyPI", "name": "flask"}, "ranges": [
			{"type": "ECOSYSTEM", "events": [{"fixed": "2.3.2"}]}]},
		{"package": {"ecosystem": "npm", "name": "django"}, "ranges": [
			{"type": "SEMVER", "events": [{"fixed": "9.9.9"}]}]}]}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	var pkg osvPackage
	pkg.Package.Name, pkg.Package.Ecosystem = "Django", "PyPI"
	got := osvFixed(&v, pkg)
	if want := []string{"4.2.3", "5.0.1"}; !slices.Equal(got, want) {
		t.Errorf("osvFixed = %v, want %v (ECOSYSTEM and SEMVER ranges of the named package only)", got, want)
	}
}

func TestTrivySplitVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"2.36-9+deb12u7", []string{"2.36-9+deb12u7"}},
		{"2.12.7.1, 2.13.4.2", []string{"2.12.7.1", "2.13.4.2"}},
		{" 1.0 ,, 2.0,", []string{"1.0", "2.0"}},
	}
	for _, tt := range tests {
		if got := trivySplitVersions(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("trivySplitVersions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGrypeEcosystem(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"java-archive": "maven", "npm": "npm", "python": "pypi", "go-module": "go",
		"deb": "debian", "apk": "alpine", "rpm": "rpm", "gem": "rubygems", "rust-crate": "cargo",
	}
	for in, want := range tests {
		if got := grypeEcosystem(in); got != want {
			t.Errorf("grypeEcosystem(%q) = %q, want %q", in, got, want)
		}
	}
	if got := grypeName("maven", "log4j-core", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"); got != "org.apache.logging.log4j:log4j-core" {
		t.Errorf("grypeName = %q, want group:artifact from the purl", got)
	}
}

func TestZAPHTMLText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "  no   markup\there ", "no markup here"},
		{"paragraphs", "<p>First one.</p><p>Second one.</p>", "First one.\n\nSecond one."},
		{"br", "line one<br>line two<br/>line three", "line one\nline two\nline three"},
		{"entities", "a &lt;b&gt; &amp; &quot;c&quot;&#x2F;d&nbsp;e", `a <b> & "c"/d e`},
		{"inline tags keep words apart", "word<b>bold</b> <i>it</i>", "wordbold it"},
		{"lists", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"script dropped", "<p>ok</p><script>alert(1)</script>", "ok"},
		{"unclosed", "<p>open <b>bold", "open bold"},
		{"adjacent blocks", "end.</p><p>Start", "end.\n\nStart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := zapHTMLText(tt.in); got != tt.want {
				t.Errorf("zapHTMLText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestJSONRepoPath(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"/home/runner/work/mpo-api-authn-server/mpo-api-authn-server/webauthn-server/gradle.lockfile": "webauthn-server/gradle.lockfile",
		"/github/workspace/Dockerfile": "Dockerfile",
		"./app/db.py":                  "app/db.py",
		`src\main\App.java`:            "src/main/App.java",
		"/usr/lib/app.jar":             "/usr/lib/app.jar",
		"":                             "",
	}
	for in, want := range tests {
		if got := jsonRepoPath(in); got != want {
			t.Errorf("jsonRepoPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONSniffHead(t *testing.T) {
	t.Parallel()
	h := jsonSniffHead([]byte(`{"a": {"results": 1}, "b": ["x", {"c": "results"}], "runs": [`))
	if !h.top["a"] || !h.top["b"] || !h.top["runs"] || h.top["results"] || h.top["c"] {
		t.Errorf("top keys = %v, want a, b, runs only", h.top)
	}
	if !h.all["results"] || !h.all["c"] || h.all["x"] {
		t.Errorf("all keys = %v: values must not count as keys", h.all)
	}
	arr := jsonSniffHead([]byte(`[{"RuleID": "x", "Secret": "y"}, {"Other": 1}]`))
	if !arr.array || !arr.top["RuleID"] || arr.top["Other"] || arr.elems != 2 {
		t.Errorf("array head = %+v, want the first element's keys and 2 elements", arr)
	}
	for _, junk := range []string{"", "\x00\x01", "not json", "[", "{"} {
		if h := jsonSniffHead([]byte(junk)); len(h.top) != 0 {
			t.Errorf("jsonSniffHead(%q) found keys %v", junk, h.top)
		}
	}
}

func TestJSONTitle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 60)
	tests := []struct{ in, want string }{
		{"One sentence. Another one.", "One sentence."},
		{"First line\nsecond line", "First line"},
		{"v1.2.3 is fine", "v1.2.3 is fine"},
		{long, strings.TrimSpace(long[:160]) + "…"},
	}
	for _, tt := range tests {
		if got := jsonTitle(tt.in); got != tt.want {
			t.Errorf("jsonTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
