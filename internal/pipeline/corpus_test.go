package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/pipeline"
)

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }

// TestCorpusDataset builds the dataset of examples/corpus, real reports of
// other projects and scanners than the samples (SOURCES.tsv): every report
// is read, no example is dropped, and the stats are what the golden file
// says, so a change to ingest or narration that costs examples on real
// input shows up here.
func TestCorpusDataset(t *testing.T) {
	t.Parallel()
	res, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
		ArtifactPaths: []string{"../../examples/corpus"}, OutDir: filepath.Join(t.TempDir(), "dataset"),
		MaxPerRule: 10, Split: dataset.SplitOptions{ValidFraction: 0.2, Seed: 42},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InputErrors) > 0 {
		t.Errorf("input errors: %v", res.InputErrors)
	}
	for _, d := range res.Dropped {
		t.Errorf("dropped finding %s: %s (%s)", d.FindingID, d.Reason, d.Detail)
	}
	golden.AssertJSON(t, filepath.Join("testdata", "corpus-stats.golden.json"), res.Stats)
}

// With --strict a failing example stops the build; without, it is
// dropped, reported, and the rest is written.
func TestDatasetStrict(t *testing.T) {
	t.Parallel()
	// A findings file as a hand, not ingest, wrote it: one code finding's
	// message holds an unmasked key, which the example's secret check must
	// catch.
	findings := filepath.Join(t.TempDir(), "findings.jsonl")
	if _, err := ingest.Run(context.Background(), []string{"../../examples/artifacts"}, ingest.Options{Output: findings}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(findings)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	planted := ""
	for i, l := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		if row["kind"] == "code" && row["suppressed"] != true {
			row["message"] = "The config sets aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY for the uploader."
			b, _ := json.Marshal(row)
			lines[i], planted = string(b), row["id"].(string)
			break
		}
	}
	if err := os.WriteFile(findings, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "ds")
		got, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{FindingsPath: findings, OutDir: out, Strict: strict})
		if strict {
			var ce *dataset.CheckError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), dataset.ReasonSecretLike) {
				t.Errorf("strict: err = %v", err)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Error("strict: a dataset was written")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Dropped) != 1 || got.Dropped[0].FindingID != planted || got.Dropped[0].Reason != dataset.ReasonSecretLike {
			t.Errorf("dropped %+v, want %s for a secret", got.Dropped, planted)
		}
	}
}
