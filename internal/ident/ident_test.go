package ident_test

import (
	"reflect"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
)

func TestNormalise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, got, want string
	}{
		{"cwe leading zeros", ident.NormCWE("cwe-079"), "CWE-79"},
		{"cwe space", ident.NormCWE("CWE 89"), "CWE-89"},
		{"cwe underscore", ident.NormCWE("CWE_22"), "CWE-22"},
		{"not a cwe", ident.NormCWE(" cve-2021-1 "), "CVE-2021-1"},
		{"version v and .0", ident.NormVersion("v2.15.0"), "2.15"},
		{"version punctuation", ident.NormVersion("1.3.15,"), "1.3.15"},
		{"prerelease keeps .0", ident.NormVersion("2.0.0-rc.0"), "2.0.0-rc.0"},
		{"url scheme and slash", ident.NormURL("HTTPS://www.Example.com/a/"), "example.com/a"},
		{"url fragment", ident.NormURL("http://h/p#x)."), "h/p"},
		{"url backslashes", ident.NormURL(`HTTPS:\\www.Example.com\a\`), "example.com/a"},
		{"url one backslash", ident.NormURL(`https:\h\p`), "h/p"},
		{"url slash then backslash", ident.NormURL(`https:/\h\p#x`), "h/p"},
		{"url backslashes past the scheme's two", ident.NormURL(`ftp:\\\h`), "h"},
		{"url backslashes after slashes", ident.NormURL(`https://h\p`), "h/p"},
		{"url scheme alone in backslashes", ident.NormURL(`https:\\`), ""},
		{"canonical id upper case", ident.CanonicalID("rustsec-2023-0015"), "RUSTSEC-2023-0015"},
		{"canonical ghsa segments lower case", ident.CanonicalID("ghsa-6V67-2wr5-GVF4"), "GHSA-6v67-2wr5-gvf4"},
		{"url path keeps its case", ident.NormURL("HTTPS://WWW.OSV.dev/vulnerability/RUSTSEC-2023-0015"), "osv.dev/vulnerability/RUSTSEC-2023-0015"},
		{"url host ends at a query", ident.NormURL("https://Example.COM?Q=A"), "example.com?Q=A"},
		{"url path case in backslashes", ident.NormURL(`https:\\OSV.dev\Vulnerability\X`), "osv.dev/Vulnerability/X"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestIsPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tok  string
		want bool
	}{
		{"src/main/App.java", true}, {"pom.xml", true}, {"App.kt", true}, {"/etc/passwd", true},
		{"Node.js", false}, {"https://x/y.html", false}, {"@scope/pkg", false}, {"and/or", false}, {"", false},
	}
	for _, tt := range tests {
		if got := ident.IsPath(tt.tok); got != tt.want {
			t.Errorf("IsPath(%q) = %v, want %v", tt.tok, got, tt.want)
		}
	}
}

func TestContainsWord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hay, needle string
		want        bool
	}{
		{"upgrade lodash now", "lodash", true},
		{"upgrade lodash.", "lodash", true},
		{"lodash-es is different", "lodash", false},
		{"sublodash", "lodash", false},
		{"version 1.3.15 fixes", "1.3.1", false},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := ident.ContainsWord(tt.hay, tt.needle); got != tt.want {
			t.Errorf("ContainsWord(%q, %q) = %v, want %v", tt.hay, tt.needle, got, tt.want)
		}
	}
}

// TestKnownFilesIncludeManifests keeps one table of manifest files: every
// file finding knows pins packages is a file name text may name.
func TestKnownFilesIncludeManifests(t *testing.T) {
	t.Parallel()
	for _, n := range finding.ManifestNames() {
		if !ident.IsPath(n) {
			t.Errorf("%s: a manifest file name is not recognised as a file name", n)
		}
	}
}

