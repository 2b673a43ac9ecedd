package narrate

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	t.Parallel()
	// The NSWG-ECO-118 description Trivy before SchemaVersion passed on
	// (examples/corpus/trivy/hello-nodejs-testing-legacy-array.json).
	nswg := "Minimatch is a minimal matching utility that works by converting glob expressions into JavaScript `RegExp` objects.  The primary function, `minimatch(path, pattern)` is vulnerable to ReDoS in the `pattern` parameter.  This is because of the regular expression on line 521 of minimatch.js: `/((?:\\\\{2})*)(\\\\?)\\|/g,`.  The problematic portion"
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short stays whole", "One. Two.", 300, "One. Two."},
		{"cut at the last sentence end", "First sentence here. Second sentence is longer than the limit allows.", 36, "First sentence here."},
		{"a file name's dot ends no sentence", nswg, 300, "Minimatch is a minimal matching utility that works by converting glob expressions into JavaScript `RegExp` objects.  The primary function, `minimatch(path, pattern)` is vulnerable to ReDoS in the `pattern` parameter."},
		{"a line break ends one", "Line one of the text\nline two goes on and on past the limit", 30, "Line one of the text"},
		{"no sentence end: word cut", strings.Repeat("word ", 20), 32, "word word word word word word …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clip(tt.in, tt.n); got != tt.want {
				t.Errorf("clip(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestEndSentence(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"Port 3389 open", "Port 3389 open."},
		{"(CVE-2021-23337) lodash@4.17.20", "(CVE-2021-23337) lodash@4.17.20."},
		{"Already ends.", "Already ends."},
		{"Does it?", "Does it?"},
		{"Quoted \"end.\"", "Quoted \"end.\""},
		{"(a remark.)", "(a remark.)"},
		{"word word …", "word word …"},
		{"The affected versions are:", "The affected versions are."},
		{"See https://example.com/a", "See https://example.com/a."},
	} {
		if got := endSentence(tt.in); got != tt.want {
			t.Errorf("endSentence(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSaysSomething(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"(CVE-2018-3728) hoek@2.16.3", false},
		{"https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#CIS-DI-0005", false},
		{"CVE-2021-44228", false},
		{"Port 3389 open", true},
		{"Out-of-bounds read when dealing with cookies.", true},
		{"ReDoS", false},
	} {
		if got := saysSomething(tt.in); got != tt.want {
			t.Errorf("saysSomething(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	// GHSA-h46c-h94j-95f3's details as OSV gives them
	// (examples/artifacts/osv-scanner/osv-results.json).
	ghsa := "### Impact\nWith older versions  of jackson-core, if you parse an input file and it has deeply nested data, Jackson could end up throwing a StackoverflowError if the depth is particularly large.\n\n### Patches\njackson-core 2.15.0 contains a configurable limit.\n\n### Workarounds\nUsers should avoid parsing input files from untrusted sources."
	tests := []struct{ name, in, want string }{
		{"headings left out", ghsa, "With older versions of jackson-core, if you parse an input file and it has deeply nested data, Jackson could end up throwing a StackoverflowError if the depth is particularly large. jackson-core 2.15.0 contains a configurable limit. Users should avoid parsing input files from untrusted sources."},
		{"a bare marker is a heading", "#\nText.", "Text."},
		{"a hash tag is no heading", "#hashtag stays\nhere", "#hashtag stays here"},
		{"headings only", "# Summary\n## Details", ""},
		{"the text before a heading ends as a sentence", "I have spotted two attack vectors\n\n### Details\n1. While the decoder", "I have spotted two attack vectors. 1. While the decoder"},
		{"blanks collapse", "  one\r\n\n two  ", "one two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainText(tt.in); got != tt.want {
				t.Errorf("plainText(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
