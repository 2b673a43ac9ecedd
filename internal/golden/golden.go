// Package golden is the one golden-file mechanism of vulntune's tests: a
// test hands Assert what it produced and the file that holds what it must
// produce; `go test ./... -update` (make update-golden) rewrites every
// golden file from the current output, loudly, for the reviewer to read the
// diff. Main fails a package whose testdata holds a golden file no test
// asserted, so a renamed or deleted test cannot leave a stale expectation
// behind. Only tests import it.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output (review the diff)")

// Update reports whether this run rewrites golden files.
func Update() bool { return *update }

var (
	mu   sync.Mutex
	used = map[string]bool{}
)

// Assert checks got against the golden file at path (relative to the
// package directory), or rewrites the file with -update.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	mu.Lock()
	used[filepath.Clean(path)] = true
	mu.Unlock()
	if *update {
		t.Logf("UPDATING golden file %s: review the diff before committing", path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (create it with go test -run '%s' -update)", path, err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (if the change is intended, rerun with -update and review the diff):\n%s", path, firstDiff(want, got))
	}
}

// AssertJSON asserts v as indented JSON with a final newline.
func AssertJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Assert(t, path, append(b, '\n'))
}

// firstDiff shows the first differing line of two texts, with its number.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %q\n  got:  %q", i+1, wl, gl)
		}
	}
	return "(they differ only in line endings)"
}

// IsGolden says whether a testdata file is a golden file: its name has
// ".golden" before its extension, or is "*.golden".
func IsGolden(name string) bool {
	return strings.Contains(filepath.Base(name), ".golden")
}

// Main runs a package's tests and then, when every test ran (no -run, no
// -skip) and passed, fails if a golden file under testdata was asserted by
// none of them. Call it from TestMain: os.Exit(golden.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if code != 0 || filtered() {
		return code
	}
	var orphans []string
	_ = filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && IsGolden(path) && !used[filepath.Clean(path)] {
			orphans = append(orphans, path)
		}
		return nil
	})
	if len(orphans) > 0 {
		fmt.Fprintf(os.Stderr, "golden files no test asserted (delete them, or assert them): %s\n", strings.Join(orphans, ", "))
		return 1
	}
	return code
}

func filtered() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}
