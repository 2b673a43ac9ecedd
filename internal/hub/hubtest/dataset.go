package hubtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
)

// WriteDataset writes a dataset directory of n examples through
// dataset.Split and dataset.Write, so it has passed the build checks like
// one `vulntune dataset` builds; name goes into stats.json and the card.
func WriteDataset(t testing.TB, dir, name string, n int) {
	t.Helper()
	var ex []dataset.Example
	for i := 0; i < n; i++ {
		ex = append(ex, dataset.Example{
			Messages: []chat.Message{{Role: "system", Content: "You explain security findings."},
				{Role: "user", Content: "Finding: " + words(i*3+1)},
				{Role: "assistant", Content: "The finding is real and must be fixed. " + words(i*3+2) + "."}},
			Meta: dataset.Meta{FindingID: fmt.Sprintf("f%04d", i), Kind: "code", Tools: []string{"semgrep"}, Severity: "high"},
		})
	}
	st, err := dataset.Split(ex, dataset.SplitOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Write(dir, ex, dataset.WriteOptions{Name: name, Split: st}); err != nil {
		t.Fatal(err)
	}
}

// words gives each example distinct text, so no two are near-duplicates.
func words(seed int) string {
	var b strings.Builder
	x := uint32(seed*2654435761 + 1)
	for i := 0; i < 40; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "w%d ", x%100000)
	}
	return strings.TrimSpace(b.String())
}
