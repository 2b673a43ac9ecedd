package evaluate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// corpusLike makes n examples per (kind, tool, fixed version?) cell, with
// distinct finding ids.
func corpusLike(cells map[string]int) []dataset.Example {
	var out []dataset.Example
	keys := make([]string, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts := strings.Split(k, "/") // kind/tool[/fixed]
		for i := range cells[k] {
			m := dataset.Meta{FindingID: fmt.Sprintf("%s-%d", k, i), Kind: parts[0], Tools: []string{parts[1]}}
			if len(parts) == 3 {
				m.Facts.Package, m.Facts.FixedVersion = "pkg", "1.2.3"
			}
			out = append(out, dataset.Example{Meta: m, Messages: []chat.Message{
				{Role: "user", Content: "finding " + m.FindingID}, {Role: "assistant", Content: "answer " + m.FindingID}}})
		}
	}
	return out
}

func TestSelect(t *testing.T) {
	t.Parallel()
	cells := map[string]int{
		"dependency/trivy/fixed": 30, "dependency/trivy": 5, "dependency/osv-scanner/fixed": 6, "dependency/grype/fixed": 2,
		"dependency/snyk": 4, "config/kics": 50, "code/gosec": 3, "web/zap": 1, "secret/gitleaks": 2,
	}
	all := corpusLike(cells)
	tests := []struct {
		name         string
		opts         evaluate.SelectOptions
		wantSelected int
		wantFixed    int
		// wantStratum: selected examples of some strata.
		wantStratum map[string]int
	}{
		// 20 fixed in turn from grype (2, all it has), osv (6, all) and
		// trivy (12), then one of each of the other 5 strata.
		{"coverage and fixed minimum", evaluate.SelectOptions{}, 25, 20,
			map[string]int{"dependency/grype": 2, "dependency/osv-scanner": 6, "dependency/trivy": 12, "config/kics": 1, "web/zap": 1}},
		{"lower fixed minimum", evaluate.SelectOptions{FixedVersionMin: 3}, 8, 3,
			map[string]int{"dependency/grype": 1, "dependency/osv-scanner": 1, "dependency/trivy": 1, "dependency/snyk": 1}},
		{"no fixed minimum", evaluate.SelectOptions{FixedVersionMin: -1}, 8, -1, map[string]int{"code/gosec": 1, "secret/gitleaks": 1}},
		// Filled in turn from each stratum: kics gets no more than gosec
		// until gosec runs out.
		{"filled to size", evaluate.SelectOptions{Size: 40}, 40, -1,
			map[string]int{"code/gosec": 3, "web/zap": 1, "secret/gitleaks": 2}},
		{"size below what coverage needs", evaluate.SelectOptions{Size: 5}, 25, 20, nil},
		{"fixed minimum above what there is", evaluate.SelectOptions{FixedVersionMin: 100}, 38 + 5, 38, map[string]int{"dependency/trivy": 30}},
		{"everything", evaluate.SelectOptions{Size: 1000}, len(all), -1, map[string]int{"config/kics": 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, sel := evaluate.Select(all, tt.opts)
			if len(got) != tt.wantSelected || sel.Selected != len(got) || sel.From != len(all) {
				t.Fatalf("selected %d (recorded %d of %d), want %d", len(got), sel.Selected, sel.From, tt.wantSelected)
			}
			if tt.wantFixed >= 0 && sel.FixedVersion != tt.wantFixed {
				t.Errorf("fixed-version findings = %d, want %d", sel.FixedVersion, tt.wantFixed)
			}
			for s, n := range sel.Available {
				if sel.ByStratum[s] == 0 {
					t.Errorf("stratum %s (%d available) not represented", s, n)
				}
			}
			for s, n := range tt.wantStratum {
				if sel.ByStratum[s] != n {
					t.Errorf("stratum %s: %d selected, want %d (all: %v)", s, sel.ByStratum[s], n, sel.ByStratum)
				}
			}
			seen := map[string]bool{}
			for _, e := range got {
				if seen[e.Meta.FindingID] {
					t.Errorf("finding %s selected twice", e.Meta.FindingID)
				}
				seen[e.Meta.FindingID] = true
			}
		})
	}
}

// The selection depends on the examples, not on their order, and a new
// report adds candidates without reshuffling the ones already chosen
// beyond its own strata.
func TestSelectIsStable(t *testing.T) {
	t.Parallel()
	all := corpusLike(map[string]int{"dependency/trivy/fixed": 25, "config/kics": 20, "code/gosec": 4})
	ids := func(exs []dataset.Example) []string {
		out := make([]string, len(exs))
		for i, e := range exs {
			out[i] = e.Meta.FindingID
		}
		return out
	}
	want, _ := evaluate.Select(all, evaluate.SelectOptions{Size: 30})
	for seed := range uint64(5) {
		shuffled := slices.Clone(all)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, _ := evaluate.Select(shuffled, evaluate.SelectOptions{Size: 30})
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("shuffle %d selected %v, want %v", seed, ids(got), ids(want))
		}
	}
	more := append(slices.Clone(all), corpusLike(map[string]int{"web/zap": 3})...)
	got, _ := evaluate.Select(more, evaluate.SelectOptions{})
	base, _ := evaluate.Select(all, evaluate.SelectOptions{})
	if len(got) != len(base)+1 {
		t.Fatalf("a new stratum changed the selection: %v, was %v", ids(got), ids(base))
	}
	for _, id := range ids(base) {
		if !slices.Contains(ids(got), id) {
			t.Errorf("finding %s left the selection when another tool's reports were added", id)
		}
	}
}

