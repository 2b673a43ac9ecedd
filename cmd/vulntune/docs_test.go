package main

import (
	"bytes"
	"io"
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
