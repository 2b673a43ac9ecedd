package explain

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSARIFInputsMatchEveryResult: every result of the sample SARIF logs is
// matched to the finding ingest makes of the whole log, so enrichment
// reaches each one.
func TestSARIFInputsMatchEveryResult(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "artifacts", "*", "*.sarif"))
	if len(files) == 0 {
		t.Skip("no examples/artifacts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			ins, err := sarifInputs(context.Background(), []string{f}, t.TempDir())
			if err != nil || len(ins) != 1 {
				t.Fatalf("sarifInputs: %v (%d logs)", err, len(ins))
			}
			whole, err := readInputs(context.Background(), []string{f}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			known := map[string]bool{}
			for _, fd := range whole.findings {
				known[fd.ID] = true
			}
			seen := map[string]bool{}
			total, matched := 0, 0
			for _, run := range ins[0].ids {
				for _, id := range run {
					total++
					if known[id] {
						matched++
						seen[id] = true
					}
				}
			}
			if matched != total || len(seen) != len(known) {
				t.Errorf("%d of %d results matched to %d of %d findings", matched, total, len(seen), len(known))
			}
		})
	}
}
