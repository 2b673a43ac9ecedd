package engine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// MinFreeBytes is the space a fresh install needs: the linux-cpu venv
// measured 449 MiB, the imported SmolLM2 (fp32) about 540 MiB.
const MinFreeBytes = 1200 << 20

// DiskFree returns the bytes available to an unprivileged user on the file
// system holding path, walking up to the nearest existing parent (a data
// dir that does not exist yet reports its future file system).
func DiskFree(path string) (uint64, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	for {
		if _, err := os.Stat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	return diskFree(p)
}
