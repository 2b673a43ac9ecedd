package evaluate_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/validate"
)

// realEngine returns the engine and the SmolLM2 base model dir, or skips.
// As in internal/engine's tests: VULNTUNE_TEST_ENGINE_PYTHON or the venv
// under VULNTUNE_DATA_DIR; the model from VULNTUNE_TEST_BASE_MODEL or
// $VULNTUNE_BASE_MODELS_DIR (the Makefile sets it) /SmolLM2-135M-Instruct.
func realEngine(t *testing.T) (*engine.Engine, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("engine test: slow")
	}
	py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON")
	if py == "" {
		dir := os.Getenv("VULNTUNE_DATA_DIR")
		if dir == "" {
			t.Skip("no engine: export VULNTUNE_DATA_DIR (after `vulntune setup`) or VULNTUNE_TEST_ENGINE_PYTHON")
		}
		e, err := engine.Open(dir)
		if err != nil {
			t.Fatalf("VULNTUNE_DATA_DIR=%s: %v", dir, err)
		}
		py = e.Python
	}
	model := os.Getenv("VULNTUNE_TEST_BASE_MODEL")
	if model == "" {
		if d := os.Getenv("VULNTUNE_BASE_MODELS_DIR"); d != "" {
			model = filepath.Join(d, "SmolLM2-135M-Instruct")
		}
	}
	if _, err := os.Stat(filepath.Join(model, "config.json")); model == "" || err != nil {
		t.Skip("no base model: run `make setup` or export VULNTUNE_TEST_BASE_MODEL")
	}
	return engine.New(py, t.TempDir()), model
}

// TestEngineEvaluateBaseVsItself runs the real engine: the same model as
// base and tuned must give identical figures, which checks that prompts,
// decoding and scoring are deterministic and wired to the right examples.
func TestEngineEvaluateBaseVsItself(t *testing.T) {
	e, base := realEngine(t)
	tuned := t.TempDir() // links, so eval/ lands in a dir the test owns
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if err := os.Symlink(filepath.Join(base, ent.Name()), filepath.Join(tuned, ent.Name())); err != nil {
			t.Fatal(err)
		}
	}
	r, err := evaluate.Run(context.Background(), evaluate.Options{
		ModelDir: tuned, BaseModelDir: base, DatasetDir: filepath.Join("testdata", "dataset"),
		Limit: 2, MaxTokens: 12, MaxSeqLength: 512, Engine: e,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Base.N != 2 || r.Base.Loss == nil || *r.Base.Loss <= 0 || *r.Base.Loss > 10 {
		t.Fatalf("base metrics implausible: %+v", r.Base)
	}
	if *r.Base.Loss != *r.Tuned.Loss || *r.Base.HallucinationRate != *r.Tuned.HallucinationRate {
		t.Errorf("same model, different figures: base %+v tuned %+v", r.Base, r.Tuned)
	}
	gens := readGenerations(t, filepath.Join(tuned, "eval", "generations.jsonl"))
	if len(gens) != 4 || gens[0].Text == "" || gens[0].Text != gens[2].Text {
		t.Errorf("generations: %+v", gens)
	}
	t.Logf("loss %.4f over %d tokens; answer %q", *r.Base.Loss, r.Base.LossTokens, gens[0].Text)
}

// TestEngineValidateBaseModel: an imported base model passes every artifact
// and functional check, and the gate is skipped.
func TestEngineValidateBaseModel(t *testing.T) {
	e, base := realEngine(t)
	r, err := validate.Run(context.Background(), validate.Options{ModelDir: base, Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Checks {
		want := validate.Pass
		if c.Group == validate.GroupGate {
			want = validate.Skip
		}
		if c.Status != want {
			t.Errorf("%s/%s = %s (%s), want %s", c.Group, c.Name, c.Status, c.Detail, want)
		}
	}
}
