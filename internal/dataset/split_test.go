package dataset_test

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
)

// words gives each synthetic example distinct text so only the keys we set
// (not accidental near-duplication) decide grouping.
func words(seed int) string {
	var b strings.Builder
	x := uint32(seed*2654435761 + 1)
	for i := 0; i < 60; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "w%d ", x%100000)
	}
	return b.String()
}

func example(id, kind string, keys ...string) dataset.Example {
	return dataset.Example{
		Messages: []chat.Message{{Role: "system", Content: "s"}, {Role: "user", Content: words(len(id)*7919 + int(id[len(id)-1])*31 + len(keys))}, {Role: "assistant", Content: words(int(id[0])*104729+len(id)*13+int(id[len(id)-1])) + "."}},
		Meta:     dataset.Meta{FindingID: id, Kind: kind, Keys: keys},
	}
}

func synthetic(n int) []dataset.Example {
	var ex []dataset.Example
	kinds := []string{"dependency", "code", "config", "web"}
	for i := 0; i < n; i++ {
		kind := kinds[i%len(kinds)]
		id := fmt.Sprintf("f%04d", i)
		var keys []string
		switch kind {
		case "dependency":
			// Every third dependency shares a package+vuln key with the next.
			keys = []string{fmt.Sprintf("pkgvuln:maven|lib%d|CVE-1", i/6)}
		case "code":
			keys = []string{fmt.Sprintf("rulepath:rule%d|src/a.go", i/8)}
		}
		e := example(id, kind, keys...)
		e.Messages[1].Content = words(i*3 + 1)
		e.Messages[2].Content = words(i*3+2) + "."
		ex = append(ex, e)
	}
	return ex
}

