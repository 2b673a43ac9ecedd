package ingest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/lockfile"
)

// workPrefix starts the name of each ingest's own directory for spill files
// (the findings spill and zip entries too large for memory).
const workPrefix = "vulntune-ingest-"

// workDir makes this ingest's locked directory under base (os.TempDir()
// when ""), after removing the directories of ingests that are gone: a
// parse killed with -9 leaves its spill files behind, and only the lock
// (released by the kernel when its holder dies) tells a dead one from one
// another process is still using. done unlocks and removes it.
func workDir(base string) (dir string, done func(), err error) {
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, fmt.Errorf("ingest temp dir: %w", err)
	}
	removeStaleWork(base)
	dir, err = os.MkdirTemp(base, workPrefix+"*")
	if err != nil {
		return "", nil, fmt.Errorf("ingest temp dir: %w", err)
	}
	lock, err := lockfile.AcquireDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("ingest temp dir: %w", err)
	}
	return dir, func() {
		lock.Release()
		os.RemoveAll(dir)
	}, nil
}

// removeStaleWork removes the work directories under base whose lock no
// process holds. A directory without a lock file yet is a few instants
// old at most; it is left for the next sweep unless its owner is gone too,
// which the lock cannot tell, so it is kept.
func removeStaleWork(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, workPrefix+"*"))
	for _, d := range dirs {
		lock := filepath.Join(d, lockfile.DirName)
		if _, err := os.Stat(lock); err != nil {
			continue
		}
		if !lockfile.Held(lock) {
			os.RemoveAll(d)
		}
	}
}
