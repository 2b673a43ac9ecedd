package export

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// TestLogitsRoundTrip is the round trip on the real model: export
// SmolLM2-135M-Instruct at f16 and q8_0, import each file back with the
// model store's importer, and run all three through mlx-lm on one chat
// prompt. f16 must give the source's top token at every position with
// logits within 0.1; q8_0 at 90% of positions with a mean logit error under
// 0.3 (measured: 0.03–0.04 and 100% for f16, 0.12–0.13 and 95–100% for q8_0, on logits
// with a standard deviation of 7). A wrong name or Q/K permutation
// scrambles the logits entirely. Needs the engine and the base model, as
// `make test` provides them.
func TestLogitsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 135M model three times")
	}
	py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON")
	data := os.Getenv("VULNTUNE_DATA_DIR")
	if py == "" && data != "" {
		py = filepath.Join(data, "engine", "venv", "bin", "python")
	}
	if py == "" || exec.Command(py, "-c", "import mlx_lm").Run() != nil {
		t.Skip("no engine with mlx-lm: run `make setup` (or export VULNTUNE_DATA_DIR / VULNTUNE_TEST_ENGINE_PYTHON)")
	}
	src := os.Getenv("VULNTUNE_TEST_BASE_MODEL")
	for _, d := range []string{os.Getenv("VULNTUNE_BASE_MODELS_DIR"), filepath.Join(data, "models", "base")} {
		if p := filepath.Join(d, "SmolLM2-135M-Instruct"); src == "" && d != "" && fileExists(filepath.Join(p, "config.json")) {
			src = p
		}
	}
	if src == "" {
		t.Skip("no SmolLM2-135M-Instruct base model: run `make setup` or export VULNTUNE_TEST_BASE_MODEL")
	}
	tmp := t.TempDir()
	back := map[string]string{}
	for _, q := range []string{QuantF16, QuantQ8_0} {
		res, err := Export(context.Background(), src, Options{Quant: q, OutDir: filepath.Join(tmp, q)})
		if err != nil {
			t.Fatal(err)
		}
		back[q] = filepath.Join(tmp, "back-"+q)
		if _, err := modelstore.ImportGGUF(context.Background(), res.GGUF, back[q], modelstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(res.GGUF); err != nil { // keep the temp dir small
			t.Fatal(err)
		}
	}
	out, err := exec.Command(py, filepath.Join("testdata", "logits.py"), src, back[QuantF16], back[QuantQ8_0]).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("logits: %v\n%s", err, stderr)
	}
	var got map[string]struct {
		MaxAbs      float64 `json:"max_abs"`
		MeanAbs     float64 `json:"mean_abs"`
		ArgmaxAgree float64 `json:"argmax_agree"`
		Positions   int     `json:"positions"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("logits output %s: %v", out, err)
	}
	for _, tt := range []struct {
		quant           string
		maxAbs, meanAbs float64
		minArgmaxAgree  float64
	}{
		{QuantF16, 0.1, 0.02, 1},
		{QuantQ8_0, 3, 0.3, 0.9},
	} {
		g, ok := got[back[tt.quant]]
		if !ok {
			t.Fatalf("no result for %s in %s", tt.quant, out)
		}
		t.Logf("%s: max |Δlogit| %.4f, mean %.4f, top token agrees at %.0f%% of %d positions", tt.quant, g.MaxAbs, g.MeanAbs, 100*g.ArgmaxAgree, g.Positions)
		if g.MaxAbs > tt.maxAbs || g.MeanAbs > tt.meanAbs || g.ArgmaxAgree < tt.minArgmaxAgree {
			t.Errorf("%s: max |Δlogit| %.4f (≤ %g), mean %.4f (≤ %g), top token agrees at %.3f (≥ %g)",
				tt.quant, g.MaxAbs, tt.maxAbs, g.MeanAbs, tt.meanAbs, g.ArgmaxAgree, tt.minArgmaxAgree)
		}
	}
}
