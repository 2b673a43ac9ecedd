package evaluate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// ModelIndex returns the Hugging Face model-index block for r: one result
// for the tuned model on the held-out split, with the real figures. Metrics
// without eligible examples are left out. The card writer (internal/train)
// may embed the same value when it renders the card.
func ModelIndex(r *Results) []any {
	var metrics []any
	add := func(typ, name string, v *float64) {
		if v != nil {
			metrics = append(metrics, map[string]any{"type": typ, "name": name, "value": round4(*v)})
		}
	}
	t := r.Tuned
	add("loss", "held-out loss (assistant tokens)", t.Loss)
	add("perplexity", "held-out perplexity", t.Perplexity)
	add("accuracy", "fixed version accuracy", t.FixedVersionAccuracy)
	add("accuracy", "CWE accuracy", t.CWEAccuracy)
	add("accuracy", "location accuracy", t.LocationAccuracy)
	add("hallucination_rate", "hallucination rate", t.HallucinationRate)
	add("accuracy", "fix snippet accuracy", t.SnippetAccuracy)
	add("ended_share", "answers ended by themselves", t.EndedShare)
	add("repetition_share", "answers repeating themselves", t.RepetitionShare)
	return []any{map[string]any{
		"name": r.Model,
		"results": []any{map[string]any{
			"task":    map[string]any{"type": "text-generation", "name": "security finding remediation"},
			"dataset": map[string]any{"type": "vulntune", "name": "vulntune held-out " + r.Dataset.Split, "split": r.Dataset.Split},
			"metrics": metrics,
		}},
	}}
}

// round4 keeps four decimals: the card is for people, results.json keeps
// full precision.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// UpdateCard sets the model-index of <modelDir>/README.md's YAML front
// matter to ModelIndex(r) and its Evaluation section to CardSection(r),
// keeping every other key and section. A model
// dir without a README.md is left alone (the card is written by training);
// a README.md without front matter gets one.
func UpdateCard(modelDir string, r *Results) error {
	path, b, err := readCard(modelDir)
	if b == nil || err != nil {
		return err
	}
	front, body := splitFrontMatter(b)
	var doc yaml.Node
	if len(bytes.TrimSpace(front)) > 0 {
		if err := yaml.Unmarshal(front, &doc); err != nil {
			return fmt.Errorf("model card %s: front matter is not YAML: %w", path, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("model card %s: front matter is not a mapping", path)
	}
	var val yaml.Node
	if err := val.Encode(ModelIndex(r)); err != nil {
		return fmt.Errorf("encode model-index: %w", err)
	}
	set := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "model-index" {
			root.Content[i+1] = &val
			set = true
		}
	}
	if !set {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "model-index"}, &val)
	}
	var out bytes.Buffer
	out.WriteString("---\n")
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encode model card front matter: %w", err)
	}
	out.WriteString("---\n")
	// The body's Evaluation section shows the same figures, per kind too.
	out.WriteString(replaceSection(string(body), EvaluationHeading, CardSection(r)+"\n"))
	if err := atomicfile.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("update model card: %w", err)
	}
	return nil
}

// splitFrontMatter splits "---\n<yaml>\n---\n<body>"; text without front
// matter is all body.
func splitFrontMatter(b []byte) (front, body []byte) {
	if !bytes.HasPrefix(b, []byte("---\n")) {
		return nil, b
	}
	rest := b[4:]
	if bytes.HasPrefix(rest, []byte("---\n")) {
		return nil, rest[4:]
	}
	i := bytes.Index(rest, []byte("\n---\n"))
	if i < 0 {
		return nil, b
	}
	return rest[:i+1], rest[i+5:]
}

// readCard reads <modelDir>/README.md; a dir without one gives nil and no
// error (the card is training's to write).
func readCard(modelDir string) (path string, b []byte, err error) {
	path = filepath.Join(modelDir, "README.md")
	b, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil, nil
	}
	if err != nil {
		return path, nil, fmt.Errorf("read model card: %w", err)
	}
	return path, b, nil
}
