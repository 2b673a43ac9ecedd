package dataset

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/chat"
)

// Read reads the examples of a dataset directory Write produced: every row
// of train, valid and (when present) test.jsonl, each with its split and
// its metadata when examples.meta.jsonl exists, so CheckExamples can check
// a dataset again before it is published. Errors name the file and line.
func Read(dir string) ([]Example, error) {
	var out []Example
	for _, split := range []string{Train, Valid, Test} {
		ex, _, err := ReadSplit(dir, split, false)
		if errors.Is(err, fs.ErrNotExist) && split == Test {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	return out, nil
}

// ReadSplit reads one split file of a dataset directory, the one reader of
// dataset rows: every row checked as a conversation (chat.Check), in file
// order, with its split and its line of examples.meta.jsonl (matched by
// split and line). needMeta requires that file and an entry for every row
// (evaluation scores against the entries' facts). It also returns the split
// file's SHA-256, which identifies what was evaluated.
func ReadSplit(dir, split string, needMeta bool) ([]Example, string, error) {
	path := filepath.Join(dir, split+".jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	metaPath := filepath.Join(dir, "examples.meta.jsonl")
	metas, err := readMeta(metaPath)
	if err != nil {
		return nil, "", err
	}
	var out []Example
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var row struct {
			Messages []chat.Message `json:"messages"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return nil, "", fmt.Errorf("%s line %d: want a JSON object with messages: %w", path, line, err)
		}
		if err := chat.Check(row.Messages); err != nil {
			return nil, "", fmt.Errorf("%s line %d: %w", path, line, err)
		}
		m, ok := metas[metaKey{split, line}]
		if needMeta && !ok {
			return nil, "", fmt.Errorf("%s: no entry for %s line %d", metaPath, split, line)
		}
		m.Split = split
		out = append(out, Example{Messages: row.Messages, Meta: m})
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("%s: no examples", path)
	}
	return out, hex.EncodeToString(sum[:]), nil
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
