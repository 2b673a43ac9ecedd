package evaluate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/ident"
)

// fakeEngine answers from a table keyed by model dir, in reverse order to
// prove results do not depend on completion order. It stands in for the
// Python engine so the plumbing is tested without mlx. Its tokens are
// words. Observing grounded decoding, it reports an intervention at the
// first word that names an identifier the ground lacks, and the words
// before it as prefix ids (fakePrefix), when asked to observe the answers
// it gave (Observe); enforcing it, it answers groundedAnswer.
type fakeEngine struct {
	answers map[string][]string
	nll     map[string]float64 // per token
	// finish holds finish reasons by model ("stop" where absent).
	finish map[string][]string
	// refStops: where the repetition stop ends each reference answer
	// (-1, never, where absent).
	refStops []int
	// requests, if set, records each model's evaluate request; grounded,
	// if set, its grounded regeneration's; observed, if set, its observe
	// request.
	requests, grounded map[string]engine.EvaluateRequest
	observed           map[string]engine.ObserveRequest
	// prefixExtra lengthens every prefix it reports past the first
	// intervention (a broken engine).
	prefixExtra int
	// bans holds, by model, how often a loop guard masked each answer's
	// top token (0 where absent); reported only when the request has one.
	bans map[string][]int
	// sectionBans is bans for the guard's section rule.
	sectionBans map[string][]int
	// lineBans is bans for the guard's line rule.
	lineBans map[string][]int
	// wordBans is bans for the guard's word rule.
	wordBans map[string][]int
	// itemBans is bans for the guard's item rule.
	itemBans map[string][]int
}

// fakePrefix is the fake engine's prefix ids for the first k words of
// example i's answer.
func fakePrefix(i, k int) []int {
	var ids []int
	for w := range k {
		ids = append(ids, 100*i+w)
	}
	return ids
}

// firstUngrounded is the index of the first word of text whose text up to
// it names an identifier ground lacks, or -1.
func firstUngrounded(text, ground string) int {
	words := strings.Fields(text)
	for k := range words {
		s := strings.Join(words[:k+1], " ")
		if len(ident.UngroundedIdents(s, ground))+len(ident.UngroundedURLs(s, ground)) > 0 {
			return k
		}
	}
	return -1
}

const groundedAnswer = "An answer that names nothing."

func (f fakeEngine) Evaluate(_ context.Context, req engine.EvaluateRequest, onItem func(engine.EvaluateItem), _ func(engine.Event)) (*engine.EvaluateSummary, error) {
	if f.grounded != nil && req.Grounding == engine.GroundingEnforce {
		f.grounded[req.Model] = req
	} else if f.requests != nil {
		f.requests[req.Model] = req
	}
	ans := f.answers[req.Model]
	for i := len(req.Examples) - 1; i >= 0; i-- {
		reason := "stop"
		if fin := f.finish[req.Model]; i < len(fin) {
			reason = fin[i]
		}
		it := engine.EvaluateItem{Index: i, Text: ans[i], FinishReason: reason, NLL: f.nll[req.Model] * 100, LossTokens: 100}
		if req.SkipScoring {
			it.NLL, it.LossTokens = 0, 0
		}
		if req.LoopGuard != nil {
			it.LoopGuard = &engine.LoopGuardStats{}
			if b := f.bans[req.Model]; i < len(b) && b[i] > 0 {
				it.LoopGuard.Bans, it.LoopGuard.FirstBan = b[i], new(int)
			}
			if b := f.sectionBans[req.Model]; i < len(b) && b[i] > 0 {
				it.LoopGuard.SectionBans, it.LoopGuard.FirstBan = b[i], new(int)
			}
			if b := f.lineBans[req.Model]; i < len(b) && b[i] > 0 {
				it.LoopGuard.LineBans, it.LoopGuard.FirstBan = b[i], new(int)
			}
			if b := f.wordBans[req.Model]; i < len(b) && b[i] > 0 {
				it.LoopGuard.WordBans, it.LoopGuard.FirstBan = b[i], new(int)
			}
			if b := f.itemBans[req.Model]; i < len(b) && b[i] > 0 {
				it.LoopGuard.ItemBans, it.LoopGuard.FirstBan = b[i], new(int)
			}
		}
		if req.ReturnIDs {
			it.GenerationTokens = len(strings.Fields(it.Text))
			it.IDs = fakePrefix(i, it.GenerationTokens)
		}
		switch req.Grounding {
		case engine.GroundingObserve:
			return nil, fmt.Errorf("evaluation observed while decoding: free answers are replayed (Observe)")
		case engine.GroundingEnforce:
			if !req.SkipScoring {
				return nil, fmt.Errorf("grounded regeneration scored the examples again")
			}
			it.Text = groundedAnswer
			it.Grounding = &engine.GroundingStats{Steps: 6, Interventions: 2, FirstIntervention: new(int)}
		}
		onItem(it)
	}
	return &engine.EvaluateSummary{GenerateSeconds: 2, RepeatCheckSeconds: 0.01}, nil
}

