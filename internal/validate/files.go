package validate

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pickleExts are files that hold, or usually hold, Python pickles. Loading
// one can run code (CVE-2025-32434 in torch.load before 2.6); a vulntune
// model dir holds safetensors only.
var pickleExts = map[string]bool{".bin": true, ".pt": true, ".pth": true, ".pkl": true, ".pickle": true, ".ckpt": true}

// placeholders are whole-file contents that stand for "nothing here yet".
var placeholders = map[string]bool{
	"placeholder": true, "todo": true, "tbd": true, "fixme": true, "dummy": true, "stub": true,
	"{}": true, "[]": true, "null": true, "none": true, "empty": true, "xxx": true, "lorem ipsum": true,
}

// placeholderMax is the size above which a file is not read as a placeholder.
const placeholderMax = 64

// listFiles returns every regular file under dir, relative, sorted; other
// entries (links, devices) are reported as problems.
func listFiles(dir string) ([]string, []string, error) {
	var files, odd []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			return nil
		case d.Type().IsRegular():
			files = append(files, filepath.ToSlash(rel))
		default:
			odd = append(odd, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, odd, err
}

// checkFiles runs the whole-directory checks: no pickles, no links, no empty
// or placeholder files.
func checkFiles(r *Report, dir string, files, odd []string) {
	var pickles, empty, holders []string
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f))
		if pickleExts[strings.ToLower(filepath.Ext(f))] {
			pickles = append(pickles, f)
		} else if isPickle(path) {
			pickles = append(pickles, f+" (pickle content)")
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		switch {
		case fi.Size() == 0:
			empty = append(empty, f)
		case fi.Size() <= placeholderMax:
			b, _ := os.ReadFile(path)
			if placeholders[strings.ToLower(strings.TrimSpace(string(b)))] {
				holders = append(holders, fmt.Sprintf("%s (%q)", f, strings.TrimSpace(string(b))))
			}
		}
	}
	report := func(name string, bad []string, what string) {
		if len(bad) == 0 {
			r.add(GroupArtifact, name, Pass, "none")
			return
		}
		r.add(GroupArtifact, name, Fail, "%s: %s", what, strings.Join(bad, ", "))
	}
	report("no pickle files", pickles, "pickle files (unsafe to load; publish safetensors only)")
	report("no links or special files", odd, "not regular files")
	report("no empty files", empty, "0-byte files")
	report("no placeholder files", holders, "placeholder content")
}

// isPickle sniffs the pickle protocol 2-5 header, or a zip (torch.save's
// format) holding a data.pkl.
func isPickle(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	if n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5 {
		return true
	}
	if n < 4 || !bytes.Equal(head[:], []byte("PK\x03\x04")) {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return false
	}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, ".pkl") {
			return true
		}
	}
	return false
}

// readJSONObject reads path as a JSON object.
func readJSONObject(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object: null")
	}
	return m, nil
}
