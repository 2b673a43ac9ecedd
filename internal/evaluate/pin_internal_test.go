package evaluate

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine/enginetest"
	"github.com/vulntune/vulntune/internal/ident"
)

// pinWalkScript walks each answer's chunks through pin.py's
// SnippetPin.check, as grounded decoding appends tokens: whether every
// prefix passes and the whole passes as a final answer.
const pinWalkScript = `
import json, sys
sys.path.insert(0, sys.argv[1])
from vulntune_engine.pin import SnippetPin
req = json.load(sys.stdin)
p = SnippetPin(req["installed"], req["fixed"])
out = []
for chunks in req["walks"]:
    text, ok = "", True
    for ch in chunks:
        text += ch
        if not p.check(text):
            ok = False
            break
    out.append(ok and p.check(text, final=True))
json.dump(out, sys.stdout)
`

// TestSnippetPinMatchesSnippetScore: on random answers cut into random
// tokens, an answer whose every prefix pin.py accepts has no fix snippet
// that names the installed version by evaluation's own reading
// (fixSnippets, versionTokens): grounded decoding's guarantee that its fix
// snippets are never the vulnerable ones snippetScore fails. Both verdicts
// must occur, and some rejected answers must be vulnerable ones.
func TestSnippetPinMatchesSnippetScore(t *testing.T) {
	const installed, fixed = "0.4.3", "0.6.0"
	rng := rand.New(rand.NewPCG(16, 1206))
	frags := []string{"```\n", "\n```\n", "~~~", "npm add ", "npm install ", "pip install ", "go get ", "Run `", "`", "tunnel-agent@", "x==",
		"0.", "4", ".", "3", "6", "0", "v", "-", "+", " ", ": ", ". ", "\n", "1:", "implementation 'g:a:", "'", "- ", "+ ",
		"0.4.3", "0.6.0", "Upgrade from ", "libfoo", "rc1", "_", "~", "0.4", "0.4.", "0.6", "3", "3 ", "3`", "0\n"}
	var texts []string
	var walks [][]string
	for range 4000 {
		var b strings.Builder
		// Most answers open a snippet: the rule has nothing to say elsewhere.
		b.WriteString([]string{"```\n", "npm add x@", "Run `npm install x@", "then pip install x==", ""}[rng.IntN(5)])
		for range 1 + rng.IntN(10) {
			b.WriteString(frags[rng.IntN(len(frags))])
		}
		text := b.String()
		texts = append(texts, text)
		var cut []string
		for len(text) > 0 {
			n := 1 + rng.IntN(min(5, len(text)))
			cut, text = append(cut, text[:n]), text[n:]
		}
		walks = append(walks, cut)
	}
	var accepted []bool
	enginetest.RunScript(t, "the cross-check of pin.py", pinWalkScript,
		map[string]any{"installed": installed, "fixed": fixed, "walks": walks}, &accepted)
	if len(accepted) != len(texts) {
		t.Fatalf("pin.py gave %d verdicts, want %d", len(accepted), len(texts))
	}
	vulnerable := func(answer string) bool {
		for _, s := range fixSnippets(answer) {
			for _, v := range versionTokens(s) {
				if ident.NormVersion(v) == installed {
					return true
				}
			}
		}
		return false
	}
	n, caught := 0, 0
	for i, text := range texts {
		switch {
		case accepted[i]:
			n++
			if vulnerable(text) {
				t.Errorf("grounded decoding accepts %q token by token (%q); evaluation reads the installed %s in its fix snippets %q",
					text, walks[i], installed, fixSnippets(text))
			}
		case vulnerable(text):
			caught++
		}
	}
	t.Logf("pin.py accepted %d of %d random answers; %d of those it refused are vulnerable by evaluation", n, len(texts), caught)
	if n < len(texts)/10 || n > len(texts)*9/10 || caught < len(texts)/50 {
		t.Errorf("accepted %d and caught %d of %d random answers: the mix should exercise both verdicts", n, caught, len(texts))
	}
}
