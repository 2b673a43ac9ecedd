package modelstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore/modeltest"

	"github.com/vulntune/vulntune/internal/modelstore"
)

func TestList(t *testing.T) {
	t.Parallel()
	base, tuned := filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "tuned")
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 2})
	if _, err := modelstore.ImportGGUF(context.Background(), src, filepath.Join(base, "tiny"),
		modelstore.ImportOptions{Now: fixedNow, Source: "test:tiny", DType: "float16"}); err != nil {
		t.Fatal(err)
	}
	// A model put there by hand: config.json and weights, no metadata.json.
	hand := filepath.Join(tuned, "by-hand")
	mustWrite(t, filepath.Join(hand, "config.json"), `{"model_type":"olmo2","_name_or_path":"allenai/OLMo-2-0425-1B-Instruct"}`)
	ref, err := os.ReadFile(filepath.Join("testdata", "safetensors", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(hand, "model.safetensors"), string(ref))
	mustWrite(t, filepath.Join(tuned, "broken", "config.json"), `{not json`)
	mustWrite(t, filepath.Join(tuned, ".tiny.import-123", "config.json"), `{}`) // staging dir
	mustWrite(t, filepath.Join(tuned, "not-a-model", "notes.txt"), `x`)

	models, err := modelstore.List(
		modelstore.Root{Dir: base, Kind: modelstore.KindBase},
		modelstore.Root{Dir: tuned, Kind: modelstore.KindFineTuned},
		modelstore.Root{Dir: filepath.Join(t.TempDir(), "missing"), Kind: modelstore.KindBase},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 3 {
		t.Fatalf("got %d models, want 3: %+v", len(models), models)
	}
	tiny, broken, byHand := models[0], models[1], models[2]
	if tiny.Name != "tiny" || tiny.Kind != "base" || tiny.DType != "float16" || tiny.Parameters != 27200 ||
		tiny.Quantization != "Q4_1" || tiny.Source != "test:tiny" || !tiny.Created.Equal(fixedNow()) || tiny.SizeBytes < 27200*2 {
		t.Errorf("imported model: %+v", tiny)
	}
	if broken.Name != "broken" || !strings.Contains(broken.Problem, "config.json") {
		t.Errorf("broken model: %+v", broken)
	}
	// reference.safetensors holds 4 + 6 + 3 elements, most of them F16.
	if byHand.Kind != "fine-tuned" || byHand.Architecture != "olmo2" || byHand.Parameters != 13 ||
		byHand.DType != "float16" || byHand.Source != "allenai/OLMo-2-0425-1B-Instruct" || byHand.Created.IsZero() {
		t.Errorf("hand-made model: %+v", byHand)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
