package evaluate_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/evaluate"
)

func TestRescore(t *testing.T) {
	t.Parallel()
	model, base := t.TempDir(), t.TempDir()
	eng := fakeEngine{
		answers: map[string][]string{
			base:  {"Upgrade something.", "A problem, see CVE-1999-0001.", "Set headers."},
			model: {"Upgrade com.google.guava:guava to 32.0.0-android in webauthn-server/gradle.lockfile.", "CWE-285 in RegistrationRoutes.kt.", "CWE-693 at http://localhost:8080"},
		},
		nll: map[string]float64{base: 2.0, model: 1.0},
	}
	ds := filepath.Join("testdata", "dataset")
	first, err := evaluate.Run(context.Background(), evaluate.Options{ModelDir: model, BaseModelDir: base, DatasetDir: ds, MaxTokens: 16, Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	// Stale scores, as an older vulntune would have written them: every
	// answer marked wrong and hallucinating.
	gens := filepath.Join(model, "eval", "generations.jsonl")
	b, _ := os.ReadFile(gens)
	stale := bytes.ReplaceAll(b, []byte(`"location":true`), []byte(`"location":false`))
	stale = bytes.ReplaceAll(stale, []byte(`"ungrounded":[]`), []byte(`"ungrounded":["9.9.9"]`))
	if bytes.Equal(stale, b) {
		t.Fatal("test setup: nothing to make stale")
	}
	os.WriteFile(gens, stale, 0o644)

	now := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	r, err := evaluate.Rescore(model, ds, now)
	if err != nil {
		t.Fatal(err)
	}
	if *r.Tuned.LocationAccuracy != *first.Tuned.LocationAccuracy || *r.Tuned.HallucinationRate != *first.Tuned.HallucinationRate ||
		*r.Tuned.Loss != *first.Tuned.Loss || *r.Base.Loss != *first.Base.Loss {
		t.Errorf("rescored %+v, want the scores of the original run %+v", r.Tuned, first.Tuned)
	}
	if g, f := r.Grounded, first.Grounded; g == nil || g.TunedRegenerated != f.TunedRegenerated || g.BaseRegenerated != f.BaseRegenerated ||
		*g.Tuned.HallucinationRate != 0 || *g.Tuned.CWEAccuracy != *f.Tuned.CWEAccuracy {
		t.Errorf("rescored grounded figures %+v, want those of the original run %+v", g, f)
	}
	if r.Rescored == nil || !r.Rescored.Equal(now) || !r.Date.Equal(first.Date) {
		t.Errorf("rescored at %v, evaluated %v; want %v and the original date", r.Rescored, r.Date, now)
	}
	if back, _ := os.ReadFile(gens); !bytes.Equal(back, b) {
		t.Error("generations.jsonl does not hold the rescored scores")
	}

	// Another dataset: refused, nothing rewritten.
	other := t.TempDir()
	for _, name := range []string{"valid.jsonl", "examples.meta.jsonl"} {
		data, _ := os.ReadFile(filepath.Join(ds, name))
		if name == "valid.jsonl" {
			data = bytes.Replace(data, []byte("}\n"), []byte("} \n"), 1) // same rows, other bytes
		}
		os.WriteFile(filepath.Join(other, name), data, 0o644)
	}
	if _, err := evaluate.Rescore(model, other, now); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("other dataset: err = %v, want one saying the split differs", err)
	}

	// A damaged generations file names its line.
	os.WriteFile(gens, append(b, []byte("{not json\n")...), 0o644)
	line := fmt.Sprintf("generations.jsonl:%d", bytes.Count(b, []byte("\n"))+1)
	if _, err := evaluate.Rescore(model, ds, now); err == nil || !strings.Contains(err.Error(), line) {
		t.Errorf("damaged file: err = %v, want one naming %s", err, line)
	}
}
