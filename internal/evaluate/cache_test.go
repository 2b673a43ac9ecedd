package evaluate_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// countingEngine is a reproducible engine: it has an EvaluateID and counts
// the models it was asked to answer with.
type countingEngine struct {
	fakeEngine
	calls map[string]int
}

func (c countingEngine) EvaluateID() string { return "engine-1" }

func (c countingEngine) Evaluate(ctx context.Context, req engine.EvaluateRequest, onItem func(engine.EvaluateItem), onEvent func(engine.Event)) (*engine.EvaluateSummary, error) {
	c.calls[req.Model]++
	return c.fakeEngine.Evaluate(ctx, req, onItem, onEvent)
}

func TestCacheReusesBaseAnswers(t *testing.T) {
	t.Parallel()
	base, m1, m2, cache := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(base, "model.safetensors"), []byte("base weights"), 0o644)
	good := []string{"Upgrade com.google.guava:guava to 32.0.0-android in webauthn-server/gradle.lockfile.", "CWE-285 in RegistrationRoutes.kt.", "CWE-693 at http://localhost:8080"}
	eng := countingEngine{
		fakeEngine: fakeEngine{
			answers: map[string][]string{base: {"a", "b", "c"}, m1: good, m2: good},
			nll:     map[string]float64{base: 2, m1: 1, m2: 1},
		},
		calls: map[string]int{},
	}
	run := func(model string, e evaluate.Runner, maxTokens int) *evaluate.Results {
		t.Helper()
		r, err := evaluate.Run(context.Background(), evaluate.Options{ModelDir: model, BaseModelDir: base,
			DatasetDir: filepath.Join("testdata", "dataset"), MaxTokens: maxTokens, Engine: e, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name      string
		model     string
		maxTokens int
		before    func()
		wantBase  int // engine calls for the base model so far
		wantCache bool
	}{
		{"first evaluation answers", m1, 16, nil, 1, false},
		{"another fine-tune of the same base reuses the base", m2, 16, nil, 1, true},
		{"another length bound is another request", m2, 32, nil, 2, false},
		{"rewritten base weights are another model", m1, 16, func() {
			os.WriteFile(filepath.Join(base, "model.safetensors"), []byte("new base weights"), 0o644)
		}, 3, false},
	}
	var first *evaluate.Results
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		r := run(s.model, eng, s.maxTokens)
		if first == nil {
			first = r
		}
		if eng.calls[base] != s.wantBase || r.Durations.BaseCached != s.wantCache {
			t.Errorf("%s: base answered %d times, cached %v; want %d, %v", s.name, eng.calls[base], r.Durations.BaseCached, s.wantBase, s.wantCache)
		}
		if *r.Base.Loss != *first.Base.Loss || *r.Base.HallucinationRate != *first.Base.HallucinationRate {
			t.Errorf("%s: base metrics %+v differ from the first run's %+v", s.name, r.Base, first.Base)
		}
	}

	// A damaged entry is a miss, not an error.
	entries, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	for _, e := range entries {
		os.WriteFile(e, []byte("{"), 0o644)
	}
	run(m1, eng, 16)
	if eng.calls[base] != 4 {
		t.Errorf("damaged cache: base answered %d times, want 4", eng.calls[base])
	}

	// Grounded decoding's second pass is a request of its own, cached under
	// its own key: evaluating again answers nothing, and the grounded
	// answer is the cached grounded one, not the free one.
	m3 := t.TempDir()
	os.WriteFile(filepath.Join(m3, "model.safetensors"), []byte("weights that invent"), 0o644)
	eng.answers[m3] = []string{good[0], good[1], "CWE-693 at http://localhost:8080, fixed in 9.9.9"}
	for i, wantCalls := range []int{2, 2} {
		r := run(m3, eng, 16)
		if eng.calls[m3] != wantCalls || r.Grounded.TunedRegenerated != 1 || *r.Grounded.Tuned.HallucinationRate != 0 || *r.Tuned.HallucinationRate == 0 {
			t.Errorf("run %d of a model that invents: %d engine calls (want %d), grounded %+v, free hallucination %v",
				i+1, eng.calls[m3], wantCalls, r.Grounded, *r.Tuned.HallucinationRate)
		}
	}

	// An engine that cannot say what it is never uses the cache.
	plain := t.TempDir()
	r, err := evaluate.Run(context.Background(), evaluate.Options{ModelDir: m1, BaseModelDir: base,
		DatasetDir: filepath.Join("testdata", "dataset"), MaxTokens: 16, Engine: eng.fakeEngine, CacheDir: plain, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(plain); len(left) != 0 || r.Durations.BaseCached {
		t.Errorf("engine without an ID: cache holds %d entries, base cached %v", len(left), r.Durations.BaseCached)
	}
}

// rulesEngine is a reproducible engine whose grounded decoding's code can
// change (rules) while its free decoding's does not: EvaluateID follows
// the rules, FreeEvaluateID never does (engine.Engine's, over the modules
// each kind of answer runs).
type rulesEngine struct {
	fakeEngine
	rules                  *string
	free, grounded, replay map[string]int
}

func (e rulesEngine) EvaluateID() string     { return "engine-rules-" + *e.rules }
func (e rulesEngine) FreeEvaluateID() string { return "engine-free" }

func (e rulesEngine) Evaluate(ctx context.Context, req engine.EvaluateRequest, onItem func(engine.EvaluateItem), onEvent func(engine.Event)) (*engine.EvaluateSummary, error) {
	if req.Grounding == engine.GroundingEnforce {
		e.grounded[req.Model]++
	} else {
		e.free[req.Model]++
	}
	return e.fakeEngine.Evaluate(ctx, req, onItem, onEvent)
}

func (e rulesEngine) Observe(ctx context.Context, req engine.ObserveRequest, onEvent func(engine.Event)) ([]engine.Observation, error) {
	e.replay[req.Model]++
	return e.fakeEngine.Observe(ctx, req, onEvent)
}

// TestCacheKeepsFreeAnswersAcrossGroundingRules: free answers are cached
// without grounds or pins, so a change to grounded decoding's rules
// decodes only the grounded answers again; the free ones are observed
// anew against the rules of the day.
func TestCacheKeepsFreeAnswersAcrossGroundingRules(t *testing.T) {
	t.Parallel()
	base, model, cache := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(base, "model.safetensors"), []byte("base weights"), 0o644)
	os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("weights that invent"), 0o644)
	rules := "1"
	eng := rulesEngine{
		fakeEngine: fakeEngine{
			answers: map[string][]string{base: {"a", "b", "c"},
				model: {"Upgrade com.google.guava:guava to 32.0.0-android.", "CWE-285 in RegistrationRoutes.kt.", "CWE-693 at http://localhost:8080, fixed in 9.9.9"}},
			nll: map[string]float64{base: 2, model: 1},
		},
		rules: &rules, free: map[string]int{}, grounded: map[string]int{}, replay: map[string]int{},
	}
	for _, step := range []struct {
		name                         string
		rules                        string
		free, grounded, replay, base int
	}{
		{"first evaluation", "1", 1, 1, 1, 1},
		{"the same rules answer nothing", "1", 1, 1, 2, 1},
		{"new rules decode only the grounded answers", "2", 1, 2, 3, 1},
	} {
		rules = step.rules
		r, err := evaluate.Run(context.Background(), evaluate.Options{ModelDir: model, BaseModelDir: base,
			DatasetDir: filepath.Join("testdata", "dataset"), MaxTokens: 16, Engine: eng, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if eng.free[model] != step.free || eng.grounded[model] != step.grounded || eng.replay[model] != step.replay || eng.free[base] != step.base {
			t.Errorf("%s: tuned free %d, grounded %d, observed %d, base free %d; want %d, %d, %d, %d", step.name,
				eng.free[model], eng.grounded[model], eng.replay[model], eng.free[base], step.free, step.grounded, step.replay, step.base)
		}
		if r.Grounded.TunedRegenerated != 1 || *r.Grounded.Tuned.HallucinationRate != 0 || *r.Tuned.HallucinationRate == 0 {
			t.Errorf("%s: grounded %+v, free hallucination %v", step.name, r.Grounded, *r.Tuned.HallucinationRate)
		}
	}
}
