package evaluate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/golden"
)

func f(v float64) *float64 { return &v }

func cardResults() *evaluate.Results {
	r := &evaluate.Results{
		Base: evaluate.Metrics{N: 23, Loss: f(1.937), FixedVersionAccuracy: f(0), FixedVersionN: 5, CWEAccuracy: f(0.08), CWEN: 13, LocationAccuracy: f(0.1), LocationN: 23, HallucinationRate: f(0),
			SnippetAccuracy: f(0.5), SnippetN: 2, EndedShare: f(0.74), UngroundedByKind: map[string]int{"version": 0, "CWE": 0, "vulnerability id": 0, "path": 0, "URL": 0}},
		Tuned: evaluate.Metrics{N: 23, Loss: f(0.55), FixedVersionAccuracy: f(1), FixedVersionN: 5, CWEAccuracy: f(1), CWEN: 13, LocationAccuracy: f(1), LocationN: 23, HallucinationRate: f(0.04), Truncated: 22,
			SnippetAccuracy: f(0), SnippetN: 4, EndedShare: f(0.04), UngroundedByKind: map[string]int{"version": 0, "CWE": 0, "vulnerability id": 0, "path": 0, "URL": 1}},
		ByKind: map[string]evaluate.Pair{
			"dependency": {Base: evaluate.Metrics{N: 10, FixedVersionAccuracy: f(0), FixedVersionN: 5}, Tuned: evaluate.Metrics{N: 10, FixedVersionAccuracy: f(1), FixedVersionN: 5, HallucinationRate: f(0.1)}},
			"config":     {Base: evaluate.Metrics{N: 13, CWEAccuracy: f(0.08), CWEN: 13}, Tuned: evaluate.Metrics{N: 13, CWEAccuracy: f(1), CWEN: 13, HallucinationRate: f(0)}},
		},
	}
	r.Dataset.Split = "valid"
	r.Grounded = &evaluate.GroundedResults{BaseRegenerated: 0, TunedRegenerated: 1, Interventions: 3,
		Base:  r.Base,
		Tuned: evaluate.Metrics{N: 23, FixedVersionAccuracy: f(1), FixedVersionN: 5, CWEAccuracy: f(1), CWEN: 13, LocationAccuracy: f(1), LocationN: 23, HallucinationRate: f(0), SnippetAccuracy: f(0), SnippetN: 4, EndedShare: f(0.04)}}
	return r
}

func TestCardSectionGolden(t *testing.T) {
	t.Parallel()
	golden.Assert(t, filepath.Join("testdata", "card_section.golden.md"), []byte(evaluate.CardSection(cardResults())))
}

// TestCardSectionsRewritten: evaluation rewrites its section of the card in
// place (a second run leaves one section), a new section goes before the
// usage section, and every other section is kept.
func TestCardSectionsRewritten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, card string
		wantOrder  []string
	}{
		{"no section yet", "---\nlicense: apache-2.0\n---\n# m\n\n## Training\n\nx\n\n## Use\n\ny\n",
			[]string{"## Training", "## Evaluation", "## Use"}},
		{"stale section", "---\nlicense: apache-2.0\n---\n# m\n\n## Evaluation\n\nold figures\n\n## Use\n\ny\n",
			[]string{"## Evaluation", "## Use"}},
		{"no front matter, no usage", "# m\n\n## Training\n\nx\n",
			[]string{"## Training", "## Evaluation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "README.md")
			if err := os.WriteFile(p, []byte(tt.card), 0o644); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := evaluate.UpdateCard(dir, cardResults()); err != nil {
					t.Fatal(err)
				}
			}
			b, _ := os.ReadFile(p)
			got := string(b)
			if strings.Count(got, "## Evaluation") != 1 || strings.Contains(got, "old figures") {
				t.Fatalf("card after two evaluations:\n%s", got)
			}
			at := -1
			for _, h := range tt.wantOrder {
				i := strings.Index(got, h)
				if i <= at {
					t.Fatalf("%q out of order in:\n%s", h, got)
				}
				at = i
			}
			if !strings.Contains(got, "| dependency | 10 | 1.00 (0.00), n=5 |") || !strings.Contains(got, "model-index:") {
				t.Fatalf("card lacks the per-kind table or the model-index:\n%s", got)
			}
		})
	}
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }
