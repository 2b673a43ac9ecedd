package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/lockfile"
)

// TestWorkDirLeftovers: an ingest removes the spill directories of ingests
// that were killed (their lock is free), keeps one another ingest holds,
// and leaves nothing of its own behind.
func TestWorkDirLeftovers(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dead := filepath.Join(base, workPrefix+"dead")
	live := filepath.Join(base, workPrefix+"live")
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "vulntune-ingest-1.jsonl"), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := lockfile.AcquireDir(dead)
	if err != nil {
		t.Fatal(err)
	}
	l.Release() // its holder died: the kernel released the lock
	hold, err := lockfile.AcquireDir(live)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()

	if _, err := Run(t.Context(), nil, Options{TempDir: base}); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(base)
	if len(left) != 1 || left[0].Name() != filepath.Base(live) {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Fatalf("left in the temp dir: %v, want only %s", names, filepath.Base(live))
	}
}