func TestSplitNoGroupStraddles(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{0, 1, 42, 1234} {
		ex := synthetic(400)
		st, err := dataset.Split(ex, dataset.SplitOptions{ValidFraction: 0.2, TestFraction: 0.1, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		splitOfKey := map[string]string{}
		splitOfGroup := map[string]string{}
		for _, e := range ex {
			if s, ok := splitOfGroup[e.Meta.Group]; ok && s != e.Meta.Split {
				t.Fatalf("seed %d: group %s in %s and %s", seed, e.Meta.Group, s, e.Meta.Split)
			}
			splitOfGroup[e.Meta.Group] = e.Meta.Split
			for _, k := range e.Meta.Keys {
				if s, ok := splitOfKey[k]; ok && s != e.Meta.Split {
					t.Fatalf("seed %d: key %s in %s and %s", seed, k, s, e.Meta.Split)
				}
				splitOfKey[k] = e.Meta.Split
			}
		}
		for kind, want := range map[string]float64{"dependency": 0.2, "code": 0.2, "config": 0.2, "web": 0.2} {
			n := 0
			for _, s := range []string{"train", "valid", "test"} {
				n += st.KindsPerSplit[s][kind]
			}
			got := float64(st.KindsPerSplit["valid"][kind]) / float64(n)
			if math.Abs(got-want) > 0.08 {
				t.Errorf("seed %d kind %s: valid fraction %.2f, want about %.2f (stratified)", seed, kind, got, want)
			}
		}
		if st.ExamplesPer["test"] == 0 || st.ExamplesPer["train"] == 0 {
			t.Errorf("seed %d: splits %v", seed, st.ExamplesPer)
		}
	}
}

func TestSplitDeterministic(t *testing.T) {
	t.Parallel()
	a, b := synthetic(200), synthetic(200)
	// Reverse b: the split must not depend on input order.
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	if _, err := dataset.Split(a, dataset.SplitOptions{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Split(b, dataset.SplitOptions{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range a {
		got[e.Meta.FindingID] = e.Meta.Split
	}
	for _, e := range b {
		if got[e.Meta.FindingID] != e.Meta.Split {
			t.Fatalf("finding %s: %s vs %s", e.Meta.FindingID, got[e.Meta.FindingID], e.Meta.Split)
		}
	}
	c := synthetic(200)
	dataset.Split(c, dataset.SplitOptions{Seed: 8})
	diff := 0
	for _, e := range c {
		if got[e.Meta.FindingID] != e.Meta.Split {
			diff++
		}
	}
	if diff == 0 {
		t.Error("another seed gave the identical split")
	}
}

func TestSplitNearDuplicatesShareSplit(t *testing.T) {
	t.Parallel()
	ex := synthetic(100)
	// Make 0 and 1 near-identical: same text but one word.
	ex[1].Messages[1].Content = ex[0].Messages[1].Content
	ex[1].Messages[2].Content = ex[0].Messages[2].Content + " extra."
	st, err := dataset.Split(ex, dataset.SplitOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ex[0].Meta.Group != ex[1].Meta.Group {
		t.Errorf("near-duplicates in groups %s and %s", ex[0].Meta.Group, ex[1].Meta.Group)
	}
	if st.NearDupUnions < 1 {
		t.Errorf("near-dup links = %d", st.NearDupUnions)
	}
	if p := dataset.CheckExamples(ex, 0); len(p) != 0 {
		t.Errorf("check after split: %v", p)
	}
}

func TestSplitRejectsBadFractions(t *testing.T) {
	t.Parallel()
	for _, o := range []dataset.SplitOptions{{ValidFraction: -0.1}, {ValidFraction: 0.6, TestFraction: 0.4}} {
		if _, err := dataset.Split(synthetic(4), o); err == nil {
			t.Errorf("%+v: want error", o)
		}
	}
}

func TestCheckExamples(t *testing.T) {
	t.Parallel()
	long := "The package is vulnerable and must be upgraded; the fixed version closes the flaw. Verify by re-running the scanner afterwards."
	tests := []struct {
		name   string
		answer string
		want   string
	}{
		{"ok", long, ""},
		{"empty", "  ", "empty answer"},
		{"short", "Upgrade it.", "too short"},
		{"todo", long + " // TODO: Implement input validation here.", "placeholder"},
		{"template", long + " Set the version to <version>.", "placeholder"},
		{"truncated", long + " Then the next step is to", "truncated"},
		{"open fence", long + "\n```java\nint x = 1;", "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := example("f1", "code")
			e.Messages[2].Content = tt.answer
			e.Meta.Split = "train"
			p := strings.Join(dataset.CheckExamples([]dataset.Example{e}, 0), "\n")
			if (tt.want == "") != (p == "") || !strings.Contains(p, tt.want) {
				t.Errorf("problems = %q, want %q", p, tt.want)
			}
		})
	}
}

func TestCheckCrossSplitDuplicates(t *testing.T) {
	t.Parallel()
	a, b := example("f1", "code"), example("f2", "code")
	b.Messages = a.Messages
	a.Meta.Split, b.Meta.Split = "train", "valid"
	p := strings.Join(dataset.CheckExamples([]dataset.Example{a, b}, 0), "\n")
	if !strings.Contains(p, "identical") {
		t.Errorf("problems = %q", p)
	}
}

func TestCapPerRule(t *testing.T) {
	t.Parallel()
	var ex []dataset.Example
	for i := range 30 {
		rule := "semgrep:noisy"
		if i%3 == 0 {
			rule = fmt.Sprintf("osv-scanner:CVE-2024-%04d", i)
		}
		ex = append(ex, dataset.Example{Meta: dataset.Meta{FindingID: fmt.Sprintf("f%02d", i), Rule: rule}})
	}
	tests := []struct {
		name        string
		max         int
		wantKept    int
		wantDropped map[string]int
	}{
		{"no cap", 0, 30, map[string]int{}},
		{"cap above every rule", 25, 30, map[string]int{}},
		{"cap the noisy rule", 5, 15, map[string]int{"semgrep:noisy": 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dropped := dataset.CapPerRule(ex, tt.max, 42)
			if len(kept) != tt.wantKept || !reflect.DeepEqual(dropped, tt.wantDropped) {
				t.Errorf("kept %d, dropped %v; want %d, %v", len(kept), dropped, tt.wantKept, tt.wantDropped)
			}
			for i := 1; i < len(kept); i++ {
				if kept[i-1].Meta.FindingID > kept[i].Meta.FindingID {
					t.Fatal("kept examples are not in input order")
				}
			}
			again, _ := dataset.CapPerRule(ex, tt.max, 42)
			if !reflect.DeepEqual(kept, again) {
				t.Error("the same seed kept other examples")
			}
		})
	}
	a, _ := dataset.CapPerRule(ex, 5, 1)
	b, _ := dataset.CapPerRule(ex, 5, 2)
	if reflect.DeepEqual(a, b) {
		t.Error("the seed does not change which examples are kept")
	}
}
