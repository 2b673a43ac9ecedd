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
