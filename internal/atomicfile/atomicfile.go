// Package atomicfile is the one place vulntune writes files: content goes to
// a uniquely named temporary file in the target directory, is synced, and is
// renamed over the target, so a reader never sees a half-written file and a
// failed write leaves the previous file intact.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Write creates or replaces path with whatever fill writes. If fill or any
// step fails, path is untouched and the temporary file is removed.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	RemoveStale(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return syncDir(dir)
}

// StaleAfter is how long a temporary file of Write may go unmodified
// before the next Write of the same path takes it for the leftover of a
// killed process. A live writer keeps writing to it, and vulntune's
// directories have one writer each (run dirs are locked).
const StaleAfter = time.Hour

// RemoveStale removes the temporary files Write left beside path when its
// process was killed mid-write (kill -9, power loss): hidden
// ".<name>.tmp-*" files not modified for StaleAfter.
func RemoveStale(path string) {
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".tmp-*"))
	for _, t := range tmps {
		if fi, err := os.Lstat(t); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > StaleAfter {
			os.Remove(t)
		}
	}
}

// globEscape quotes the characters filepath.Match treats as special.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// WriteFile is Write for content already in memory.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes the rename durable; filesystems that cannot sync a
// directory (some network mounts) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// ReplaceDir moves a fully built staging directory into place at dst. An
// existing dst is first moved aside and removed only after the rename
// succeeded, so a crash leaves either the old or the new directory.
func ReplaceDir(staging, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = dst + ".old-" + filepath.Base(staging)
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("move aside %s: %w", dst, err)
		}
	}
	if err := os.Rename(staging, dst); err != nil {
		// Put the previous directory back; when another writer has put
		// its own in place meanwhile, the previous one is stale.
		if old != "" && os.Rename(old, dst) != nil {
			if _, serr := os.Stat(dst); serr == nil {
				_ = os.RemoveAll(old)
			}
		}
		return fmt.Errorf("rename %s into %s: %w", staging, dst, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove previous %s: %w", old, err)
		}
	}
	return syncDir(filepath.Dir(dst))
}