// Observe reports, as observing would, the first word of each answer that
// names an identifier its ground lacks, and the words before it as
// prefix ids (fakePrefix); answers are known by their model and index.
func (f fakeEngine) Observe(_ context.Context, req engine.ObserveRequest, _ func(engine.Event)) ([]engine.Observation, error) {
	if f.observed != nil {
		f.observed[req.Model] = req
	}
	ans := f.answers[req.Model]
	var out []engine.Observation
	for i, a := range req.Answers {
		if len(a.IDs) != len(strings.Fields(ans[i])) {
			return nil, fmt.Errorf("answer %d: %d ids for %q", i, len(a.IDs), ans[i])
		}
		o := engine.Observation{Index: i, Grounding: &engine.GroundingStats{Steps: 10}}
		if k := firstUngrounded(ans[i], req.Grounds[i]); k >= 0 {
			o.Grounding.Interventions, o.Grounding.FirstIntervention = 1, &k
			o.PrefixIDs = fakePrefix(i, k+f.prefixExtra)
		}
		out = append(out, o)
	}
	return out, nil
}

// References counts words as tokens.
func (f fakeEngine) References(_ context.Context, req engine.ReferencesRequest) (*engine.References, error) {
	out := &engine.References{}
	for i, t := range req.Texts {
		out.Tokens = append(out.Tokens, len(strings.Fields(t)))
		stop := -1
		if i < len(f.refStops) {
			stop = f.refStops[i]
		}
		out.Stops = append(out.Stops, stop)
	}
	return out, nil
}

