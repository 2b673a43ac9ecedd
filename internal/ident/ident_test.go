package ident_test

import (
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
