package evaluate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
)

// example is one held-out row: the raw chat row sent to the engine, its
// parsed turns and its sidecar metadata.
type example struct {
	Raw      json.RawMessage
	Messages []chat.Message
	Meta     dataset.Meta
}

// prompt is the text the model sees: every turn before the answer
// (chat.Prompt, as the dataset's grounding check reads it).
func (e example) prompt() string { return chat.Prompt(e.Messages) }

// answer is the reference answer: the last assistant turn (chat.Answer).
func (e example) answer() string { return chat.Answer(e.Messages) }

// grounding is what grounded decoding holds e's answers to, as observing
// and regenerating both send it: the prompt's identifiers and the facts
// the reference answer states.
func (e example) grounding() (string, *engine.Pin) {
	return Ground(e.prompt(), e.Meta.Facts), AnswerPin(e.Meta.Facts, e.Meta.Kind, e.answer())
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

// loadSplit reads a split through the dataset's one reader, every row with
// its metadata (facts are scored from it), and keeps each row as the
// engine gets it. It returns the examples in file order and the split
// file's sha256.
func loadSplit(dir, split string) ([]example, string, error) {
	exs, sum, err := dataset.ReadSplit(dir, split, true)
	if err != nil {
		return nil, "", fmt.Errorf("read dataset split: %w", err)
	}
	out := make([]example, len(exs))
	for i, e := range exs {
		raw, err := json.Marshal(struct {
			Messages []chat.Message `json:"messages"`
		}{e.Messages})
		if err != nil {
			return nil, "", err
		}
		out[i] = example{Raw: raw, Messages: e.Messages, Meta: e.Meta}
	}
	return out, sum, nil
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
