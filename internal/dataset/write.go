package dataset

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// WriteOptions describes the dataset for its card and stats.
type WriteOptions struct {
	// Name is the dataset's display name.
	Name string
	// License is the SPDX-style id for the card (default "apache-2.0").
	License string
	// Provenance lists each tool and the versions seen, for the card.
	Provenance map[string][]string
	// Redactions counts masked secrets by detector, from ingest.
	Redactions map[string]int
	// Split is the outcome of Split, for stats and card.
	Split SplitStats
	// LLM describes the analysis model, or "" when --no-llm.
	LLM string
	// LLMStats is free-form counts from the analysis phase (accepted,
	// rejected...), shown in the card when LLM is set.
	LLMStats map[string]int
	// Canaries are planted test secrets that must not appear in any file.
	Canaries []string
	// NearDupThreshold as used by Split (default DefaultNearDup).
	NearDupThreshold float64
	// MaxPerRule and Capped record CapPerRule: the cap and the examples
	// it dropped per rule.
	MaxPerRule int
	Capped     map[string]int
	// Drops are the examples Screen left out, for stats and card.
	Drops []Drop
	// Augmentation is what identifier augmentation and balancing did
	// (nil: none was asked for).
	Augmentation *Augmentation
}

// ErrEmpty says there is nothing to write: not a failure of vulntune but
// an outcome of the inputs, which a script tells apart by its exit code.
var ErrEmpty = errors.New("no examples to write: every finding was suppressed or filtered out")

// Files lists what Write produces, relative to the dataset dir.
var Files = []string{"train.jsonl", "valid.jsonl", "test.jsonl", "examples.meta.jsonl", "stats.json", "README.md"}

// Write checks ex and, only if every check passes, writes the dataset
// directory dir: built in a staging directory beside it and renamed into
// place, so dir is either the previous dataset or the complete new one.
func Write(dir string, ex []Example, opts WriteOptions) (*Stats, error) {
	if len(ex) == 0 {
		return nil, ErrEmpty
	}
	if problems := CheckExamples(ex, opts.NearDupThreshold); len(problems) > 0 {
		return nil, &CheckError{Problems: problems}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".staging-*")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(staging)
		}
	}()
	// MkdirTemp creates 0700; a dataset is meant to be shared and published.
	if err := os.Chmod(staging, 0o755); err != nil {
		return nil, err
	}

	bySplit := map[string][]Example{}
	for _, e := range ex {
		bySplit[e.Meta.Split] = append(bySplit[e.Meta.Split], e)
	}
	type metaLine struct {
		Meta
		Line int `json:"line"`
	}
	var meta []metaLine
	for _, split := range []string{Train, Valid, Test} {
		rows := bySplit[split]
		if len(rows) == 0 && split == Test {
			continue
		}
		sort.SliceStable(rows, func(a, b int) bool { return rows[a].Meta.FindingID < rows[b].Meta.FindingID })
		for i, e := range rows {
			meta = append(meta, metaLine{Meta: e.Meta, Line: i + 1})
		}
		if err := writeJSONL(filepath.Join(staging, split+".jsonl"), len(rows), func(i int) any { return splitRow(rows[i]) }); err != nil {
			return nil, err
		}
	}
	if err := writeJSONL(filepath.Join(staging, "examples.meta.jsonl"), len(meta), func(i int) any { return meta[i] }); err != nil {
		return nil, err
	}
	st := ComputeStats(ex, opts)
	statsJSON, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(staging, "stats.json"), append(statsJSON, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(staging, "README.md"), []byte(Card(st, opts)), 0o644); err != nil {
		return nil, err
	}
	problems, err := CheckFiles(staging, opts.Canaries)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &CheckError{Problems: problems}
	}
	if err := atomicfile.ReplaceDir(staging, dir); err != nil {
		return nil, err
	}
	ok = true
	return st, nil
}

func writeJSONL(path string, n int, row func(int) any) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := 0; i < n; i++ {
			if err := enc.Encode(row(i)); err != nil {
				return err
			}
		}
		return nil
	})
}
