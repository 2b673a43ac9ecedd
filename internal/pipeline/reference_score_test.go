package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// TestReferenceAnswersScorePerfect scores every reference answer of the
// sample and corpus datasets as evaluation scores a model's: the answer
// the model learns from must name the fixed version, agree with its first
// line, pin the fixed version in every fix snippet and name no ungrounded
// version, CWE, vulnerability id, path or URL; so must every
// identifier-replaced copy of a training example. A scoring rule that fails a
// reference answer measures the rule, not the model.
func TestReferenceAnswersScorePerfect(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"../../examples/artifacts", "../../examples/corpus"} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "dataset")
			if _, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
				ArtifactPaths: []string{src}, OutDir: out,
				MaxPerRule: 10, Split: dataset.SplitOptions{ValidFraction: 0.2, Seed: 42},
				// Identifier-replaced copies are scored too: a copy's
				// reference answer must score as its original's does.
				Augment: pipeline.Augmentation{Copies: 1, MaxCopies: 3, Catalogue: augment.Default()},
			}); err != nil {
				t.Fatal(err)
			}
			exs, err := dataset.Read(out)
			if err != nil {
				t.Fatal(err)
			}
			snippets, copies := 0, 0
			for _, e := range exs {
				if e.Meta.AugmentOf != "" {
					copies++
				}
				s := evaluate.Score(e.Assistant(), e.Prompt(), e.Meta.Facts)
				if s.FixedVersion != nil && !*s.FixedVersion {
					t.Errorf("%s: reference answer fails fixed version (%+v)\n%s", e.Meta.FindingID, e.Meta.Facts, e.Assistant())
				}
				if s.Snippet != nil {
					snippets++
					if !*s.Snippet {
						t.Errorf("%s: reference answer fails its fix snippets (%+v)", e.Meta.FindingID, e.Meta.Facts)
					}
				}
				// URLs included: a reference answer links only pages its
				// prompt shows or the canonical page of an id it shows
				// (narrate.Example), as evaluation requires of a model.
				for kind, n := range s.UngroundedByKind {
					t.Errorf("%s: reference answer names %d ungrounded %s (%q)", e.Meta.FindingID, n, kind, s.Ungrounded)
				}
			}
			t.Logf("%d examples (%d identifier-replaced copies), %d with fix snippets", len(exs), copies, snippets)
			if copies == 0 {
				t.Error("no identifier-replaced copy was scored")
			}
		})
	}
}
