package dataset_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
)

// bucketed makes n training examples of one kind and tool.
func bucketed(kind, tool string, n int, split string) []dataset.Example {
	var out []dataset.Example
	for i := 0; i < n; i++ {
		e := example(fmt.Sprintf("%s-%s-%03d", kind, tool, i), kind)
		e.Meta.Rule = tool + ":r"
		e.Meta.Split = split
		out = append(out, e)
	}
	return out
}

func TestPlanCopies(t *testing.T) {
	t.Parallel()
	mix := func(parts ...[]dataset.Example) []dataset.Example {
		var out []dataset.Example
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	samples := mix(bucketed("dependency", "trivy", 24, dataset.Train), bucketed("dependency", "osv-scanner", 27, dataset.Train),
		bucketed("code", "semgrep", 20, dataset.Train), bucketed("config", "checkov", 8, dataset.Train),
		bucketed("web", "zap", 7, dataset.Train), bucketed("web", "zap", 5, dataset.Valid))
	cases := []struct {
		name              string
		ex                []dataset.Example
		copies, maxCopies int
		want              map[string]int // bucket -> copies planned
	}{
		{"off", samples, 0, 0, map[string]int{}},
		{"no balancing", samples, 1, 1, map[string]int{"dependency/trivy": 24, "dependency/osv-scanner": 27, "code/semgrep": 20, "config/checkov": 8, "web/zap": 7}},
		// The default: the largest bucket with its copy is 54; the others
		// fill up to it, bounded by 3 copies an example.
		{"samples, default", samples, 1, 3, map[string]int{"dependency/trivy": 30, "dependency/osv-scanner": 27, "code/semgrep": 34, "config/checkov": 24, "web/zap": 21}},
		{"balancing only", samples, 0, 2, map[string]int{"dependency/trivy": 3, "code/semgrep": 7, "config/checkov": 16, "web/zap": 14}},
		{"max below copies counts as copies", samples, 2, 1, map[string]int{"dependency/trivy": 48, "dependency/osv-scanner": 54, "code/semgrep": 40, "config/checkov": 16, "web/zap": 14}},
		{"held-out only", bucketed("web", "zap", 5, dataset.Valid), 1, 3, map[string]int{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan := dataset.PlanCopies(tc.ex, tc.copies, tc.maxCopies, 42)
			got := map[string]int{}
			for i, n := range plan {
				if tc.ex[i].Meta.Split != dataset.Train {
					t.Errorf("%s example %s planned %d copies", tc.ex[i].Meta.Split, tc.ex[i].Meta.FindingID, n)
				}
				if n < tc.copies || n > max(tc.maxCopies, tc.copies) {
					t.Errorf("%s: %d copies, want %d to %d", tc.ex[i].Meta.FindingID, n, tc.copies, max(tc.maxCopies, tc.copies))
				}
				got[dataset.Bucket(tc.ex[i])] += n
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("copies by bucket %v, want %v", got, tc.want)
			}
			if again := dataset.PlanCopies(tc.ex, tc.copies, tc.maxCopies, 42); !reflect.DeepEqual(again, plan) {
				t.Error("the plan is not deterministic")
			}
		})
	}
}

// TestScreenCopies: a copy that fails an example check or resembles a
// held-out example is left out with its reason; the rest are kept.
func TestScreenCopies(t *testing.T) {
	t.Parallel()
	held := example("held", "code")
	held.Meta.Split = dataset.Valid
	train := example("orig", "code")
	train.Meta.Split = dataset.Train

	good := example("good", "code")
	near := example("near", "code")
	near.Messages = append([]chat.Message{}, held.Messages...)
	empty := example("empty", "code")
	empty.Messages = []chat.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}, {Role: "assistant", Content: " "}}
	var copies []dataset.Example
	for _, c := range []dataset.Example{good, near, empty} {
		c.Meta.Split, c.Meta.AugmentOf = dataset.Train, "orig"
		copies = append(copies, c)
	}
	kept, drops := dataset.ScreenCopies(copies, []dataset.Example{held, train}, 0)
	if len(kept) != 1 || kept[0].Meta.FindingID != "good" {
		t.Errorf("kept %v, want good only", ids(kept))
	}
	got := map[string]string{}
	for _, d := range drops {
		got[d.FindingID] = d.Reason
	}
	want := map[string]string{"near": dataset.ReasonNearHeldOut, "empty": dataset.ReasonEmptyAnswer}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("drops %v, want %v", got, want)
	}
}

func ids(ex []dataset.Example) []string {
	var out []string
	for _, e := range ex {
		out = append(out, e.Meta.FindingID)
	}
	return out
}

// TestCardShowsTrainingMix: the card says how many copies there are and
// the training mix before and after, and stats carry the same numbers.
func TestCardShowsTrainingMix(t *testing.T) {
	t.Parallel()
	ex := append(bucketed("dependency", "trivy", 3, dataset.Train), bucketed("web", "zap", 1, dataset.Valid)...)
	a := &dataset.Augmentation{Copies: 1, MaxCopies: 3, Added: 4, Skipped: map[string]int{"no replacement possible": 2},
		Before: map[string]int{"dependency/trivy": 3, "web/zap": 1}, After: map[string]int{"dependency/trivy": 6, "web/zap": 4},
		Moved: map[string]int{"npm": 2, "go": 1}, EcosystemCopies: 2, Ecosystems: map[string]int{"maven": 3, "npm": 2, "go": 1}}
	opts := dataset.WriteOptions{Augmentation: a}
	st := dataset.ComputeStats(ex, opts)
	if st.Augmentation != a {
		t.Fatal("stats do not carry the augmentation")
	}
	card := dataset.Card(st, opts)
	for _, want := range []string{"## Identifier augmentation and training mix", "4 identifier-replaced copies",
		"| dependency/trivy | 3 | 75% | 6 | 60% |", "| web/zap | 1 | 25% | 4 | 40% |", "no replacement possible (2)",
		"moved to another ecosystem", "go (1), npm (2)", "2 more copies, each moved to the ecosystem with the fewest",
		"Training dependency examples by ecosystem, originals and copies: go 1 (17%), maven 3 (50%), npm 2 (33%)."} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if card := dataset.Card(dataset.ComputeStats(ex, dataset.WriteOptions{}), dataset.WriteOptions{}); strings.Contains(card, "augmentation") {
		t.Error("a card without augmentation mentions it")
	}
}
