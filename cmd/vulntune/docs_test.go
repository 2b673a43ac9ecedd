package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// TestCLIReferenceCurrent keeps docs/cli/ generated from the flags: a flag
// added or changed without `go test ./cmd/vulntune -run TestCLIReference
// -update` fails here.
func TestCLIReferenceCurrent(t *testing.T) {
	root := newRootCmd(&app{stdout: io.Discard, stderr: io.Discard})
	root.DisableAutoGenTag = true
	dir := filepath.Join("..", "..", "docs", "cli")
	want := map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c != root || c.Name() == "completion" {
			return
		}
		var b bytes.Buffer
		if err := doc.GenMarkdownCustom(c, &b, func(s string) string { return s }); err != nil {
			t.Fatal(err)
		}
		// Defaults that depend on the machine (home, data dirs) are
		// normalised so the reference is the same everywhere.
		text := b.String()
		if home, err := os.UserHomeDir(); err == nil && home != "" {
			text = strings.ReplaceAll(text, home, "~")
		}
		want[strings.ReplaceAll(c.CommandPath(), " ", "_")+".md"] = text
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if golden.Update() {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != text {
			t.Errorf("docs/cli/%s is stale or missing: run go test ./cmd/vulntune -run TestCLIReference -update", name)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("docs/cli/%s documents no command: remove it", filepath.Base(f))
		}
	}
}

// TestDesignLayoutCurrent keeps DESIGN.md §2 the map of the tree: every
// package under internal/ has its line there, and every line there names a
// package that exists.
func TestDesignLayoutCurrent(t *testing.T) {
	doc, err := os.ReadFile("../../docs/DESIGN.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(doc, []byte("## 2. Layout"))
	if start < 0 {
		t.Fatal("DESIGN.md has no §2 Layout")
	}
	block := doc[start:]
	if a := bytes.Index(block, []byte("```\n")); a >= 0 {
		block = block[a+4:]
		if b := bytes.Index(block, []byte("```")); b >= 0 {
			block = block[:b]
		}
	}
	// The tree's indentation gives each line's parent directory.
	listed := map[string]bool{}
	var stack []string
	for _, line := range strings.Split(string(block), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if !strings.HasSuffix(name, "/") {
			continue
		}
		depth := (len(line) - len(strings.TrimLeft(line, " "))) / 2
		stack = append(stack[:min(depth, len(stack))], strings.TrimSuffix(name, "/"))
		listed[strings.Join(stack, "/")] = true
	}
	err = filepath.WalkDir("../../internal", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == "testdata" || d.Name() == "py" {
			return filepath.SkipDir
		}
		if src, _ := filepath.Glob(filepath.Join(p, "*.go")); len(src) == 0 {
			return nil
		}
		rel, _ := filepath.Rel("../..", p)
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("package %s has no line in DESIGN.md §2", filepath.ToSlash(rel))
		}
		delete(listed, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range listed {
		if strings.HasPrefix(p, "internal/") {
			t.Errorf("DESIGN.md §2 lists %s, which is not a package", p)
		}
	}
}