// TestUngroundedBlanksBackslashURLs: a URL written with backslashes is
// blanked before paths and versions are looked for, as one with slashes
// is; its path and version parts are the URL's, judged by UngroundedURLs.
func TestUngroundedBlanksBackslashURLs(t *testing.T) {
	t.Parallel()
	ground := "Upgrade lodash from 4.17.20 to 4.17.21 in web/package-lock.json."
	tests := []struct {
		name, text string
		want       []string
	}{
		{"slashes", "See https://evil.example/lodash/4.17.99/app/index.js.", nil},
		{"backslashes", `See https:\\evil.example\lodash\4.17.99\app\index.js.`, nil},
		{"one backslash", `See https:\evil.example\lodash\4.17.99.`, nil},
		{"slash then backslash", `See http:/\evil.example\v4.17.99\app\index.js`, nil},
		{"a version beside it is still judged", `See https:\\evil.example\x and 4.17.99.`, []string{"4.17.99"}},
		{"a path after backslashes that are no URL", `C:\web\1.2.3 and app/index.js`, []string{"1.2.3", "app/index.js"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ident.Ungrounded(tt.text, ground); !reflect.DeepEqual(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
				t.Errorf("Ungrounded(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestUngroundedURLs(t *testing.T) {
	t.Parallel()
	ground := "tool: trivy\nrule_id: CVE-2024-12801\naliases: GHSA-6v67-2wr5-gvf4\ncwe: CWE-918\n" +
		"help: https://avd.aquasec.com/nvd/cve-2024-12801\nlocation: http://localhost:8080/login"
	tests := []struct {
		name, text string
		want       []string
	}{
		{"in the ground as written", "See https://avd.aquasec.com/nvd/cve-2024-12801.", nil},
		{"scheme, host case, www and trailing slash", "See HTTP://www.AVD.aquasec.com/nvd/cve-2024-12801/ and https://localhost:8080/login#x", nil},
		{"canonical pages of grounded ids", "- https://cwe.mitre.org/data/definitions/918.html\n- https://nvd.nist.gov/vuln/detail/CVE-2024-12801\n" +
			"- https://github.com/advisories/GHSA-6v67-2wr5-gvf4\n- https://osv.dev/vulnerability/CVE-2024-12801", nil},
		{"canonical page of an id the ground lacks", "https://nvd.nist.gov/vuln/detail/CVE-2024-12802 and https://cwe.mitre.org/data/definitions/79.html",
			[]string{"https://cwe.mitre.org/data/definitions/79.html", "https://nvd.nist.gov/vuln/detail/CVE-2024-12802"}},
		{"the path's case counts", "https://avd.aquasec.com/NVD/CVE-2024-12801", []string{"https://avd.aquasec.com/NVD/CVE-2024-12801"}},
		{"canonical pages in another case", "https://www.osv.dEV/vuLNEraBilItY/cVE-2024-12801 and https://nvd.nist.gov/vuln/detail/cve-2024-12801 " +
			"and https://github.com/advisories/ghsa-6v67-2wr5-gvf4 and https://osv.dev/vulnerability/GHSA-6V67-2WR5-GVF4",
			[]string{"https://github.com/advisories/ghsa-6v67-2wr5-gvf4", "https://nvd.nist.gov/vuln/detail/cve-2024-12801",
				"https://osv.dev/vulnerability/GHSA-6V67-2WR5-GVF4", "https://www.osv.dEV/vuLNEraBilItY/cVE-2024-12801"}},
		{"canonical page at a host in capitals", "https://OSV.DEV/vulnerability/GHSA-6v67-2wr5-gvf4", nil},
		{"cwe page with leading zeros is not canonical", "https://cwe.mitre.org/data/definitions/0918.html", []string{"https://cwe.mitre.org/data/definitions/0918.html"}},
		{"other page naming a grounded id", "[advisory](https://security.snyk.io/vuln/CVE-2024-12801)", []string{"https://security.snyk.io/vuln/CVE-2024-12801"}},
		{"invented advisory once, bold", "**https://example.com/advisory/42** and https://example.com/advisory/42.", []string{"https://example.com/advisory/42"}},
		{"another path on a grounded host", "http://localhost:8080/admin", []string{"http://localhost:8080/admin"}},
		// Backslashes are read as slashes, as grounded decoding reads them.
		{"grounded page in backslashes", `See https:\\avd.aquasec.com\nvd\cve-2024-12801 and http:/\localhost:8080\login.`, nil},
		{"canonical page in backslashes", `https:\\osv.dev\vulnerability\CVE-2024-12801`, nil},
		{"grounded host, backslashes in the path", `https://avd.aquasec.com\nvd\cve-2024-12801`, nil},
		{"invented page in backslashes", `See https:\\evil.example\x, then ftp:\evil.example.`,
			[]string{`ftp:\evil.example`, `https:\\evil.example\x`}},
		{"a backslash scheme naming no page", `https:\\ or https:\`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, id := range ident.UngroundedURLs(tt.text, ground) {
				if id.Kind != ident.KindURL {
					t.Errorf("%s: kind %q", id.Text, id.Kind)
				}
				got = append(got, id.Text)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("UngroundedURLs(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
