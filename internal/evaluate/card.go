package evaluate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// ModelIndex returns the Hugging Face model-index block for r: one result
// for the tuned model on the held-out split, with the real figures, then
// one per other evaluation set in sets (the reports of other projects).
// Metrics without eligible examples are left out. The card writer
// (internal/train) may embed the same value when it renders the card.
func ModelIndex(r *Results, sets ...*Results) []any {
	results := []any{indexResult(r, "vulntune held-out "+r.Dataset.Split, r.Dataset.Split)}
	for _, s := range sets {
		results = append(results, indexResult(s, "vulntune "+strings.ToLower(SetTitle(s.Set))+" ("+s.Set+")", s.Dataset.Split))
	}
	return []any{map[string]any{"name": r.Model, "results": results}}
}

// indexResult is one model-index result: r's tuned figures on dataset.
func indexResult(r *Results, dataset, split string) map[string]any {
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
	add("accuracy", "fix snippet written where the reference has one", t.SnippetCoverage)
	add("accuracy", "ecosystem named as the reference", t.EcosystemAccuracy)
	add("ended_share", "answers ended by themselves", t.EndedShare)
	add("repetition_share", "answers repeating themselves", t.RepetitionShare)
	return map[string]any{
		"task":    map[string]any{"type": "text-generation", "name": "security finding remediation"},
		"dataset": map[string]any{"type": "vulntune", "name": dataset, "split": split},
		"metrics": metrics,
	}
}

// round4 keeps four decimals: the card is for people, results.json keeps
// full precision.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// UpdateCard sets the model-index of <modelDir>/README.md's YAML front
// matter to ModelIndex and its Evaluation section to CardSection, over r and
// the model's other results on disk: r is the held-out split's or one
// set's (r.Set), and the section shows the held-out split and every set
// either way. Every other key and section is kept. A model dir without a
// README.md is left alone (the card is written by training); a README.md
// without front matter gets one. Without held-out results the model-index
// is left as it is (it is the held-out split's first).
func UpdateCard(modelDir string, r *Results) error {
	path, b, err := readCard(modelDir)
	if b == nil || err != nil {
		return err
	}
	held, sets, err := cardResults(modelDir, r)
	if err != nil {
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
	if held != nil {
		var val yaml.Node
		if err := val.Encode(ModelIndex(held, sets...)); err != nil {
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
	out.WriteString(replaceSection(string(body), EvaluationHeading, CardSection(held, sets...)+"\n"))
	if err := atomicfile.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("update model card: %w", err)
	}
	return nil
}

// cardResults returns the held-out split's results and those of every
// other set of modelDir, r standing in for the ones on disk it replaces:
// the card shows them all, whichever was evaluated last. Sets come in name
// order. Results the model does not have, or has from an older schema, are
// left out: evaluating one set must not fail on another's stale file, which
// the next evaluation of that set replaces (the run report says it cannot
// read it meanwhile).
func cardResults(modelDir string, r *Results) (*Results, []*Results, error) {
	var held *Results
	if r.Set == "" {
		held = r
	} else if h, err := ReadResults(modelDir); err == nil {
		held = h
	}
	names, err := filepath.Glob(filepath.Join(modelDir, "eval", "*", ResultsFile))
	if err != nil {
		return nil, nil, err
	}
	var sets []*Results
	seen := false
	for _, n := range names {
		name := filepath.Base(filepath.Dir(n))
		if name == r.Set {
			sets, seen = append(sets, r), true
			continue
		}
		if CheckSetName(name) != nil {
			continue
		}
		s, err := ReadSetResults(modelDir, name)
		if err != nil {
			continue
		}
		s.Set = name
		sets = append(sets, s)
	}
	if r.Set != "" && !seen {
		sets = append(sets, r)
		sort.SliceStable(sets, func(i, j int) bool { return sets[i].Set < sets[j].Set })
	}
	return held, sets, nil
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
