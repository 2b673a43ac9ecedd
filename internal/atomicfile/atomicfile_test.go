package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fill    func(io.Writer) error
		want    string // content after the call
		wantErr bool
	}{
		{name: "replaces", fill: func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, want: "new"},
		{name: "failure keeps old", fill: func(w io.Writer) error {
			io.WriteString(w, "half")
			return errors.New("boom")
		}, want: "old", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := filepath.Join(dir, "f.txt")
			if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := atomicfile.Write(p, 0o644, tt.fill)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("temporary files left behind: %v", ents)
			}
		})
	}
}

func TestReplaceDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dst := filepath.Join(root, "model")
	for i, content := range []string{"one", "two"} {
		staging := filepath.Join(root, ".staging"+string(rune('a'+i)))
		if err := os.MkdirAll(staging, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteFile(filepath.Join(staging, "x"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.ReplaceDir(staging, dst); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(dst, "x"))
		if string(got) != content {
			t.Errorf("round %d: got %q", i, got)
		}
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestRemoveStale: a write removes the temporary files a killed writer of
// the same path left, and keeps a fresh one (a live writer's) and those of
// other files.
func TestRemoveStale(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "findings[1].jsonl")
	old := time.Now().Add(-2 * atomicfile.StaleAfter)
	files := map[string]bool{ // name → kept
		".findings[1].jsonl.tmp-123": false,
		".findings[1].jsonl.tmp-456": true, // fresh
		".other.jsonl.tmp-789":       true,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		if name != ".findings[1].jsonl.tmp-456" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := atomicfile.WriteFile(path, []byte("whole"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, kept := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if (err == nil) != kept {
			t.Errorf("%s: exists %v, want %v", name, err == nil, kept)
		}
	}
}
