package report_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/train"
)

// The fixtures are run directories as the pipeline leaves them, written
// with the producing packages' own types where they have one.

var t0 = time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeLines(t *testing.T, path string, vs ...any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, v := range vs {
		l, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, l...), '\n')
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func phase(status string, started time.Time, secs float64, outputs ...string) map[string]any {
	p := map[string]any{"status": status, "key": "k", "outputs": append([]string{}, outputs...), "duration_s": secs}
	if status != "skipped" {
		p["started"], p["finished"] = started, started.Add(time.Duration(secs*float64(time.Second)))
	}
	return p
}

// homeInput is an input path in someone's home directory: the page must
// not show it.
const homeInput = "/home/alice/ci/artifacts/trivy.json"

// writeBase writes what every run has: run.json's inputs, findings.jsonl
// and the dataset, and returns run.json's phases to complete.
func writeBase(t *testing.T, dir string) map[string]any {
	writeLines(t, filepath.Join(dir, "findings.jsonl"),
		map[string]any{"id": "f1", "tools": []map[string]string{{"name": "trivy"}}, "kind": "dependency", "severity": "high"},
		map[string]any{"id": "f2", "tools": []map[string]string{{"name": "trivy"}, {"name": "grype"}}, "kind": "dependency", "severity": "critical"},
		map[string]any{"id": "f3", "tools": []map[string]string{{"name": "semgrep"}}, "kind": "code", "severity": "medium", "suppressed": true},
	)
	ds := filepath.Join(dir, "dataset")
	st := dataset.Stats{Examples: 3, Splits: map[string]int{"train": 1, "valid": 2},
		ByKind:     map[string]map[string]int{"dependency": {"train": 1, "valid": 1}, "code": {"valid": 1}},
		BySeverity: map[string]map[string]int{"high": {"train": 1}, "critical": {"valid": 1}, "medium": {"valid": 1}},
		Dropped:    map[string]int{"ungrounded-answer": 1},
		DroppedExamples: []dataset.Drop{{FindingID: "f9", Reason: "ungrounded-answer",
			Detail: "names CWE-1234, in neither the finding nor the catalogue"}},
		Capped: map[string]int{}, MaxPerRule: 0,
		Augmentation: &dataset.Augmentation{Copies: 1, MaxCopies: 3, Added: 3, Skipped: map[string]int{},
			Before: map[string]int{"dependency/trivy": 1}, After: map[string]int{"dependency/trivy": 4}},
	}
	writeJSON(t, filepath.Join(ds, "stats.json"), st)
	row := func(user, answer string) map[string]any {
		return map[string]any{"messages": []map[string]string{{"role": "system", "content": "You are a security engineer."},
			{"role": "user", "content": user}, {"role": "assistant", "content": answer}}}
	}
	writeLines(t, filepath.Join(ds, "valid.jsonl"),
		row("lodash 4.17.20 has CVE-2021-23337", "REFERENCE-ONE: upgrade lodash to 4.17.21."),
		row("semgrep: <script> injection in app.go:12", "REFERENCE-TWO: escape the value (CWE-79) in app.go line 12."),
	)
	writeLines(t, filepath.Join(ds, "train.jsonl"), row("x", "y"))
	return map[string]any{
		"parse":   phase("done", t0, 0.3, filepath.Join(dir, "findings.jsonl")),
		"dataset": phase("done", t0.Add(time.Second), 1.4, filepath.Join(ds, "stats.json"), filepath.Join(ds, "valid.jsonl")),
	}
}

func writeManifest(t *testing.T, dir, model string, phases map[string]any) {
	writeJSON(t, filepath.Join(dir, "run.json"), map[string]any{
		"version": 1, "created": t0, "updated": t0.Add(time.Hour), "model_name": model,
		"inputs": []map[string]any{
			{"path": homeInput, "sha256": "4200d8867c2c55c7215d7da168e3fcff1d300124b0d0058937a1bf2bb2d97cbe", "bytes": 1234},
			{"path": "examples/artifacts/semgrep.sarif", "sha256": "afc7e2eeefdd240d09ded4fc14e4aebcc7c212b5198b590f45022879a55edb4f", "bytes": 99},
		},
		"phases": phases, "versions": map[string]string{},
	})
}

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

// completeRun is a run that went through every phase, its model outside
// the run directory as fine_tuned_models_dir puts it.
func completeRun(t *testing.T) (runDir, modelDir string) {
	root := t.TempDir()
	runDir, modelDir = filepath.Join(root, "runs", "abc"), filepath.Join(root, "models", "vulntune-test")
	phases := writeBase(t, runDir)
	m := &train.Metrics{}
	for s := 1; s <= 20; s++ {
		m.Add(train.Record{Kind: "train", Step: s, Total: 20, Loss: 2.5 - float64(s)*0.08})
		if s%5 == 0 || s == 1 {
			m.Add(train.Record{Kind: "eval", Step: s, Total: 20, ValLoss: 2.6 - float64(s)*0.06})
		}
	}
	if err := os.MkdirAll(filepath.Join(modelDir, "training"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Write(filepath.Join(modelDir, "training", "metrics.jsonl")); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(modelDir, "metadata.json"), train.Metadata{
		Dataset: train.DatasetInfo{Train: 86, Valid: 25}, Hyperparameters: train.Hyperparameters{MaxSeqLength: 768},
		Metrics: &train.FinalMetrics{TruncatedTrain: 36, TruncatedValid: 10, LongestTrain: 1455, LongestValid: 1518},
	})
	base := evaluate.Metrics{N: 2, Loss: f(2.18), FixedVersionAccuracy: f(0), FixedVersionN: 1, CWEAccuracy: f(0), CWEN: 1,
		LocationAccuracy: f(0.5), LocationN: 2, HallucinationRate: f(0.5), SnippetAccuracy: f(0), SnippetN: 1, EndedShare: f(0.5), Truncated: 1,
		RepetitionShare: f(0.25), UngroundedByKind: map[string]int{"version": 1, "CWE": 0, "vulnerability id": 0, "path": 0, "URL": 0}}
	tuned := evaluate.Metrics{N: 2, Loss: f(1.24), FixedVersionAccuracy: f(1), FixedVersionN: 1, CWEAccuracy: f(1), CWEN: 1,
		LocationAccuracy: f(1), LocationN: 2, HallucinationRate: f(0), SnippetAccuracy: f(1), SnippetN: 1, EndedShare: f(1), RepetitionShare: f(0),
		UngroundedByKind: map[string]int{"version": 0, "CWE": 0, "vulnerability id": 0, "path": 0, "URL": 2}}
	res := evaluate.Results{Schema: evaluate.SchemaVersion, Base: base, Tuned: tuned, Model: "vulntune-test", BaseModel: "SmolLM2-135M",
		ByKind: map[string]evaluate.Pair{
			"dependency": {Base: evaluate.Metrics{N: 1, Loss: f(2.0)}, Tuned: evaluate.Metrics{N: 1, Loss: f(1.1)}},
			"code":       {Base: evaluate.Metrics{N: 1, Loss: f(2.3)}, Tuned: evaluate.Metrics{N: 1, Loss: f(2.4)}},
		},
		MaxTokens: 256, Decoding: "greedy", Date: t0}
	res.Dataset.Split, res.Dataset.Examples, res.Dataset.Evaluated = "valid", 2, 2
	other := res
	groundedBase := base
	groundedBase.HallucinationRate, groundedBase.FixedVersionAccuracy = f(0), f(1)
	res.Grounded = &evaluate.GroundedResults{Base: groundedBase, Tuned: tuned, BaseRegenerated: 1}
	writeJSON(t, filepath.Join(modelDir, "eval", "results.json"), res)
	other.Dataset.Split, other.Dataset.Examples, other.Dataset.Evaluated = "valid", 64, 64
	other.ByKind = map[string]evaluate.Pair{"web": {Base: evaluate.Metrics{N: 64}, Tuned: evaluate.Metrics{N: 64}}}
	other.ByTool = map[string]evaluate.Pair{"zap": {Base: evaluate.Metrics{N: 60}, Tuned: evaluate.Metrics{N: 60}},
		"trivy": {Base: evaluate.Metrics{N: 4, HallucinationRate: f(0)}, Tuned: evaluate.Metrics{N: 4, HallucinationRate: f(0.25)}}}
	other.Set, other.Selection = "other", &evaluate.Selection{Rule: evaluate.SelectionRule, From: 273, Selected: 64}
	writeJSON(t, filepath.Join(modelDir, "eval", "other", "results.json"), other)
	gen := func(model string, i int, kind, text string, sc evaluate.Scores) evaluate.Generation {
		return evaluate.Generation{Model: model, Index: i, FindingID: "f" + kind, Kind: kind, Text: text, FinishReason: "stop", Scores: sc}
	}
	writeLines(t, filepath.Join(modelDir, "eval", "generations.jsonl"),
		gen("base", 0, "dependency", "BASE-ONE: maybe upgrade <something>.", evaluate.Scores{FixedVersion: b(false), Ungrounded: []string{"9.9.9"}}),
		gen("base", 1, "code", "BASE-TWO: looks fine.", evaluate.Scores{CWE: b(false)}),
		gen("tuned", 0, "dependency", "TUNED-ONE: upgrade lodash to 4.17.21.", evaluate.Scores{FixedVersion: b(true), Snippet: b(true)}),
		gen("tuned", 1, "code", "TUNED-TWO: CWE-79 in app.go.", evaluate.Scores{CWE: b(true)}),
	)
	phases["finetune"] = phase("done", t0.Add(2*time.Second), 754, modelDir)
	phases["evaluate"] = phase("done", t0.Add(800*time.Second), 61, filepath.Join(modelDir, "eval", "results.json"))
	v := phase("done", t0.Add(900*time.Second), 2)
	v["summary"] = map[string]any{"checks": 12, "gate": []map[string]string{
		{"name": "held-out loss", "status": "PASS", "detail": "tuned 1.2400 < base 2.1800"},
		{"name": "hallucination rate", "status": "PASS", "detail": "tuned 0.0000, base 0.5000"},
	}}
	phases["validate"] = v
	writeManifest(t, runDir, "vulntune-test", phases)
	return runDir, modelDir
}

// skippedRun is a run with --skip-fine-tuning: parse and dataset only.
func skippedRun(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "run")
	phases := writeBase(t, dir)
	for _, p := range []string{"finetune", "evaluate", "validate"} {
		s := phase("skipped", time.Time{}, 0)
		s["notes"] = map[string]string{"reason": "--skip-fine-tuning"}
		phases[p] = s
	}
	writeManifest(t, dir, "", phases)
	return dir
}
