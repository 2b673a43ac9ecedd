package engine

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// pyFS is the engine's Python: run.py and the vulntune_engine package.
//
//go:embed py/run.py py/vulntune_engine/*.py
var pyFS embed.FS

// pyFiles lists the embedded files by path below py/, sorted.
var pyFiles = func() []string {
	var out []string
	_ = fs.WalkDir(pyFS, "py", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p[len("py/"):])
		}
		return nil
	})
	sort.Strings(out)
	return out
}()

// pySum hashes the names and contents of files (paths below py/).
func pySum(files ...string) string {
	h := sha256.New()
	for _, f := range files {
		b, _ := pyFS.ReadFile("py/" + f)
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// PackageSHA256 is the checksum of the engine's whole Python package; the
// directory it is installed in is named after it.
var PackageSHA256 = pySum(pyFiles...)

// relImportRE matches a relative import of the package, at any
// indentation: "from .grounded import x", "from . import cpumath, chat".
var relImportRE = regexp.MustCompile(`(?m)^[ \t]*from \.([A-Za-z_][A-Za-z0-9_]*)? import ([A-Za-z0-9_, ]+)`)

// moduleClosure is root and every module of the package it imports,
// directly or not (relative imports, those inside functions included),
// sorted: what an op's answers depend on, so an identity hashed over it
// changes with any of them (a list kept by hand missed pin.py). The
// modules of skip, and what only they import, are left out: code the
// answers at hand never run (grounded decoding's, for free answers).
func moduleClosure(root string, skip ...string) []string {
	seen := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		b, err := pyFS.ReadFile("py/vulntune_engine/" + m + ".py")
		if seen[m] || err != nil || slices.Contains(skip, m) {
			return
		}
		seen[m] = true
		for _, g := range relImportRE.FindAllStringSubmatch(string(b), -1) {
			if g[1] != "" {
				visit(g[1])
				continue
			}
			for _, name := range strings.Split(g[2], ",") {
				visit(strings.TrimSpace(name))
			}
		}
	}
	visit(root)
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// moduleSum is the checksum of the named modules of the package, e.g. what
// one op's answers depend on.
func moduleSum(modules ...string) string {
	files := make([]string, len(modules))
	for i, m := range modules {
		files[i] = "vulntune_engine/" + m + ".py"
	}
	return pySum(files...)
}

// installPython puts the engine's Python package under dir, in a directory
// named by its checksum, and returns that directory. The files on disk are
// compared with the embedded ones before every use; a directory that
// differs (edited, truncated, half-written by a crash) is replaced whole,
// staged beside it and renamed into place.
func installPython(dir string) (string, error) {
	root := filepath.Join(dir, "py-"+PackageSHA256[:16])
	if installedIntact(root) {
		return root, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("install engine package: %w", err)
	}
	staging, err := os.MkdirTemp(dir, ".py-staging-*")
	if err != nil {
		return "", fmt.Errorf("install engine package: %w", err)
	}
	defer os.RemoveAll(staging)
	for _, f := range pyFiles {
		b, _ := pyFS.ReadFile("py/" + f)
		dst := filepath.Join(staging, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("install engine package: %w", err)
		}
		if err := atomicfile.WriteFile(dst, b, 0o644); err != nil {
			return "", fmt.Errorf("install engine package: %w", err)
		}
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return "", err
	}
	// Another process (a second engine started at the same moment: the
	// daemon's publisher and its trainer) may be putting the same package
	// into place: once a copy is whole it is as good as ours, and a
	// replacement that raced one moving the directory aside is tried again
	// (ReplaceDir leaves staging whole when it fails).
	for attempt := 0; ; attempt++ {
		if installedIntact(root) {
			return root, nil
		}
		err := atomicfile.ReplaceDir(staging, root)
		if err == nil {
			return root, nil
		}
		if attempt == 20 {
			return "", fmt.Errorf("install engine package: %w", err)
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func installedIntact(root string) bool {
	for _, f := range pyFiles {
		want, _ := pyFS.ReadFile("py/" + f)
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil || !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}

// moduleArgs is the argv after the interpreter that runs module of the
// installed package rooted at root.
func moduleArgs(root, module string) []string {
	return []string{"-I", filepath.Join(root, "run.py"), "vulntune_engine." + module}
}
