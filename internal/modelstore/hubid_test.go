package modelstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore/modeltest"

	"github.com/vulntune/vulntune/internal/modelstore"
)

func TestIsHubID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"HuggingFaceTB/SmolLM2-135M-Instruct": true, "allenai/OLMo-2-0425-1B": true, "a/b.c_d-e": true,
		"SmolLM2-135M-Instruct": false, "dataset": false, "/x": false, "x/": false, "a/b/c": false, "a /b": false, "-a/b": false,
	} {
		if got := modelstore.IsHubID(id); got != want {
			t.Errorf("IsHubID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestImportRecordsHubID(t *testing.T) {
	t.Parallel()
	src := tinyGGUF(t, modeltest.TinyLlamaOptions{Seed: 1})
	dir := filepath.Join(t.TempDir(), "m")
	if _, err := modelstore.ImportGGUF(context.Background(), src, dir, modelstore.ImportOptions{HubID: "acme/tiny"}); err != nil {
		t.Fatal(err)
	}
	m, err := modelstore.ReadMetadata(dir)
	if err != nil || m.HubID != "acme/tiny" {
		t.Fatalf("metadata hub_id %q (%v)", m.HubID, err)
	}
}
