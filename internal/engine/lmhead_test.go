package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

// TestLossAtSupervisedPositions: the training loss computed with the output
// layer only at assistant tokens (lmhead.py, data.py's loss_at) has the
// value and gradients of the full-logits loss on both architectures vulntune
// names, its positions padded to the compile bucket; a model whose logits are
// not its output layer's keeps the full logits.
func TestLossAtSupervisedPositions(t *testing.T) {
	e := newEngine(t)
	llama, olmo2 := tinyModelDir(t, e, "llama"), tinyModelDir(t, e, "olmo2")
	root, err := engine.InstallPython(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	check, err := os.ReadFile(filepath.Join("testdata", "lmhead_check.py"))
	if err != nil {
		t.Fatal(err)
	}
	got := runJSONCheck(t, e, "lmhead-check", check, []string{root, llama, olmo2})
	if got["scaled split"] != false {
		t.Error("a model with transformed logits got an output-layer split")
	}
	bucket, _ := got["bucket"].(float64)
	for _, kind := range []string{"llama", "olmo2"} {
		if got[kind+" split"] != true {
			t.Errorf("%s: no output-layer split", kind)
			continue
		}
		// 20 + 10 + 17 assistant tokens.
		if toks, _ := got[kind+" tokens"].([]any); len(toks) != 2 || toks[0] != toks[1] || toks[0] != 47.0 {
			t.Errorf("%s: supervised tokens full/gathered %v, want 47 both", kind, got[kind+" tokens"])
		}
		if p, _ := got[kind+" positions"].(float64); bucket == 0 || p != bucket {
			t.Errorf("%s: %v gathered positions, want one bucket of %v", kind, p, bucket)
		}
		for _, m := range []string{" loss", " grad"} {
			if v, ok := got[kind+m].(float64); !ok || v > 1e-5 {
				t.Errorf("%s%s: relative difference %v, want <= 1e-5", kind, m, got[kind+m])
			}
		}
	}
}
