package validate_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/validate"
)

// Tiny llama dimensions: vocab 16, hidden 8, ffn 12, 1 layer, 2 heads of 4,
// 1 key/value head, tied embeddings.
const (
	tV, tH, tF, tHeads, tKV, tHD = 16, 8, 12, 2, 1, 4
)

func tinyConfig() map[string]any {
	return map[string]any{
		"model_type": "llama", "vocab_size": tV, "hidden_size": tH, "intermediate_size": tF,
		"num_hidden_layers": 1, "num_attention_heads": tHeads, "num_key_value_heads": tKV,
		"head_dim": tHD, "tie_word_embeddings": true, "torch_dtype": "float32",
	}
}

type tensor struct {
	name  string
	shape []int64
	vals  []float32
}

func tinyTensors() []tensor {
	shapes := map[string][]int64{
		"model.embed_tokens.weight":                      {tV, tH},
		"model.norm.weight":                              {tH},
		"model.layers.0.input_layernorm.weight":          {tH},
		"model.layers.0.post_attention_layernorm.weight": {tH},
		"model.layers.0.self_attn.q_proj.weight":         {tHeads * tHD, tH},
		"model.layers.0.self_attn.k_proj.weight":         {tKV * tHD, tH},
		"model.layers.0.self_attn.v_proj.weight":         {tKV * tHD, tH},
		"model.layers.0.self_attn.o_proj.weight":         {tH, tHeads * tHD},
		"model.layers.0.mlp.gate_proj.weight":            {tF, tH},
		"model.layers.0.mlp.up_proj.weight":              {tF, tH},
		"model.layers.0.mlp.down_proj.weight":            {tH, tF},
	}
	var out []tensor
	for name, s := range shapes {
		n := int64(1)
		for _, d := range s {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(i%7) * 0.01
		}
		out = append(out, tensor{name, s, vals})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// safetensors encodes F32 tensors in the safetensors layout.
func safetensors(t *testing.T, ts []tensor) []byte {
	t.Helper()
	header := map[string]any{}
	var data bytes.Buffer
	for _, x := range ts {
		start := data.Len()
		for _, v := range x.vals {
			_ = binary.Write(&data, binary.LittleEndian, math.Float32bits(v))
		}
		header[x.name] = map[string]any{"dtype": "F32", "shape": x.shape, "data_offsets": []int{start, data.Len()}}
	}
	js, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = binary.Write(&out, binary.LittleEndian, uint64(len(js)))
	out.Write(js)
	out.Write(data.Bytes())
	return out.Bytes()
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyModelDir writes a complete, valid base model dir.
func tinyModelDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeJSON(t, filepath.Join(dir, "config.json"), tinyConfig())
	writeJSON(t, filepath.Join(dir, "generation_config.json"), map[string]any{"bos_token_id": 1, "eos_token_id": 2})
	writeJSON(t, filepath.Join(dir, "tokenizer.json"), map[string]any{"version": "1.0", "model": map[string]any{"type": "BPE", "vocab": map[string]int{"a": 0}}})
	writeJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{"eos_token": "<|im_end|>", "chat_template": "{{ messages }}"})
	writeJSON(t, filepath.Join(dir, "special_tokens_map.json"), map[string]any{"eos_token": "<|im_end|>"})
	writeJSON(t, filepath.Join(dir, "metadata.json"), map[string]any{
		"name": "tiny", "kind": "base", "architecture": "llama", "parameters": 1, "created": "2026-01-01T00:00:00Z",
	})
	writeFile(t, filepath.Join(dir, "model.safetensors"), safetensors(t, tinyTensors()))
	return dir
}

// failures returns "name: detail" of every failed check.
func failures(r *validate.Report) []string {
	var out []string
	for _, c := range r.Failed() {
		out = append(out, c.Name+": "+c.Detail)
	}
	return out
}

func TestValidTinyModelPasses(t *testing.T) {
	t.Parallel()
	r, err := validate.Run(context.Background(), validate.Options{ModelDir: tinyModelDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if f := failures(r); len(f) > 0 {
		t.Fatalf("valid model failed: %q", f)
	}
	if r.Err() != nil {
		t.Fatalf("Err() = %v", r.Err())
	}
	var gate validate.Check
	for _, c := range r.Checks {
		if c.Group == validate.GroupGate {
			gate = c
		}
	}
	if gate.Status != validate.Skip {
		t.Errorf("gate on a base model = %s %q, want SKIP", gate.Status, gate.Detail)
	}
}

func TestCorruptModelsFail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		want    string // substring of a failed check's "name: detail"
	}{
		{"empty model.safetensors", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "model.safetensors"), nil)
		}, "no empty files: 0-byte files: model.safetensors"},
		{"truncated safetensors", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			writeFile(t, p, b[:len(b)-100])
		}, "safetensors headers: model.safetensors"},
		{"header lies about sizes", func(t *testing.T, dir string) {
			ts := tinyTensors()
			b := safetensors(t, ts)
			// Claim a larger shape for the first tensor without adding data.
			n := binary.LittleEndian.Uint64(b[:8])
			h := strings.Replace(string(b[8:8+n]), `"shape":[16,8]`, `"shape":[16,9]`, 1)
			var out bytes.Buffer
			_ = binary.Write(&out, binary.LittleEndian, uint64(len(h)))
			out.WriteString(h)
			out.Write(b[8+n:])
			writeFile(t, filepath.Join(dir, "model.safetensors"), out.Bytes())
		}, "needs"},
		{"missing tokenizer", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "tokenizer.json"))
		}, "required files: missing tokenizer.json"},
		{"placeholder generation config", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "generation_config.json"), []byte("{}\n"))
		}, `placeholder content: generation_config.json ("{}")`},
		{"placeholder text", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "README.md"), []byte("placeholder\n"))
		}, `README.md ("placeholder")`},
		{"pickle by extension", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "pytorch_model.bin"), []byte("weights of some kind"))
		}, "no pickle files: pickle files (unsafe to load; publish safetensors only): pytorch_model.bin"},
		{"pickle by content", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "extra.dat"), []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94."))
		}, "extra.dat (pickle content)"},
		{"nan in a tensor", func(t *testing.T, dir string) {
			ts := tinyTensors()
			ts[3].vals[5] = float32(math.NaN())
			writeFile(t, filepath.Join(dir, "model.safetensors"), safetensors(t, ts))
		}, "no NaN/Inf: NaN or Inf in model.safetensors:" + tinyTensors()[3].name + " (element 5)"},
		{"inf in a tensor", func(t *testing.T, dir string) {
			ts := tinyTensors()
			ts[0].vals[len(ts[0].vals)-1] = float32(math.Inf(1))
			writeFile(t, filepath.Join(dir, "model.safetensors"), safetensors(t, ts))
		}, "no NaN/Inf"},
		{"parameter count mismatch", func(t *testing.T, dir string) {
			cfg := tinyConfig()
			cfg["intermediate_size"] = 16
			writeJSON(t, filepath.Join(dir, "config.json"), cfg)
		}, "parameter count: tensors hold"},
		{"untied config", func(t *testing.T, dir string) {
			cfg := tinyConfig()
			cfg["tie_word_embeddings"] = false
			writeJSON(t, filepath.Join(dir, "config.json"), cfg)
		}, "parameter count: tensors hold"},
		{"embedding shape mismatch", func(t *testing.T, dir string) {
			cfg := tinyConfig()
			cfg["vocab_size"] = 8
			writeJSON(t, filepath.Join(dir, "config.json"), cfg)
		}, "model.embed_tokens.weight has shape [16 8], config.json implies [8 8]"},
		{"dtype mismatch", func(t *testing.T, dir string) {
			cfg := tinyConfig()
			cfg["torch_dtype"] = "bfloat16"
			writeJSON(t, filepath.Join(dir, "config.json"), cfg)
		}, "dtypes: config.json says bfloat16 (BF16) but found 11 F32 tensors"},
		{"metadata with token", func(t *testing.T, dir string) {
			writeJSON(t, filepath.Join(dir, "metadata.json"), map[string]any{
				"name": "tiny", "kind": "base", "architecture": "llama", "parameters": 1, "created": "x",
				"note": "hf_" + strings.Repeat("aB3dE5gH7j", 4)[:34],
			})
		}, "no tokens: secrets found: metadata.json: huggingface-token"},
		{"metadata with home path", func(t *testing.T, dir string) {
			writeJSON(t, filepath.Join(dir, "metadata.json"), map[string]any{
				"name": "tiny", "kind": "base", "architecture": "llama", "parameters": 1, "created": "x",
				"dataset": "/home/alice/data/ds",
			})
		}, `no home paths: home-directory paths: metadata.json: "/home/alice/"`},
		{"fine-tuned metadata incomplete", func(t *testing.T, dir string) {
			writeJSON(t, filepath.Join(dir, "metadata.json"), map[string]any{"name": "t", "kind": "fine-tuned", "created": "x"})
		}, "lacks base_model, dataset, hyperparameters, metrics, engine or engine_versions"},
		{"missing weights", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model.safetensors"))
		}, "safetensors headers: no model.safetensors and no model.safetensors.index.json"},
		{"index names missing tensor", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "model-00001-of-00001.safetensors"))
			wm := map[string]string{"model.extra.weight": "model-00001-of-00001.safetensors"}
			for _, x := range tinyTensors() {
				wm[x.name] = "model-00001-of-00001.safetensors"
			}
			writeJSON(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"weight_map": wm})
		}, `maps "model.extra.weight" to model-00001-of-00001.safetensors, which lacks it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tinyModelDir(t)
			tt.corrupt(t, dir)
			r, err := validate.Run(context.Background(), validate.Options{ModelDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			f := failures(r)
			for _, s := range f {
				if strings.Contains(s, tt.want) {
					if r.Err() == nil {
						t.Fatal("Err() is nil with failed checks")
					}
					return
				}
			}
			t.Fatalf("no failed check contains %q; failed: %s", tt.want, fmt.Sprintf("%q", f))
		})
	}
}
