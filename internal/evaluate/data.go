package evaluate

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/dataset"
)

// example is one held-out row: the raw chat row sent to the engine, its
// parsed turns and its sidecar metadata.
type example struct {
	Raw      json.RawMessage
	Messages []dataset.Message
	Meta     dataset.Meta
}

// prompt is the text the model sees: every turn before the answer.
func (e example) prompt() string {
	var b bytes.Buffer
	for _, m := range e.Messages {
		if m.Role == "assistant" {
			break
		}
		b.WriteString(m.Content)
		b.WriteByte('\n')
	}
	return b.String()
}

// pickSplit returns want, or "test" when the dataset has a test split and
// "valid" otherwise: the test split exists to be held out from every choice
// made during training, so it is preferred when present.
func pickSplit(dir, want string) (string, error) {
	switch want {
	case dataset.Test, dataset.Valid:
		return want, nil
	case "":
	default:
		return "", fmt.Errorf("split %q: want %q or %q", want, dataset.Valid, dataset.Test)
	}
	if fi, err := os.Stat(filepath.Join(dir, dataset.Test+".jsonl")); err == nil && fi.Size() > 0 {
		return dataset.Test, nil
	}
	return dataset.Valid, nil
}

// SplitRows returns the raw chat rows of dir's held-out split (split as
// `vulntune evaluate --split` takes it), read and checked as evaluation reads
// them, for tools that send them to the engine themselves.
func SplitRows(dir, split string) ([]json.RawMessage, error) {
	split, err := pickSplit(dir, split)
	if err != nil {
		return nil, err
	}
	exs, _, err := loadSplit(dir, split)
	if err != nil {
		return nil, err
	}
	rows := make([]json.RawMessage, len(exs))
	for i, e := range exs {
		rows[i] = e.Raw
	}
	return rows, nil
}

// loadSplit reads <dir>/<split>.jsonl and pairs each row with its line of
// examples.meta.jsonl (matched by split and 1-based line). It returns the
// examples in file order and the split file's sha256.
func loadSplit(dir, split string) ([]example, string, error) {
	path := filepath.Join(dir, split+".jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read dataset split: %w", err)
	}
	sum := sha256.Sum256(data)
	var out []example
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var row struct {
			Messages []dataset.Message `json:"messages"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return nil, "", fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if !hasAnswer(row.Messages) {
			return nil, "", fmt.Errorf("%s line %d: no user turn followed by an assistant turn", path, line)
		}
		out = append(out, example{Raw: append(json.RawMessage(nil), raw...), Messages: row.Messages})
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("%s: no examples", path)
	}
	metas, err := loadMeta(filepath.Join(dir, "examples.meta.jsonl"), split)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		m, ok := metas[i+1]
		if !ok {
			return nil, "", fmt.Errorf("examples.meta.jsonl in %s: no entry for %s line %d", dir, split, i+1)
		}
		out[i].Meta = m
	}
	return out, hex.EncodeToString(sum[:]), nil
}

func hasAnswer(msgs []dataset.Message) bool {
	user := false
	for _, m := range msgs {
		switch m.Role {
		case "user":
			user = true
		case "assistant":
			if user {
				return true
			}
		}
	}
	return false
}

// loadMeta returns the metadata of split's rows by 1-based line.
func loadMeta(path, split string) (map[int]dataset.Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read example metadata (facts are scored from it): %w", err)
	}
	defer f.Close()
	out := map[int]dataset.Meta{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var row struct {
			dataset.Meta
			Line int `json:"line"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		if row.Split == split {
			out[row.Line] = row.Meta
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// BaseModelName returns the base model a fine-tuned model dir was trained
// from: metadata.json "base_model", a name or {"name": ...}.
func BaseModelName(modelDir string) (string, error) {
	path := filepath.Join(modelDir, "metadata.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read model metadata: %w", err)
	}
	var m struct {
		BaseModel json.RawMessage `json:"base_model"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	var name string
	if json.Unmarshal(m.BaseModel, &name) != nil {
		var obj struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(m.BaseModel, &obj)
		name = obj.Name
	}
	if name == "" {
		return "", fmt.Errorf("%s names no base_model", path)
	}
	return name, nil
}