func TestRunWritesResults(t *testing.T) {
	t.Parallel()
	model, base := t.TempDir(), t.TempDir()
	card := "---\nlicense: apache-2.0\nmodel-index: old\n---\n# My model\n"
	if err := os.WriteFile(filepath.Join(model, "README.md"), []byte(card), 0o644); err != nil {
		t.Fatal(err)
	}
	eng := fakeEngine{
		answers: map[string][]string{
			// testdata rows: dependency (guava 32.0.0-android), code (CWE-285,
			// RegistrationRoutes.kt), web (CWE-693, http://localhost:8080).
			base: {"Upgrade something.", "A problem, see CVE-1999-0001.", "Set headers."},
			model: {"Upgrade com.google.guava:guava to 32.0.0-android in webauthn-server/gradle.lockfile (CWE-200).",
				"CWE-285 in RegistrationRoutes.kt.", "CWE-693 at http://localhost:8080 — also 9.9.9"},
		},
		nll: map[string]float64{base: 2.0, model: 1.0},
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r, err := evaluate.Run(context.Background(), evaluate.Options{
		ModelDir: model, BaseModelDir: base, BaseModelName: "Base-1", DatasetDir: filepath.Join("testdata", "dataset"),
		MaxTokens: 16, Engine: eng, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]*float64{
		"loss":                   {r.Base.Loss, r.Tuned.Loss},
		"fixed_version_accuracy": {r.Base.FixedVersionAccuracy, r.Tuned.FixedVersionAccuracy},
		"cwe_accuracy":           {r.Base.CWEAccuracy, r.Tuned.CWEAccuracy},
		"location_accuracy":      {r.Base.LocationAccuracy, r.Tuned.LocationAccuracy},
		"hallucination_rate":     {r.Base.HallucinationRate, r.Tuned.HallucinationRate},
	}
	exp := map[string][2]float64{
		"loss": {2, 1}, "fixed_version_accuracy": {0, 1}, "cwe_accuracy": {0, 1},
		"location_accuracy": {0, 1}, "hallucination_rate": {1.0 / 3, 1.0 / 3},
	}
	for k, v := range want {
		for i, name := range []string{"base", "tuned"} {
			if v[i] == nil || math.Abs(*v[i]-exp[k][i]) > 1e-9 {
				t.Errorf("%s %s = %v, want %v", name, k, v[i], exp[k][i])
			}
		}
	}
	if r.Tuned.FixedVersionN != 1 || r.Tuned.CWEN != 3 || r.Tuned.LocationN != 3 {
		t.Errorf("eligible counts = %d/%d/%d, want 1/3/3", r.Tuned.FixedVersionN, r.Tuned.CWEN, r.Tuned.LocationN)
	}
	if p := r.ByKind["code"]; p.Tuned.FixedVersionAccuracy != nil || p.Tuned.N != 1 {
		t.Errorf("code kind = %+v, want n 1 and null fixed_version_accuracy", p.Tuned)
	}
	if r.Dataset.Split != "valid" || r.Dataset.Evaluated != 3 || r.BaseModel != "Base-1" || !r.Date.Equal(now) {
		t.Errorf("metadata = %+v %s %s", r.Dataset, r.BaseModel, r.Date)
	}

	back, err := evaluate.ReadResults(model)
	if err != nil {
		t.Fatal(err)
	}
	if *back.Tuned.Loss != *r.Tuned.Loss || back.ByKind["web"].Base.N != 1 {
		t.Errorf("results.json does not round-trip: %+v", back.Tuned)
	}
	raw, _ := os.ReadFile(filepath.Join(model, "eval", "results.json"))
	if !bytes.Contains(raw, []byte(`"fixed_version_accuracy": null`)) || !bytes.Contains(raw, []byte(`"snippet_accuracy": null`)) {
		t.Error("results.json: a metric without eligible examples must be null")
	}
	if r.Tuned.EndedShare == nil || *r.Tuned.EndedShare != 1 || !bytes.Contains(raw, []byte(`"ended_share": 1`)) {
		t.Errorf("tuned ended share = %v, want 1 in results.json", r.Tuned.EndedShare)
	}
	if r.Base.UngroundedByKind["vulnerability id"] != 1 || r.Tuned.UngroundedByKind["version"] != 1 || r.Tuned.UngroundedByKind["URL"] != 0 {
		t.Errorf("ungrounded by kind: base %v, tuned %v", r.Base.UngroundedByKind, r.Tuned.UngroundedByKind)
	}
	// Grounded decoding answered again the base's code answer (CVE-1999-0001)
	// and the tuned web answer (9.9.9); the others stand as they were.
	g := r.Grounded
	if g == nil || g.BaseRegenerated != 1 || g.TunedRegenerated != 1 || g.Interventions != 4 {
		t.Fatalf("grounded = %+v, want 1 base and 1 tuned answer regenerated, 4 interventions", g)
	}
	// The loss is the weights': the same under either decoding, though
	// the regeneration scored nothing.
	if g.Tuned.Loss == nil || *g.Tuned.Loss != *r.Tuned.Loss || g.Base.Loss == nil || *g.Base.Loss != *r.Base.Loss {
		t.Errorf("grounded loss base %v, tuned %v; free %v, %v", g.Base.Loss, g.Tuned.Loss, *r.Base.Loss, *r.Tuned.Loss)
	}
	if *g.Base.HallucinationRate != 0 || *g.Tuned.HallucinationRate != 0 || *g.Tuned.CWEAccuracy != 2.0/3 || *g.Tuned.LocationAccuracy != 2.0/3 {
		t.Errorf("grounded tuned = %+v, base %+v: want no hallucination, CWE and location 2/3 (the web answer lost them)", g.Tuned, g.Base)
	}
	gens := readGenerations(t, filepath.Join(model, "eval", "generations.jsonl"))
	if len(gens) != 8 || gens[0].Model != "base" || gens[0].Index != 0 || gens[3].Decoding != "grounded" || gens[3].Index != 1 ||
		gens[6].Model != "tuned" || gens[6].Index != 2 || gens[7].Decoding != "grounded" || gens[7].Text != groundedAnswer {
		t.Fatalf("generations.jsonl order: %+v", gens)
	}
	if u := gens[1].Scores.Ungrounded; len(u) != 1 || u[0] != "CVE-1999-0001" {
		t.Errorf("base code answer ungrounded = %q, want CVE-1999-0001", u)
	}
	b, _ := os.ReadFile(filepath.Join(model, "README.md"))
	for _, s := range []string{"license: apache-2.0", "model-index:", "type: loss", "value: 1\n", "# My model"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("card lacks %q:\n%s", s, b)
		}
	}
	if strings.Contains(string(b), "model-index: old") {
		t.Error("card kept the old model-index")
	}
	var table bytes.Buffer
	if err := evaluate.WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "fixed_version_accuracy (n=1)  0.0000  1.0000  +1.0000") ||
		!strings.Contains(table.String(), "ended_share (n=3)") || !strings.Contains(table.String(), "ungrounded by kind") {
		t.Errorf("table:\n%s", table.String())
	}
}

func readGenerations(t *testing.T, path string) []evaluate.Generation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []evaluate.Generation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g evaluate.Generation
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

