package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// TestReferenceAnswersScorePerfect scores every reference answer of the
// sample and corpus datasets as evaluation scores a model's: the answer
// the model learns from must name the fixed version, agree with its first
// line, pin the fixed version in every fix snippet and name no ungrounded
// version, CWE, vulnerability id or path; so must every identifier-replaced
// copy of a training example. A scoring rule that fails a
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
			snippets, urls, copies := 0, 0, 0
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
				for kind, n := range s.UngroundedByKind {
					if kind == ident.KindURL {
						urls++
						continue
					}
					t.Errorf("%s: reference answer names %d ungrounded %s (%q)", e.Meta.FindingID, n, kind, s.Ungrounded)
				}
			}
			// URLs are the exception, for now: a reference answer lists the
			// finding's reference links that name its ids (avd.aquasec.com,
			// a project's security advisory, a rule's documentation page)
			// and the prompt does not show them, so evaluation counts them
			// ungrounded (evaluate.UngroundedIdents).
			t.Logf("%d examples (%d identifier-replaced copies), %d with fix snippets, %d citing a URL their prompt does not show", len(exs), copies, snippets, urls)
			if copies == 0 {
				t.Error("no identifier-replaced copy was scored")
			}
		})
	}
}
