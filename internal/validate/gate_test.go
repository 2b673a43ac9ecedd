package validate_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/validate"
)

func f(v float64) *float64 { return &v }

func metrics(loss, fv, cwe, hall float64) evaluate.Metrics {
	return evaluate.Metrics{N: 10, Loss: f(loss), FixedVersionAccuracy: f(fv), CWEAccuracy: f(cwe), HallucinationRate: f(hall), EndedShare: f(0.9),
		RepetitionShare: f(0.1)}
}

// repeating sets m's repetition share.
func repeating(m evaluate.Metrics, share *float64) *evaluate.Metrics {
	m.RepetitionShare = share
	return &m
}

// whole sets m's snippet accuracy (nil: no snippets) and ended share.
func whole(m evaluate.Metrics, snippet *float64, snippetN int, ended *float64) *evaluate.Metrics {
	m.SnippetAccuracy, m.SnippetN, m.EndedShare = snippet, snippetN, ended
	return &m
}

func TestQualityGate(t *testing.T) {
	t.Parallel()
	base := *whole(metrics(2.0, 0.2, 0.5, 0.3), f(0.5), 4, f(0.9))
	good := metrics(1.5, 0.6, 0.7, 0.1)
	tests := []struct {
		name        string
		tuned       *evaluate.Metrics // nil: no results.json
		opts        validate.GateOptions
		requireEval bool
		want        map[string]validate.Status
	}{
		{"tuned better", whole(good, f(1), 4, f(1)), validate.GateOptions{}, false,
			map[string]validate.Status{"held-out loss": validate.Pass, "fact accuracy": validate.Pass, "hallucination rate": validate.Pass,
				"snippet accuracy": validate.Pass, "answers ended": validate.Pass}},
		{"snippet accuracy equal to base passes", whole(good, f(0.5), 6, f(0.9)), validate.GateOptions{}, false,
			map[string]validate.Status{"snippet accuracy": validate.Pass, "answers ended": validate.Pass}},
		{"snippets pin the installed version more often", whole(good, f(0.25), 4, f(1)), validate.GateOptions{}, false,
			map[string]validate.Status{"snippet accuracy": validate.Fail, "answers ended": validate.Pass}},
		{"tuned wrote no snippet: nothing to compare", whole(good, nil, 0, f(1)), validate.GateOptions{}, false,
			map[string]validate.Status{"snippet accuracy": validate.Skip, "fact accuracy": validate.Pass}},
		{"fewer answers end", whole(good, f(1), 4, f(0.04)), validate.GateOptions{}, false,
			map[string]validate.Status{"answers ended": validate.Fail, "snippet accuracy": validate.Pass}},
		{"fewer answers end, within allowance", whole(good, f(1), 4, f(0.85)), validate.GateOptions{MaxEndedShareDecrease: 0.1}, false,
			map[string]validate.Status{"answers ended": validate.Pass}},
		{"no ended share: scored by an older vulntune", whole(good, f(1), 4, nil), validate.GateOptions{}, false,
			map[string]validate.Status{"answers ended": validate.Fail}},
		{"repeats no more than base", repeating(good, f(0.1)), validate.GateOptions{}, false,
			map[string]validate.Status{"answers repeating": validate.Pass}},
		{"repeats more than base", repeating(good, f(0.3)), validate.GateOptions{}, false,
			map[string]validate.Status{"answers repeating": validate.Fail, "answers ended": validate.Pass}},
		{"repeats more, within allowance", repeating(good, f(0.3)), validate.GateOptions{MaxRepetitionShareIncrease: 0.25}, false,
			map[string]validate.Status{"answers repeating": validate.Pass}},
		{"no repetition share: scored by an older vulntune", repeating(good, nil), validate.GateOptions{}, false,
			map[string]validate.Status{"answers repeating": validate.Fail}},
		{"loss worse", ptrM(metrics(2.1, 0.6, 0.7, 0.1)), validate.GateOptions{}, false,
			map[string]validate.Status{"held-out loss": validate.Fail}},
		{"loss gain below threshold", ptrM(metrics(1.95, 0.6, 0.7, 0.1)), validate.GateOptions{MinLossGain: 0.1}, false,
			map[string]validate.Status{"held-out loss": validate.Fail}},
		{"mean facts improve though one drops", ptrM(metrics(1.5, 0.8, 0.4, 0.1)), validate.GateOptions{}, false,
			map[string]validate.Status{"fact accuracy": validate.Pass}},
		{"each mode catches the drop", ptrM(metrics(1.5, 0.8, 0.4, 0.1)), validate.GateOptions{Facts: validate.FactsEach}, false,
			map[string]validate.Status{"fact accuracy": validate.Fail}},
		{"facts equal is not better", ptrM(metrics(1.5, 0.2, 0.5, 0.1)), validate.GateOptions{}, false,
			map[string]validate.Status{"fact accuracy": validate.Fail}},
		{"more hallucination", ptrM(metrics(1.5, 0.6, 0.7, 0.35)), validate.GateOptions{}, false,
			map[string]validate.Status{"hallucination rate": validate.Fail}},
		{"hallucination within allowance", ptrM(metrics(1.5, 0.6, 0.7, 0.35)), validate.GateOptions{MaxHallucinationIncrease: 0.1}, false,
			map[string]validate.Status{"hallucination rate": validate.Pass}},
		{"not evaluated, required", nil, validate.GateOptions{}, true,
			map[string]validate.Status{"quality gate": validate.Fail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tinyModelDir(t)
			if tt.tuned != nil {
				writeJSON(t, filepath.Join(dir, "eval", "results.json"), evaluate.Results{Schema: evaluate.SchemaVersion, Base: base, Tuned: *tt.tuned})
			}
			r, err := validate.Run(context.Background(), validate.Options{ModelDir: dir, Gate: tt.opts, RequireEval: tt.requireEval})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]validate.Check{}
			for _, c := range r.Checks {
				if c.Group == validate.GroupGate {
					got[c.Name] = c
				}
			}
			for name, want := range tt.want {
				if got[name].Status != want {
					t.Errorf("%s = %s (%s), want %s", name, got[name].Status, got[name].Detail, want)
				}
			}
			failed := false
			for _, st := range tt.want {
				failed = failed || st == validate.Fail
			}
			if r.GateFailed() != failed {
				t.Errorf("GateFailed() = %v, want %v", r.GateFailed(), failed)
			}
			// The card's section says the same verdict and lists the checks.
			sec := r.GateSection()
			verdict := "**Passed**"
			if failed {
				verdict = "**Failed**"
			}
			if !strings.HasPrefix(sec, "## "+validate.GateHeading+"\n\n"+verdict) {
				t.Errorf("card section does not open with %s:\n%s", verdict, sec)
			}
			for name := range tt.want {
				if !strings.Contains(sec, "| "+name+" | "+string(got[name].Status)+" |") {
					t.Errorf("card section lacks the %s check:\n%s", name, sec)
				}
			}
		})
	}
}

func ptrM(m evaluate.Metrics) *evaluate.Metrics { return &m }

func TestBadFactsMode(t *testing.T) {
	t.Parallel()
	_, err := validate.Run(context.Background(), validate.Options{ModelDir: t.TempDir(), Gate: validate.GateOptions{Facts: "median"}})
	if err == nil || !strings.Contains(err.Error(), `"median"`) {
		t.Fatalf("err = %v, want one naming the mode", err)
	}
}
