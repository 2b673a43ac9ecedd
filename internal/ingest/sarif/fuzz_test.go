package sarif_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/ingest/report"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

// maxSeed keeps large samples out of the seed corpus so that mutation
// stays fast; the small handcrafted cases cover every code path.
const maxSeed = 64 << 10

// FuzzParseSARIF must never panic, and must return either an error or
// findings with the required fields set. Seeds: testdata/sarif/*.sarif and
// the producer cases of producers_test.go.
//
//	go test ./internal/ingest/sarif -run '^$' -fuzz FuzzParseSARIF -fuzztime 1m
func FuzzParseSARIF(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "sarif", "*.sarif"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= maxSeed {
			f.Add(data)
		}
	}
	for _, c := range producerCases {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := report.Input{Name: "fuzz.sarif", Size: int64(len(data))}
		_ = sarif.Format{}.Sniff(data)
		fs, err := sarif.Format{}.Parse(context.Background(), in, bytes.NewReader(data))
		if err == nil && len(fs) == 0 && len(bytes.TrimSpace(data)) == 0 {
			t.Fatal("empty input parsed without error")
		}
		for _, fd := range fs {
			if len(fd.Tools) != 1 || fd.Tools[0].Name == "" || fd.Title == "" || !fd.Kind.Valid() || fd.Severity.Rank() < 0 {
				t.Fatalf("finding lacks required fields: %+v", fd)
			}
			if fd.References == nil || fd.CWE == nil || fd.VulnIDs == nil {
				t.Fatalf("nil list field: %+v", fd)
			}
		}
	})
}
