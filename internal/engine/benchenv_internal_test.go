package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bench/engine-env.sh repeats, for shell scripts, the BLAS candidates (the
// engine's own OpenBLAS, then the system's) and
// malloc settings the engine gives its children, in the engine's order; a
// bench run under other conditions than the engine's measures something
// else.
func TestBenchEngineEnv(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "bench", "engine-env.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		for _, w := range strings.Fields(l) {
			words = append(words, strings.TrimRight(w, ";"))
		}
	}
	inOrder := func(name string, want []string) {
		at := 0
		for _, w := range want {
			i := at
			for i < len(words) && words[i] != w {
				i++
			}
			if i == len(words) {
				t.Errorf("bench/engine-env.sh: %s %q missing or out of order", name, w)
				continue
			}
			at = i + 1
		}
	}
	inOrder("BLAS candidate", append([]string{`"$engine_venv"/` + engineBLASGlob}, systemBLASCandidates...))
	inOrder("malloc setting", glibcRetain)
}
