package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/lockfile"
)

// workPrefix starts the name of each ingest's own directory for spill files
// (the findings spill and zip entries too large for memory).
const workPrefix = "vulntune-ingest-"

// stagingPrefix names a work directory before it is locked.
const stagingPrefix = ".vulntune-ingest-new-"

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
	// The directory is locked under a name the sweep ignores and only then
	// renamed to one it looks at (the lock is on the inode and survives the
	// rename), so another ingest's sweep never finds it unlocked.
	staging, err := os.MkdirTemp(base, stagingPrefix+"*")
	if err != nil {
		return "", nil, fmt.Errorf("ingest temp dir: %w", err)
	}
	lock, err := lockfile.AcquireDir(staging)
	if err != nil {
		os.RemoveAll(staging)
		return "", nil, fmt.Errorf("ingest temp dir: %w", err)
	}
	dir = filepath.Join(base, workPrefix+strings.TrimPrefix(filepath.Base(staging), stagingPrefix))
	if err := os.Rename(staging, dir); err != nil {
		lock.Release()
		os.RemoveAll(staging)
		return "", nil, fmt.Errorf("ingest temp dir: %w", err)
	}
	return dir, func() {
		lock.Release()
		os.RemoveAll(dir)
	}, nil
}

// removeStaleWork removes the work directories under base whose lock no
// process holds, and staging directories an ingest killed before locking
// one left (an hour old: a live one is renamed within instants).
func removeStaleWork(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, workPrefix+"*"))
	for _, d := range dirs {
		if !lockfile.Held(filepath.Join(d, lockfile.DirName)) {
			os.RemoveAll(d)
		}
	}
	staged, _ := filepath.Glob(filepath.Join(base, stagingPrefix+"*"))
	for _, d := range staged {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(d)
		}
	}
}
