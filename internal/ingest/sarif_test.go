package ingest_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

// SARIF and native JSON of one scan: they must fingerprint alike to merge.
// The SARIF parser itself is tested in package sarif.

// TestSARIFSemgrepMatchesJSON: the same scan as Semgrep SARIF and Semgrep
// JSON must give the same fingerprints, so the two merge.
func TestSARIFSemgrepMatchesJSON(t *testing.T) {
	sample, err := os.Open("../../examples/artifacts/semgrep/semgrep.sarif")
	if err != nil {
		t.Fatal(err)
	}
	defer sample.Close()
	fromSARIF, err := sarif.Format{}.Parse(context.Background(), ingest.Input{Name: "semgrep.sarif", Size: -1}, sample)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../examples/artifacts/semgrep/semgrep-results.json")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ingest.Semgrep{}.Parse(context.Background(), ingest.Input{Name: "semgrep-results.json"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(fs []finding.Finding) []string {
		var out []string
		for i := range fs {
			out = append(out, finding.Fingerprint(&fs[i]))
		}
		slices.Sort(out)
		return out
	}
	a, b := ids(fromSARIF), ids(fromJSON)
	if len(a) != 107 || !slices.Equal(a, b) {
		t.Errorf("fingerprints differ: %d from SARIF, %d from JSON", len(a), len(b))
	}
}
