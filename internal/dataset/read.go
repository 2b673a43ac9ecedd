package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Read reads the examples of a dataset directory Write produced: every row
// of train, valid and (when present) test.jsonl, with its metadata from
// examples.meta.jsonl (matched by split and line) when that file exists,
// and its split set either way, so CheckExamples can check a dataset again
// before it is published. Errors name the file and line.
func Read(dir string) ([]Example, error) {
	metas, err := readMeta(filepath.Join(dir, "examples.meta.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Example
	for _, split := range []string{Train, Valid, Test} {
		path := filepath.Join(dir, split+".jsonl")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && split == Test {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for line := 1; sc.Scan(); line++ {
			var row struct {
				Messages []Message `json:"messages"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil || len(row.Messages) == 0 {
				return nil, fmt.Errorf("%s line %d: want a JSON object with messages", path, line)
			}
			e := Example{Messages: row.Messages, Meta: metas[metaKey{split, line}]}
			e.Meta.Split = split
			out = append(out, e)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return out, nil
}

type metaKey struct {
	split string
	line  int
}

func readMeta(path string) (map[metaKey]Meta, error) {
	out := map[metaKey]Meta{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var m struct {
			Meta
			Line int `json:"line"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		out[metaKey{m.Split, m.Line}] = m.Meta
	}
	return out, sc.Err()
}
