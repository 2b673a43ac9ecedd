package golden_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/golden"
)

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }

// A recording test double: Assert reports differences through Errorf.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestAssert(t *testing.T) {
	path := filepath.Join("testdata", "hello.golden.txt")
	golden.Assert(t, path, []byte("hello\n"))
	r := &recorder{TB: t}
	if !golden.Update() {
		golden.Assert(r, path, []byte("goodbye\n"))
		if !r.failed {
			t.Error("a different output passed")
		}
	}
}

func TestIsGolden(t *testing.T) {
	for name, want := range map[string]bool{"a.golden.json": true, "x/b.golden": true, "c.json": false, "golden-data/d.txt": false} {
		if got := golden.IsGolden(name); got != want {
			t.Errorf("IsGolden(%q) = %v", name, got)
		}
	}
}
