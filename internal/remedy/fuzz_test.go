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
// finding lists, or the same release in the installed flavour of one it
// lists (KeepFlavour).
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
		if c := r.Choice; c != nil && c.Fixed != "" {
			listed := c.Fixed
			if c.Listed != "" {
				listed = c.Listed
			}
			if !strings.Contains(strings.Join(fd.Package.FixedVersions, ","), listed) {
				t.Fatalf("recommended %q (listed as %q), not among %q", c.Fixed, c.Listed, fd.Package.FixedVersions)
			}
		}
	})
}
