package export

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/jsonfile"
	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/modelstore/modeltest"
)

// ggufPython returns a Python that can import llama.cpp's gguf package and
// the environment to run it with. It is the engine's Python
// (VULNTUNE_TEST_ENGINE_PYTHON, or the venv under VULNTUNE_DATA_DIR, as
// `make test` sets it) or python3: when that lacks gguf, gguf (0.x, pure
// Python) is installed from the package registry into a temporary
// directory beside the engine's numpy, or, without numpy, into a temporary
// venv with its dependencies. It skips, saying why, when none of that works.
func ggufPython(t *testing.T) (string, []string) {
	t.Helper()
	py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON")
	if d := os.Getenv("VULNTUNE_DATA_DIR"); py == "" && d != "" {
		if p := filepath.Join(d, "engine", "venv", "bin", "python"); fileExists(p) {
			py = p
		}
	}
	if py == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("no Python to run llama.cpp's gguf reader with: export VULNTUNE_TEST_ENGINE_PYTHON or VULNTUNE_DATA_DIR, or install python3")
		}
		py = p
	}
	imports := func(py string, env []string) bool {
		c := exec.Command(py, "-c", "import gguf")
		c.Env = env
		return c.Run() == nil
	}
	env := os.Environ()
	if imports(py, env) {
		return py, env
	}
	var tried []string
	if exec.Command(py, "-c", "import numpy, yaml").Run() == nil {
		target := t.TempDir()
		out, err := exec.Command(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
			"--no-deps", "--target", target, "gguf").CombinedOutput()
		env := append(os.Environ(), "PYTHONPATH="+target)
		if err == nil && imports(py, env) {
			return py, env
		}
		tried = append(tried, fmt.Sprintf("pip install --target beside %s: %v %s", py, err, out))
	}
	venv := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command(py, "-m", "venv", venv).CombinedOutput()
	if err == nil {
		vpy := filepath.Join(venv, "bin", "python")
		if out, err = exec.Command(vpy, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "gguf").CombinedOutput(); err == nil && imports(vpy, env) {
			return vpy, env
		}
	}
	tried = append(tried, fmt.Sprintf("a temporary venv from %s: %v %s", py, err, out))
	t.Skipf("llama.cpp's gguf package is not importable and could not be installed from the package registry (tried %s)", strings.Join(tried, "; "))
	return "", nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestGGUFReader reads exported files with llama.cpp's own Python reader:
// the file must parse, say what the source model says (architecture,
// context length, chat template, vocabulary, special tokens, layers), and
// hold, for unpermuted weights, exactly the bytes gguf-py's quantizer makes
// from the source floats.
func TestGGUFReader(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python and may install gguf from the registry")
	}
	py, env := ggufPython(t)
	for _, tt := range []struct {
		arch, quant string
	}{
		{"llama", QuantF16},
		{"llama", QuantQ8_0},
		{"olmo2", QuantQ8_0},
	} {
		t.Run(tt.arch+" "+tt.quant, func(t *testing.T) {
			src := tinyModel(t, modeltest.TinyLlamaOptions{Seed: 7, Arch: tt.arch, Untied: true})
			res, err := Export(context.Background(), src, Options{Quant: tt.quant, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{filepath.Join("testdata", "read_gguf.py"), res.GGUF}
			raw := t.TempDir()
			for hf, ts := range readAll(t, src) {
				if !strings.Contains(hf, "mlp.") && hf != "model.embed_tokens.weight" && hf != "lm_head.weight" {
					continue // norms are F32; Q/K are permuted, which gguf-py's quantizer does not do
				}
				name, err := modelstore.GGUFName(tt.arch, hf)
				if err != nil {
					t.Fatal(err)
				}
				shape := tensorShape(t, src, hf)
				p := filepath.Join(raw, name+".f32")
				b := make([]byte, 4*len(ts))
				for i, v := range ts {
					binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, fmt.Sprintf("%s=%s:%d:%d", name, p, shape[0], shape[1]))
			}
			cmd := exec.Command(py, args...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("gguf reader: %v\n%s", err, stderr)
			}
			var got struct {
				Architecture   string            `json:"architecture"`
				ContextLength  uint64            `json:"context_length"`
				BlockCount     uint64            `json:"block_count"`
				ChatTemplate   string            `json:"chat_template"`
				TokenizerModel string            `json:"tokenizer_model"`
				TokenizerPre   string            `json:"tokenizer_pre"`
				Tokens         int               `json:"tokens"`
				Merges         int               `json:"merges"`
				BOS            int64             `json:"bos_token_id"`
				EOS            int64             `json:"eos_token_id"`
				Tensors        map[string]string `json:"tensors"`
				QuantMatches   map[string]bool   `json:"quant_matches"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("reader output %s: %v", out, err)
			}
			var cfg struct {
				ModelType    string `json:"model_type"`
				MaxPositions uint64 `json:"max_position_embeddings"`
				Layers       uint64 `json:"num_hidden_layers"`
				VocabSize    int    `json:"vocab_size"`
				BOS          int64  `json:"bos_token_id"`
				EOS          int64  `json:"eos_token_id"`
			}
			var tc struct {
				ChatTemplate string `json:"chat_template"`
			}
			var tj struct {
				Model struct {
					Merges []any `json:"merges"`
				} `json:"model"`
			}
			for f, v := range map[string]any{"config.json": &cfg, "tokenizer_config.json": &tc, "tokenizer.json": &tj} {
				if err := jsonfile.Read(filepath.Join(src, f), v); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"architecture", got.Architecture, cfg.ModelType},
				{"context length", got.ContextLength, cfg.MaxPositions},
				{"block count", got.BlockCount, cfg.Layers},
				{"chat template", got.ChatTemplate, tc.ChatTemplate},
				{"tokenizer model", got.TokenizerModel, "gpt2"},
				{"tokenizer pre", got.TokenizerPre, "smollm"},
				{"token count", got.Tokens, cfg.VocabSize},
				{"merge count", got.Merges, len(tj.Model.Merges)},
				{"bos", got.BOS, cfg.BOS},
				{"eos", got.EOS, cfg.EOS},
				{"tensor count", len(got.Tensors), res.Tensors},
				{"token_embd type", got.Tensors["token_embd.weight"], strings.ToUpper(tt.quant)},
				{"output_norm type", got.Tensors["output_norm.weight"], "F32"},
			} {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s: the gguf reader says %v, the source %v", c.what, c.got, c.want)
				}
			}
			if len(got.QuantMatches) == 0 {
				t.Fatal("no tensor compared with gguf-py's quantizer")
			}
			for name, ok := range got.QuantMatches {
				if !ok {
					t.Errorf("%s: bytes differ from gguf-py's %s quantization of the source", name, tt.quant)
				}
			}
		})
	}
}

func tensorShape(t *testing.T, dir, name string) []int64 {
	t.Helper()
	ts, err := readTensors(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.name == name {
			return x.info.Shape
		}
	}
	t.Fatalf("no tensor %s in %s", name, dir)
	return nil
}
