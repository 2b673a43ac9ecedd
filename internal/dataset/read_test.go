package dataset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
)

func TestReadRoundTrip(t *testing.T) {
	t.Parallel()
	ex, st := splitSynthetic(t, 40)
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Write(dir, ex, dataset.WriteOptions{Split: st}); err != nil {
		t.Fatal(err)
	}
	got, err := dataset.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ex) {
		t.Fatalf("read %d examples, wrote %d", len(got), len(ex))
	}
	byID := map[string]dataset.Example{}
	for _, e := range ex {
		byID[e.Meta.FindingID] = e
	}
	for _, e := range got {
		w, ok := byID[e.Meta.FindingID]
		if !ok || w.Meta.Split != e.Meta.Split || w.Assistant() != e.Assistant() {
			t.Fatalf("read back %+v, no written example matches", e.Meta)
		}
	}
	if p := dataset.CheckExamples(got, 0); len(p) > 0 {
		t.Errorf("a written dataset read back fails its checks: %v", p)
	}

	// Without the sidecar the split still comes from the file.
	os.Remove(filepath.Join(dir, "examples.meta.jsonl"))
	if got, err = dataset.Read(dir); err != nil || got[0].Meta.Split != dataset.Train {
		t.Fatalf("without examples.meta.jsonl: %v, %+v", err, got[0].Meta)
	}

	f, _ := os.OpenFile(filepath.Join(dir, "valid.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("not json\n")
	f.Close()
	if _, err := dataset.Read(dir); err == nil || !strings.Contains(err.Error(), "valid.jsonl line ") {
		t.Errorf("malformed row: %v, want an error naming the file and line", err)
	}
}
