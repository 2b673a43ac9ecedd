package modelstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/modelstore/modeltest"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/modelstore"
)

var fixedNow = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// tinyGGUF writes a tiny random model and returns its path.
func tinyGGUF(t testing.TB, opts modeltest.TinyLlamaOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := modeltest.WriteTinyLlamaGGUF(&buf, opts); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readTensor reads one float tensor back from a safetensors file.
func readTensor(t *testing.T, path, name string) ([]int64, []float32) {
	t.Helper()
	h, err := modelstore.ReadSafetensorsHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := h.Tensors[name]
	if !ok {
		t.Fatalf("%s: no tensor %s", path, name)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := raw[h.DataOffset+info.DataOffsets[0] : h.DataOffset+info.DataOffsets[1]]
	out := make([]float32, info.Elements())
	for i := range out {
		switch info.DType {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		case "BF16":
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		case "F16":
			d, err := modelstore.Dequantize(modelstore.TypeF16, b[2*i:2*i+2], 1)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = d[0]
		default:
			t.Fatalf("unexpected dtype %s", info.DType)
		}
	}
	return info.Shape, out
}

// llamaCppPermute is convert_hf_to_gguf.py's LlamaModel.permute written
// out as numpy does it: w.reshape(n_head, 2, rows/n_head/2, cols)
// .swapaxes(1, 2).reshape(rows, cols).
func llamaCppPermute(w []float32, rows, cols, nHead int) []float32 {
	half := rows / nHead / 2
	out := make([]float32, 0, len(w))
	// Iterate the swapped array (n_head, half, 2, cols) in C order; element
	// [h, i, j, c] comes from the reshaped input at [h, j, i, c].
	for h := range nHead {
		for i := range half {
			for j := range 2 {
				src := ((h*2+j)*half + i) * cols
				out = append(out, w[src:src+cols]...)
			}
		}
	}
	return out
}

func TestLlamaCppPermuteHandWorked(t *testing.T) {
	t.Parallel()
	// One head of 6 rows: rows (0 1 2 | 3 4 5) are the two rotary halves;
	// llama.cpp interleaves them.
	got := llamaCppPermute([]float32{0, 1, 2, 3, 4, 5}, 6, 1, 1)
	sameFloats(t, got, []float32{0, 3, 1, 4, 2, 5})
}

func TestImportTinyLlama(t *testing.T) {
	t.Parallel()
	for _, untied := range []bool{false, true} {
		name := map[bool]string{false: "tied", true: "untied"}[untied]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 1, Untied: untied})
			dest := filepath.Join(t.TempDir(), "models", "tiny")
			m, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{Now: fixedNow, Source: "test:tiny"})
			if err != nil {
				t.Fatal(err)
			}
			g, err := modelstore.OpenGGUF(src)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			st := filepath.Join(dest, "model.safetensors")
			h, err := modelstore.ReadSafetensorsHeader(st)
			if err != nil {
				t.Fatal(err)
			}
			wantNames := []string{"model.embed_tokens.weight", "model.norm.weight"}
			for i := range 2 {
				for _, s := range []string{"input_layernorm", "post_attention_layernorm", "self_attn.q_proj",
					"self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"} {
					wantNames = append(wantNames, "model.layers."+string(rune('0'+i))+"."+s+".weight")
				}
			}
			if untied {
				wantNames = append(wantNames, "lm_head.weight")
			}
			sort.Strings(wantNames)
			var gotNames []string
			for n := range h.Tensors {
				gotNames = append(gotNames, n)
			}
			sort.Strings(gotNames)
			if strings.Join(gotNames, "\n") != strings.Join(wantNames, "\n") {
				t.Fatalf("tensor names:\n%s\nwant:\n%s", strings.Join(gotNames, "\n"), strings.Join(wantNames, "\n"))
			}
			if h.Metadata["format"] != "pt" {
				t.Errorf("__metadata__ = %v, want format pt", h.Metadata)
			}
			var params int64
			for _, info := range g.Tensors {
				params += int64(info.Elements())
			}
			if m.Parameters != params || m.Kind != "base" || m.DType != "float32" || m.Architecture != "llama" || m.Quantization != "Q4_1" {
				t.Errorf("model = %+v, want %d parameters, base, float32, llama, Q4_1", *m, params)
			}
			checkTensorValues(t, g, st, map[string]string{
				"token_embd.weight": "model.embed_tokens.weight", "blk.1.ffn_down.weight": "model.layers.1.mlp.down_proj.weight",
				"blk.0.attn_v.weight": "model.layers.0.self_attn.v_proj.weight", "output_norm.weight": "model.norm.weight",
			})
			// Q and K come back in Hugging Face order: applying llama.cpp's
			// permute to them must give the GGUF rows exactly.
			for gname, heads := range map[string]int{"blk.0.attn_q.weight": 4, "blk.1.attn_k.weight": 2} {
				info, _ := g.Tensor(gname)
				want, err := g.ReadTensor(info)
				if err != nil {
					t.Fatal(err)
				}
				hf := strings.NewReplacer("blk.", "model.layers.", "attn_q", "self_attn.q_proj", "attn_k", "self_attn.k_proj").Replace(gname)
				shape, got := readTensor(t, st, hf)
				if fmt.Sprint(shape) != fmt.Sprint(info.Shape()) {
					t.Fatalf("%s shape %v, want %v", hf, shape, info.Shape())
				}
				sameFloats(t, llamaCppPermute(got, int(shape[0]), int(shape[1]), heads), want)
				if floatsEqual(got, want) {
					t.Fatalf("%s was not un-permuted", hf)
				}
			}
		})
	}
}

func floatsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkTensorValues compares imported tensors with the GGUF's own
// dequantized values and row-major shapes.
func checkTensorValues(t *testing.T, g *modelstore.GGUF, st string, names map[string]string) {
	t.Helper()
	for gname, hf := range names {
		info, ok := g.Tensor(gname)
		if !ok {
			t.Fatalf("gguf has no %s", gname)
		}
		want, err := g.ReadTensor(info)
		if err != nil {
			t.Fatal(err)
		}
		shape, got := readTensor(t, st, hf)
		ws := info.Shape()
		if len(shape) != len(ws) || shape[0] != ws[0] || shape[len(shape)-1] != ws[len(ws)-1] {
			t.Fatalf("%s shape %v, want %v (GGUF dims %v reversed)", hf, shape, ws, info.Dims)
		}
		sameFloats(t, got, want)
	}
}

func TestImportGolden(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 7})
	dest := filepath.Join(t.TempDir(), "tiny")
	if _, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{Now: fixedNow, Name: "tiny-random"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "generation_config.json", "metadata.json", "special_tokens_map.json", "tokenizer_config.json", "tokenizer.json"} {
		got, err := os.ReadFile(filepath.Join(dest, f))
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "tiny-llama", strings.TrimSuffix(f, ".json")+".golden.json"), got)
	}
}

func TestImportDTypes(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 3})
	g, err := modelstore.OpenGGUF(src)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	info, _ := g.Tensor("blk.0.ffn_up.weight")
	f32, err := g.ReadTensor(info)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dtype   string
		st      string
		maxRel  float64
		wantErr string
	}{
		{"float32", "F32", 0, ""},
		{"float16", "F16", 1.0 / 1024, ""},
		{"bfloat16", "BF16", 1.0 / 128, ""},
		{"int8", "", 0, `unknown dtype "int8"`},
	}
	for _, tt := range tests {
		t.Run(tt.dtype, func(t *testing.T) {
			t.Parallel()
			dest := filepath.Join(t.TempDir(), "m")
			m, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{DType: tt.dtype, Now: fixedNow})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("failed import left %s behind", dest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.DType != tt.dtype {
				t.Errorf("dtype %s, want %s", m.DType, tt.dtype)
			}
			st := filepath.Join(dest, "model.safetensors")
			h, _ := modelstore.ReadSafetensorsHeader(st)
			if got := h.Tensors["model.layers.0.mlp.up_proj.weight"].DType; got != tt.st {
				t.Fatalf("safetensors dtype %s, want %s", got, tt.st)
			}
			_, got := readTensor(t, st, "model.layers.0.mlp.up_proj.weight")
			for i := range got {
				if d := math.Abs(float64(got[i] - f32[i])); d > tt.maxRel*math.Abs(float64(f32[i])) {
					t.Fatalf("value %d: %v, want %v within %g relative", i, got[i], f32[i], tt.maxRel)
				}
			}
		})
	}
}

