// Package filehash computes the SHA-256 of files, streamed, as lowercase hex:
// the content identity that run manifests, model metadata and imports record.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// File returns the SHA-256 of the file at path and its size in bytes.
func File(path string) (sum string, size int64, err error) {
	return Files(path)
}

// Files returns the SHA-256 of the files' contents read one after another
// (one identity for a set of weight shards) and their total size.
func Files(paths ...string) (sum string, size int64, err error) {
	h := sha256.New()
	for _, p := range paths {
		n, err := copyFile(h, p)
		size += n
		if err != nil {
			return "", size, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func copyFile(w io.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return n, fmt.Errorf("hash %s: %w", path, err)
	}
	return n, nil
}