func TestRunRejectsBadInput(t *testing.T) {
	t.Parallel()
	eng := fakeEngine{}
	tests := []struct {
		name string
		opts evaluate.Options
		want string
	}{
		{"bad split", evaluate.Options{ModelDir: "m", BaseModelDir: "b", DatasetDir: "testdata/dataset", Split: "train", Engine: eng}, `split "train"`},
		{"no test split", evaluate.Options{ModelDir: "m", BaseModelDir: "b", DatasetDir: "testdata/dataset", Split: "test", Engine: eng}, "test.jsonl"},
		{"missing dataset", evaluate.Options{ModelDir: "m", BaseModelDir: "b", DatasetDir: "testdata/none", Engine: eng}, "valid.jsonl"},
		{"no engine", evaluate.Options{ModelDir: "m", BaseModelDir: "b", DatasetDir: "testdata/dataset"}, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := evaluate.Run(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSplitRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dir, split string
		wantRows         int
		wantErr          string
	}{
		{"default split", "testdata/dataset", "", 3, ""},
		{"valid", "testdata/dataset", "valid", 3, ""},
		{"no test split", "testdata/dataset", "test", 0, "test.jsonl"},
		{"bad split", "testdata/dataset", "train", 0, `split "train"`},
		{"missing dataset", "testdata/none", "", 0, "valid.jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, err := evaluate.SplitRows(tt.dir, tt.split)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tt.wantRows {
				t.Fatalf("%d rows, want %d", len(rows), tt.wantRows)
			}
			for i, r := range rows {
				var row struct {
					Messages []json.RawMessage `json:"messages"`
				}
				if err := json.Unmarshal(r, &row); err != nil || len(row.Messages) == 0 {
					t.Fatalf("row %d is not a chat row: %s (%v)", i, r, err)
				}
			}
		})
	}
}

// TestGroundedRegenerationResumes: grounded regeneration hands the engine
// each regenerated answer's prefix ids from the observing pass, in the
// order of its examples, so the engine decodes only from the first
// intervention on; an answer whose first word is the intervention has
// nothing to resume from, and a request with nothing to resume names no
// prefixes (the request, and the cache key, of an answer regenerated
// whole).
func TestGroundedRegenerationResumes(t *testing.T) {
	t.Parallel()
	// testdata rows: dependency (guava 32.0.0-android), code (CWE-285,
	// RegistrationRoutes.kt), web (CWE-693, http://localhost:8080); 9.9.9
	// is in no ground. The words before it are the prefix.
	web := "CWE-693 at http://localhost:8080 — also 9.9.9"
	tests := []struct {
		name        string
		answers     []string
		prefixExtra int
		want        [][]int // the regeneration's prefixes; nil: none named
		wantRegen   int     // answers regenerated, per model
		wantErr     string
	}{
		{"resumes after the words before the identifier", []string{"Upgrade something.", "Fine.", web}, 0,
			[][]int{{200, 201, 202, 203, 204}}, 1, ""},
		{"an identifier first is regenerated whole", []string{"9.9.9 is the fix.", "Fine.", web}, 0,
			[][]int{{}, {200, 201, 202, 203, 204}}, 2, ""},
		{"nothing to resume from", []string{"9.9.9 is the fix.", "Fine.", "Set headers."}, 0, nil, 1, ""},
		{"nothing to regenerate", []string{"Upgrade something.", "Fine.", "Set headers."}, 0, nil, 0, ""},
		{"a prefix past the first intervention", []string{"Upgrade something.", "Fine.", web}, 1, nil, 0,
			"resumes after 6 tokens, past its first intervention at 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			model, base := t.TempDir(), t.TempDir()
			eng := fakeEngine{
				answers:     map[string][]string{base: tt.answers, model: tt.answers},
				nll:         map[string]float64{base: 2, model: 1},
				requests:    map[string]engine.EvaluateRequest{},
				grounded:    map[string]engine.EvaluateRequest{},
				prefixExtra: tt.prefixExtra,
			}
			r, err := evaluate.Run(context.Background(), evaluate.Options{
				ModelDir: model, BaseModelDir: base, DatasetDir: filepath.Join("testdata", "dataset"), MaxTokens: 16, Engine: eng,
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Grounded == nil || r.Grounded.BaseRegenerated != tt.wantRegen || r.Grounded.TunedRegenerated != tt.wantRegen {
				t.Fatalf("grounded = %+v, want %d answers of each model regenerated", r.Grounded, tt.wantRegen)
			}
			for _, m := range []string{base, model} {
				req, ok := eng.grounded[m]
				if ok != (tt.wantRegen > 0) {
					t.Fatalf("%s: a grounded request %v, want one %v", filepath.Base(m), ok, tt.wantRegen > 0)
				}
				if !ok {
					continue
				}
				if !reflect.DeepEqual(req.Prefixes, tt.want) || len(req.Examples) != tt.wantRegen {
					t.Errorf("%s: prefixes %v for %d examples, want %v for %d", filepath.Base(m), req.Prefixes, len(req.Examples), tt.want, tt.wantRegen)
				}
				if !req.SkipScoring || req.Grounding != engine.GroundingEnforce {
					t.Errorf("%s: regeneration skips scoring %v, grounding %q", filepath.Base(m), req.SkipScoring, req.Grounding)
				}
			}
		})
	}
}