func TestImportFailuresLeaveNothing(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 4})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	garbage := filepath.Join(t.TempDir(), "garbage.gguf")
	if err := os.WriteFile(garbage, []byte("GGUF\x03\x00\x00\x00truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ctx     context.Context
		src     string
		wantErr string
	}{
		{"cancelled", cancelled, src, "context canceled"},
		{"truncated file", context.Background(), garbage, "at offset 8: tensor count"},
		{"missing file", context.Background(), filepath.Join(t.TempDir(), "none.gguf"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			_, err := modelstore.ImportGGUF(tt.ctx, tt.src, filepath.Join(parent, "m"), modelstore.ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 0 {
				t.Fatalf("failed import left %v in %s", entries, parent)
			}
		})
	}
}

func TestImportRefusesOverwrite(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 5})
	dest := filepath.Join(t.TempDir(), "m")
	if _, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	_, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{})
	if !errors.Is(err, modelstore.ErrExists) {
		t.Fatalf("second import: got %v, want ErrExists", err)
	}
	later := func() time.Time { return fixedNow().Add(time.Hour) }
	m, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{Force: true, Now: later, DType: "bfloat16"})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Created.Equal(later()) || m.DType != "bfloat16" {
		t.Fatalf("forced import did not replace the model: %+v", *m)
	}
	entries, _ := os.ReadDir(filepath.Dir(dest))
	if len(entries) != 1 {
		t.Fatalf("forced import left %d entries beside the model", len(entries))
	}
}

func TestImportSkipUnpermuteIsRecorded(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 6})
	dest := filepath.Join(t.TempDir(), "broken")
	if _, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{SkipUnpermute: true}); err != nil {
		t.Fatal(err)
	}
	meta, err := modelstore.ReadMetadata(dest)
	if err != nil {
		t.Fatal(err)
	}
	if meta.QKUnpermuted == nil || *meta.QKUnpermuted {
		t.Fatalf("metadata does not flag the broken import: %+v", meta)
	}
	g, _ := modelstore.OpenGGUF(src)
	defer g.Close()
	info, _ := g.Tensor("blk.0.attn_q.weight")
	want, _ := g.ReadTensor(info)
	_, got := readTensor(t, filepath.Join(dest, "model.safetensors"), "model.layers.0.self_attn.q_proj.weight")
	sameFloats(t, got, want) // rows left in GGUF order
}

func TestImportOLMo2(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 8, Arch: "olmo2", Untied: true})
	dest := filepath.Join(t.TempDir(), "olmo")
	m, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Architecture != "olmo2" {
		t.Errorf("architecture %q, want olmo2", m.Architecture)
	}
	g, _ := modelstore.OpenGGUF(src)
	defer g.Close()
	// OLMo-2 is not permuted by llama.cpp, so Q/K are copied as they are.
	checkTensorValues(t, g, filepath.Join(dest, "model.safetensors"), map[string]string{
		"blk.0.attn_q.weight":        "model.layers.0.self_attn.q_proj.weight",
		"blk.1.attn_k_norm.weight":   "model.layers.1.self_attn.k_norm.weight",
		"blk.0.post_ffw_norm.weight": "model.layers.0.post_feedforward_layernorm.weight",
		"output.weight":              "lm_head.weight",
	})
	cfg, err := os.ReadFile(filepath.Join(dest, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cfg, []byte(`"Olmo2ForCausalLM"`)) || !bytes.Contains(cfg, []byte(`"tie_word_embeddings": false`)) {
		t.Errorf("config.json:\n%s", cfg)
	}
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }
