package filehash_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/filehash"
)

func TestFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("hello "), 0o644)
	os.WriteFile(b, []byte("world"), 0o644)
	tests := []struct {
		name  string
		paths []string
		sum   string
		size  int64
	}{
		// sha256sum of the concatenated contents.
		{"one file", []string{a}, "5e3235a8346e5a4585f8c58562f5052b8fe26a3bb122e1e96c76784964dfc461", 6},
		{"files in order", []string{a, b}, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9", 11},
		{"no files", nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, size, err := filehash.Files(tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if sum != tt.sum || size != tt.size {
				t.Errorf("Files(%v) = %s, %d; want %s, %d", tt.paths, sum, size, tt.sum, tt.size)
			}
		})
	}
	if _, _, err := filehash.File(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}
