package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/train"
)

// TestCorpusEvalSet builds the other-projects evaluation set make demo
// evaluates (examples/corpus, default selection): every kind and tool of
// the corpus is in it, with at least 20 dependency findings that have a
// fixed version; it is the same when built again; training cannot read it;
// and it shares no finding and no prompt with the sample project's
// dataset, the one the demo's model is trained on. The selection's
// counts are in the golden file, so a change to ingest, narration or the
// rule that changes what is evaluated shows up here.
func TestCorpusEvalSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	build := func() (string, *pipeline.EvalSetResult) {
		dir := filepath.Join(t.TempDir(), "other")
		res, err := pipeline.BuildEvalSet(ctx, pipeline.EvalSetOptions{
			ArtifactPaths: []string{"../../examples/corpus"}, OutDir: dir, TempDir: t.TempDir(), MaxPerRule: 10, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		return dir, res
	}
	dir, res := build()
	sel := res.Selection
	exs, _, err := dataset.ReadSplit(dir, dataset.Test, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != sel.Selected || sel.From != res.Dataset.Examples {
		t.Fatalf("%d rows, selection says %d of %d (dataset %d)", len(exs), sel.Selected, sel.From, res.Dataset.Examples)
	}
	if sel.FixedVersion < evaluate.DefaultFixedVersionMin {
		t.Errorf("%d dependency findings with a fixed version, want at least %d", sel.FixedVersion, evaluate.DefaultFixedVersionMin)
	}
	kinds, tools := map[string]bool{}, map[string]bool{}
	for _, e := range exs {
		kinds[e.Meta.Kind] = true
		for _, tl := range e.Meta.Tools {
			tools[tl] = true
		}
	}
	for k := range res.Dataset.Stats.ByKind {
		if !kinds[k] {
			t.Errorf("kind %s of the corpus is not in the set", k)
		}
	}
	for tl := range res.Dataset.Stats.ByTool {
		if !tools[tl] {
			t.Errorf("tool %s of the corpus is not in the set", tl)
		}
	}
	golden.AssertJSON(t, filepath.Join("testdata", "corpus-evalset.golden.json"), sel)

	again, _ := build()
	for _, f := range []string{"test.jsonl", "examples.meta.jsonl", evaluate.SelectionFile} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same corpus", f)
		}
	}

	// Out of training by construction: no train or valid split to read.
	if _, err := train.PrepareDataset(dir, t.TempDir()); err == nil {
		t.Error("training accepted the evaluation set as a dataset")
	}

	// Nothing the demo's model trains on is in the set, in any guise.
	ds := filepath.Join(t.TempDir(), "ds")
	if _, err := pipeline.BuildDataset(ctx, pipeline.DatasetOptions{
		ArtifactPaths: []string{"../../examples/artifacts"}, OutDir: ds, MaxPerRule: 10,
		Split: dataset.SplitOptions{ValidFraction: 0.2, Seed: 42}}); err != nil {
		t.Fatal(err)
	}
	trained, err := dataset.Read(ds)
	if err != nil {
		t.Fatal(err)
	}
	ids, prompts := map[string]bool{}, map[string]bool{}
	for _, e := range trained {
		ids[e.Meta.FindingID], prompts[e.User()] = true, true
	}
	for _, e := range exs {
		if ids[e.Meta.FindingID] || prompts[e.User()] {
			t.Errorf("finding %s of the evaluation set is in the sample dataset", e.Meta.FindingID)
		}
	}
}

// TestCorpusNeverTrained holds every make target to using examples/corpus
// only as `vulntune evaluate --artifacts-dir`: a target that built a
// training dataset or ran the pipeline on it would train on the
// independent evaluation corpus.
func TestCorpusNeverTrained(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	evaluateOnly := regexp.MustCompile(`\$\(BIN\) evaluate \S+ --artifacts-dir examples/corpus( |$)`)
	uses := 0
	for i, line := range strings.Split(string(mk), "\n") {
		if !strings.Contains(line, "examples/corpus") || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		uses++
		if !evaluateOnly.MatchString(line) {
			t.Errorf("Makefile:%d uses examples/corpus other than as `$(BIN) evaluate MODEL --artifacts-dir examples/corpus`: %s", i+1, line)
		}
	}
	if uses == 0 {
		t.Error("no make target evaluates on examples/corpus (make demo should)")
	}
}
