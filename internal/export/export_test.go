package export

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/x448/float16"

	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/modelstore/modeltest"
)

// tinyModel imports modeltest's random GGUF into an HF-layout dir: the
// model export starts from, as `vulntune models import` would leave it.
func tinyModel(t *testing.T, opts modeltest.TinyLlamaOptions) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny.gguf")
	var buf bytes.Buffer
	if err := modeltest.WriteTinyLlamaGGUF(&buf, opts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "tiny-"+opts.Arch)
	if _, err := modelstore.ImportGGUF(context.Background(), src, model, modelstore.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return model
}

// readAll reads every tensor of a model dir as float32s.
func readAll(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	ts, err := readTensors(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, ht := range ts {
		if out[ht.name], err = ht.floats(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestRoundTrip exports a model to GGUF and imports it back: every tensor
// must come back within what its encoding loses (nothing for the F32 norms,
// f16 rounding, half a Q8_0 step plus the f16 rounding of the block scale),
// and config, tokenizer and chat template exactly. A wrong tensor name, a
// missing or wrong Q/K permutation or a wrong quant encoder fails it.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		model modeltest.TinyLlamaOptions
		quant string
	}{
		{"llama f16", modeltest.TinyLlamaOptions{Seed: 1, Arch: "llama"}, QuantF16},
		{"llama q8_0", modeltest.TinyLlamaOptions{Seed: 2, Arch: "llama"}, QuantQ8_0},
		{"llama untied q8_0", modeltest.TinyLlamaOptions{Seed: 3, Arch: "llama", Untied: true}, QuantQ8_0},
		{"olmo2 f16", modeltest.TinyLlamaOptions{Seed: 4, Arch: "olmo2"}, QuantF16},
		{"olmo2 q8_0", modeltest.TinyLlamaOptions{Seed: 5, Arch: "olmo2", Untied: true}, QuantQ8_0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tinyModel(t, tt.model)
			out := t.TempDir()
			res, err := Export(context.Background(), src, Options{Quant: tt.quant, OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(out, "tiny-"+tt.model.Arch+"."+strings.ToUpper(tt.quant)+".gguf"); res.GGUF != want {
				t.Errorf("GGUF at %s, want %s", res.GGUF, want)
			}
			back := filepath.Join(t.TempDir(), "back")
			m, err := modelstore.ImportGGUF(context.Background(), res.GGUF, back, modelstore.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Quantization != strings.ToUpper(tt.quant) {
				t.Errorf("imported quantization %q, want %q", m.Quantization, strings.ToUpper(tt.quant))
			}
			for _, f := range []string{"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"} {
				a, errA := os.ReadFile(filepath.Join(src, f))
				b, errB := os.ReadFile(filepath.Join(back, f))
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					t.Errorf("%s differs after the round trip (%v, %v):\n%s\n---\n%s", f, errA, errB, a, b)
				}
			}
			want, got := readAll(t, src), readAll(t, back)
			if len(got) != len(want) {
				t.Fatalf("%d tensors came back, want %d", len(got), len(want))
			}
			for name, w := range want {
				g, ok := got[name]
				if !ok || len(g) != len(w) {
					t.Errorf("%s: missing or %d elements, want %d", name, len(g), len(w))
					continue
				}
				checkClose(t, name, w, g, tt.quant, strings.HasSuffix(name, "norm.weight"))
			}
		})
	}
}

// checkClose asserts got is want through the encoding: exact for F32
// tensors, the f16 rounding of each value, or per Q8_0 block of 32 an
// error of at most half a step (d/2, d = max|x|/127) plus 127 times the f16
// rounding of d.
func checkClose(t *testing.T, name string, want, got []float32, quant string, isF32 bool) {
	t.Helper()
	bad := 0
	for b := 0; b < len(want); b += modelstore.QuantBlock {
		blk := want[b:min(b+modelstore.QuantBlock, len(want))]
		var amax float64
		for _, v := range blk {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		d := amax / 127
		dErr := math.Abs(float64(float16.Fromfloat32(float32(d)).Float32()) - d)
		for i, w := range blk {
			g := got[b+i]
			var ok bool
			switch {
			case isF32:
				ok = g == w
			case quant == QuantF16:
				ok = g == float16.Fromfloat32(w).Float32()
			default:
				ok = math.Abs(float64(g-w)) <= d/2+(math.Abs(float64(w))/d+0.5)*dErr+1e-9*d
			}
			if !ok && bad < 5 {
				t.Errorf("%s[%d] = %g, want %g (%s, block max %g)", name, b+i, g, w, quant, amax)
			}
			if !ok {
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values outside the %s tolerance", name, bad, len(want), quant)
	}
}

func TestExportRefuses(t *testing.T) {
	t.Parallel()
	src := tinyModel(t, modeltest.TinyLlamaOptions{Arch: "llama"})
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Quant: "q4_k_m", OutDir: t.TempDir()}, "supported: f16, q8_0"},
		{Options{Quant: "q5_1", OutDir: t.TempDir()}, "supported: f16, q8_0"},
		{Options{Format: "onnx", OutDir: t.TempDir()}, "supported: gguf"},
		{Options{}, "no output directory"},
	} {
		_, err := Export(context.Background(), src, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrOption) {
			t.Errorf("Export(%+v) = %v, want an ErrOption saying %q", tt.opts, err, tt.want)
		}
	}
	// A model whose tokenizer llama.cpp would split differently is refused
	// before anything is written.
	tj := filepath.Join(src, "tokenizer.json")
	b, err := os.ReadFile(tj)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"individual_digits":true`), []byte(`"individual_digits":false`), 1)
	if err := os.WriteFile(tj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Export(context.Background(), src, Options{OutDir: out}); err == nil || !strings.Contains(err.Error(), "pre_tokenizer") {
		t.Errorf("export with an unknown pre-tokenizer: %v, want a pre_tokenizer error", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a refused export left %d files in %s", len(entries), out)
	}
}