func TestWriteSet(t *testing.T) {
	t.Parallel()
	all := corpusLike(map[string]int{"dependency/trivy/fixed": 3, "config/kics": 5, "code/gosec": 2})
	dir := filepath.Join(t.TempDir(), "set")
	if err := os.MkdirAll(filepath.Join(dir, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	sel, err := evaluate.WriteSet(dir, all, evaluate.SelectOptions{Size: 6})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// A test split alone: training reads train.jsonl and valid.jsonl.
	if want := []string{"examples.meta.jsonl", evaluate.SelectionFile, "test.jsonl"}; !slices.Equal(names, want) {
		t.Fatalf("set dir holds %v, want %v", names, want)
	}
	exs, _, err := dataset.ReadSplit(dir, dataset.Test, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != sel.Selected || sel.Selected != 6 {
		t.Fatalf("%d rows, selection says %d, want 6", len(exs), sel.Selected)
	}
	for _, e := range exs {
		if e.Meta.Split != dataset.Test || e.Meta.FindingID == "" || e.Assistant() != "answer "+e.Meta.FindingID {
			t.Errorf("row %+v lost its metadata or answer", e.Meta)
		}
	}
	if _, err := evaluate.WriteSet(filepath.Join(t.TempDir(), "empty"), nil, evaluate.SelectOptions{}); err == nil {
		t.Error("an empty set was written")
	}
}

func TestCheckSetName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"other": true, "corpus-2026": true, "v1.2_x": true, "": false, "..": false,
		"../x": false, "a/b": false, "Other": false, ".hidden": false, "a..b": false} {
		if err := evaluate.CheckSetName(name); (err == nil) != ok {
			t.Errorf("CheckSetName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

// Run with a Set writes eval/<set>/, records the selection and the tools,
// and the card shows the held-out split and the set side by side.
func TestRunSet(t *testing.T) {
	t.Parallel()
	model, base := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(model, "README.md"), []byte("---\nlicense: apache-2.0\n---\n# M\n\n## Use\n\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	all := corpusLike(map[string]int{"dependency/trivy/fixed": 2, "config/kics": 2, "code/gosec": 1})
	setDir := filepath.Join(model, "eval", "other", "dataset")
	if _, err := evaluate.WriteSet(setDir, all, evaluate.SelectOptions{FixedVersionMin: 1, Size: 4}); err != nil {
		t.Fatal(err)
	}
	answers := func(prefix string) []string {
		return []string{prefix + " one", prefix + " two", prefix + " three", prefix + " four"}
	}
	eng := fakeEngine{answers: map[string][]string{base: answers("base"), model: answers("tuned")}, nll: map[string]float64{base: 2, model: 1}}
	// Another set's results from an older vulntune must not stop this one.
	stale := filepath.Join(model, "eval", "stale", "results.json")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte(`{"schema": 0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The held-out split first, then the set: the card must keep both.
	if _, err := evaluate.Run(context.Background(), evaluate.Options{ModelDir: model, BaseModelDir: base,
		DatasetDir: filepath.Join("testdata", "dataset"), Engine: fakeEngine{answers: map[string][]string{
			base: {"a", "b", "c"}, model: {"a", "b", "c"}}, nll: map[string]float64{base: 2, model: 1}}}); err != nil {
		t.Fatal(err)
	}
	r, err := evaluate.Run(context.Background(), evaluate.Options{ModelDir: model, BaseModelDir: base, DatasetDir: setDir,
		Set: "other", Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	if r.Set != "other" || r.Selection == nil || r.Selection.From != 5 || r.Dataset.Split != dataset.Test || r.Tuned.N != 4 {
		t.Fatalf("results: set %q selection %+v split %s n %d", r.Set, r.Selection, r.Dataset.Split, r.Tuned.N)
	}
	if got := r.Tools(); !slices.Equal(got, []string{"gosec", "kics", "trivy"}) || r.ByTool["kics"].Tuned.N != 2 {
		t.Errorf("by tool = %v (kics %+v)", got, r.ByTool["kics"].Tuned)
	}
	back, err := evaluate.ReadSetResults(model, "other")
	if err != nil || back.Selection == nil || back.ByTool["trivy"].Base.N != 1 {
		t.Fatalf("eval/other/results.json: %+v, %v", back, err)
	}
	held, err := evaluate.ReadResults(model)
	if err != nil || held.Set != "" || held.Tuned.N != 3 {
		t.Fatalf("the held-out results changed: %+v, %v", held, err)
	}
	card, _ := os.ReadFile(filepath.Join(model, "README.md"))
	for _, want := range []string{"Held-out figures from `eval/results.json` (3 examples", "### Other projects",
		"`eval/other/results.json`: 4 findings", "chosen from 5", "| tool | examples |", "| kics | 2 |",
		"name: vulntune held-out valid", "name: vulntune other projects (other)", "## Use"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(string(card), "stale") {
		t.Error("the card shows a set whose results it cannot read")
	}
	if strings.Count(string(card), "## Evaluation") != 1 {
		t.Errorf("card has %d Evaluation sections", strings.Count(string(card), "## Evaluation"))
	}
	var table strings.Builder
	if err := evaluate.WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"on 4 Other projects (other) examples", "\ntool ", "\nkics  "} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	// Rescoring the set rewrites eval/other/ from its own dataset.
	rs, err := evaluate.RescoreSet(model, "other", setDir, r.Date)
	if err != nil || rs.Tuned.N != 4 || rs.Set != "other" {
		t.Fatalf("rescore set: %+v, %v", rs, err)
	}
	if _, err := evaluate.RescoreSet(model, "../x", setDir, r.Date); err == nil {
		t.Error("a set name outside eval/ was accepted")
	}
}
