package remedy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

// FuzzFor feeds arbitrary finding JSON, seeded from the sample findings, to
// For: it must never panic, and a version it recommends must be one the
// finding lists.
func FuzzFor(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "findings", "*.json"))
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fd finding.Finding
		if json.Unmarshal(raw, &fd) != nil {
			return
		}
		r, err := remedy.For(&fd)
		if err != nil {
			return
		}
		_ = r.Text()
		if r.Choice != nil && r.Choice.Fixed != "" {
			if !strings.Contains(strings.Join(fd.Package.FixedVersions, ","), r.Choice.Fixed) {
				t.Fatalf("recommended %q, not among %q", r.Choice.Fixed, fd.Package.FixedVersions)
			}
		}
	})
}
