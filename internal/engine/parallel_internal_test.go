package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHostWorkers(t *testing.T) {
	tests := []struct {
		env     string
		want    int
		problem bool
	}{
		{"", 0, false},
		{"auto", 0, false},
		{" 3 ", 3, false},
		{"1", 1, false},
		{"0", 0, true},
		{"two", 0, true},
		{"-2", 0, true},
	}
	for _, tt := range tests {
		got, problem := hostWorkers(func(string) string { return tt.env })
		if got != tt.want || (problem != "") != tt.problem {
			t.Errorf("%s=%q: %d, problem %q; want %d, problem %v", WorkersEnv, tt.env, got, problem, tt.want, tt.problem)
		}
		if problem != "" && !strings.Contains(problem, WorkersEnv) {
			t.Errorf("problem %q does not name %s", problem, WorkersEnv)
		}
	}
}

func TestWorkers(t *testing.T) {
	cpus := runtime.NumCPU()
	tests := []struct {
		name     string
		e        Engine
		n        int
		want     int
		wantBLAS string
	}{
		{"one example", Engine{Workers: 4}, 1, 1, ""},
		{"set to one", Engine{Workers: 1}, 10, 1, ""},
		{"never more than examples", Engine{Workers: 4}, 3, 3, fmt.Sprint(max(1, cpus/3))},
		{"set", Engine{Workers: 2}, 10, 2, fmt.Sprint(max(1, cpus/2))},
		{"a GPU answers in one", Engine{Backend: BackendMetal}, 10, 1, ""},
		{"CUDA too", Engine{Backend: BackendCUDA}, 10, 1, ""},
	}
	if runtime.GOOS == "linux" && cpus >= 2 {
		tests = append(tests, struct {
			name     string
			e        Engine
			n        int
			want     int
			wantBLAS string
		}{"auto on a Linux CPU", Engine{Backend: BackendCPU}, 10, workersAuto, fmt.Sprint(cpus / workersAuto)})
	}
	for _, tt := range tests {
		got, threads := tt.e.workers(tt.n, "")
		if got != tt.want || threads != tt.wantBLAS {
			t.Errorf("%s: %d workers, %q threads; want %d, %q", tt.name, got, threads, tt.want, tt.wantBLAS)
		}
	}
}

func raws(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = json.RawMessage(s)
	}
	return out
}

func TestShards(t *testing.T) {
	tests := []struct {
		name     string
		examples []json.RawMessage
		w        int
		want     [][]int
	}{
		{"even", raws(`"aaaa"`, `"bb"`, `"cccc"`, `"dd"`), 2, [][]int{{0, 1}, {2, 3}}},
		// The two identical rows are one prompt, answered once: one worker.
		{"identical rows together", raws(`"x"`, `"long one"`, `"x"`, `"y"`), 2, [][]int{{1}, {0, 2, 3}}},
		{"fewer groups than workers", raws(`"x"`, `"x"`), 3, [][]int{{0, 1}}},
		{"one worker", raws(`"a"`, `"b"`), 1, [][]int{{0, 1}}},
	}
	for _, tt := range tests {
		got := shards(tt.examples, tt.w)
		if !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		var all []int
		for _, s := range got {
			all = append(all, s...)
		}
		slices.Sort(all)
		for i, x := range all {
			if x != i {
				t.Errorf("%s: shards %v do not hold every example once", tt.name, got)
				break
			}
		}
	}
}

func TestSubsetKeepsGrounds(t *testing.T) {
	req := EvaluateRequest{Model: "m", Examples: raws(`0`, `1`, `2`), MaxTokens: 8, BatchSize: 2,
		Decoding: Decoding{Grounds: []string{"g0", "g1", "g2"}, Grounding: GroundingEnforce}, Prefixes: [][]int{{}, {1}, {2, 2}}}
	got := req.subset([]int{2, 0})
	if string(got.Examples[0]) != "2" || string(got.Examples[1]) != "0" || !slices.Equal(got.Grounds, []string{"g2", "g0"}) ||
		len(got.Prefixes) != 2 || !slices.Equal(got.Prefixes[0], []int{2, 2}) || len(got.Prefixes[1]) != 0 ||
		got.Model != "m" || got.Grounding != GroundingEnforce || got.MaxTokens != 8 {
		t.Errorf("subset: %+v", got)
	}
	if len(req.Examples) != 3 || string(req.Examples[0]) != "0" {
		t.Errorf("subset changed the request: %+v", req)
	}
	a := AnswerRequest{Examples: raws(`0`, `1`)}.subset([]int{1})
	if len(a.Examples) != 1 || a.Grounds != nil {
		t.Errorf("answer subset: %+v", a)
	}
}

func TestMergeEvaluate(t *testing.T) {
	l1, l2 := 1.0, 2.0
	got := mergeEvaluate([]*EvaluateSummary{
		{Loss: &l1, LossTokens: 100, Items: 3, GenerationTokens: 30, ResumedTokens: 7, ScoreSeconds: 4, GenerateSeconds: 10, SharedPrefill: 3, CPUKernels: "vulntune"},
		{Loss: &l2, LossTokens: 300, Items: 2, GenerationTokens: 20, ScoreSeconds: 5, GenerateSeconds: 8, SharedPrefill: 2, CPUKernels: "vulntune"},
	})
	if got.Loss == nil || math.Abs(*got.Loss-1.75) > 1e-12 || math.Abs(*got.Perplexity-math.Exp(1.75)) > 1e-9 {
		t.Errorf("loss %v, perplexity %v; want the token-weighted 1.75", got.Loss, got.Perplexity)
	}
	if got.LossTokens != 400 || got.Items != 5 || got.GenerationTokens != 50 || got.ResumedTokens != 7 || got.SharedPrefill != 5 ||
		got.ScoreSeconds != 5 || got.GenerateSeconds != 10 || got.CPUKernels != "vulntune" {
		t.Errorf("merged %+v", got)
	}
	if none := mergeEvaluate([]*EvaluateSummary{{Items: 1}, {Items: 1}}); none.Loss != nil || none.Perplexity != nil {
		t.Errorf("no scored token: loss %v", none.Loss)
	}
	a := mergeAnswer([]*AnswerSummary{
		{Items: 3, UniquePrompts: 2, SharedPrefixTokens: 85, PromptTokens: 500, GenerationTokens: 40, LoadSeconds: 1, GenerateSeconds: 9},
		{Items: 2, UniquePrompts: 2, SharedPrefixTokens: 85, PromptTokens: 400, GenerationTokens: 10, LoadSeconds: 2, GenerateSeconds: 7, Repetitions: 1},
	})
	if a.Items != 5 || a.UniquePrompts != 4 || a.SharedPrefixTokens != 85 || a.PromptTokens != 900 || a.GenerationTokens != 50 ||
		a.LoadSeconds != 2 || a.GenerateSeconds != 9 || a.Repetitions != 1 {
		t.Errorf("merged answer summary %+v", a)
	}
}

// event makes a worker's event line as decodeEvents would pass it on.
func event(kind string, fields map[string]any) Event {
	fields["event"] = kind
	raw, _ := json.Marshal(fields)
	return Event{Event: kind, Raw: raw}
}

func TestRunShards(t *testing.T) {
	parts := [][]int{{0, 2}, {1, 3, 4}}
	type sum struct{ n int }
	var items []EvaluateItem
	var progress []string
	sums, err := runShards(context.Background(), "answer", parts, func(idx []int) []int { return idx },
		func(_ context.Context, i int, idx []int, h func(Event)) (*sum, error) {
			for local := range idx {
				h(event("item", map[string]any{"index": local, "text": fmt.Sprintf("w%d", i)}))
				h(event("progress", map[string]any{"stage": "answer", "done": local + 1, "total": len(idx)}))
			}
			return &sum{len(idx)}, nil
		},
		func(it EvaluateItem) { items = append(items, it) },
		func(ev Event) {
			var f struct{ Done, Total int }
			_ = json.Unmarshal(ev.Raw, &f)
			progress = append(progress, fmt.Sprintf("%d/%d", f.Done, f.Total))
		})
	if err != nil {
		t.Fatal(err)
	}
	if sums[0].n != 2 || sums[1].n != 3 {
		t.Errorf("summaries %+v %+v", sums[0], sums[1])
	}
	got := map[int]string{}
	for _, it := range items {
		got[it.Index] = it.Text
	}
	want := map[int]string{0: "w0", 2: "w0", 1: "w1", 3: "w1", 4: "w1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("items by index %v, want %v", got, want)
	}
	if last := progress[len(progress)-1]; last != "5/5" {
		t.Errorf("last progress %s (all %v), want 5/5", last, progress)
	}
	for _, p := range progress {
		var d, n int
		fmt.Sscanf(p, "%d/%d", &d, &n)
		if d > n || n > 5 {
			t.Errorf("progress %s: counts of the workers not summed", p)
		}
	}
}

func TestRunShardsFirstErrorCancelsTheRest(t *testing.T) {
	boom := errors.New("worker 1 crashed")
	var cancelled atomic.Bool
	_, err := runShards(context.Background(), "evaluate", [][]int{{0}, {1}}, func(idx []int) []int { return idx },
		func(ctx context.Context, i int, _ []int, _ func(Event)) (*int, error) {
			if i == 0 {
				return nil, boom
			}
			<-ctx.Done()
			cancelled.Store(true)
			return nil, ctx.Err()
		}, nil, nil)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the failing worker's", err)
	}
	if !cancelled.Load() {
		t.Error("the other worker was not cancelled")
	}
}

func TestRunShardsBadItem(t *testing.T) {
	for _, raw := range []string{`{"index":7}`, `{"index":"x"}`, `not json`} {
		_, err := runShards(context.Background(), "answer", [][]int{{0}, {1}}, func(idx []int) []int { return idx },
			func(_ context.Context, i int, _ []int, h func(Event)) (*int, error) {
				if i == 1 {
					h(Event{Event: "item", Raw: json.RawMessage(raw)})
				}
				return new(int), nil
			}, func(EvaluateItem) {}, nil)
		var ee *EngineError
		if !errors.As(err, &ee) || ee.Op != "answer" {
			t.Errorf("item %s: error %v, want an answer EngineError", raw, err)
		}
	}
}

func TestMemoryForWorkers(t *testing.T) {
	const gb = int64(1) << 30
	tests := []struct {
		name               string
		w                  int
		weights, available int64
		want               bool
	}{
		{"SmolLM2 on 18 GB", 2, 540 << 20, 18 * gb, true},
		{"OLMo-2-1B float32 on 18 GB", 2, 6 * gb, 18 * gb, false},
		{"OLMo-2-1B float32 on 60 GB", 2, 6 * gb, 60 * gb, true},
		{"unknown memory", 2, 6 * gb, -1, true},
	}
	for _, tt := range tests {
		if got := memoryForWorkers(tt.w, tt.weights, tt.available); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	meminfo := "MemTotal:       24683836 kB\nMemFree:        17751212 kB\nMemAvailable:   19391000 kB\n"
	if got := parseMemAvailable(meminfo); got != 19391000<<10 {
		t.Errorf("MemAvailable %d", got)
	}
	for _, bad := range []string{"", "MemAvailable: lots kB\n"} {
		if got := parseMemAvailable(bad); got != -1 {
			t.Errorf("meminfo %q: %d, want -1", bad, got)
		}
	}
	dir := t.TempDir()
	for name, size := range map[string]int{"model.safetensors": 100, "model-2.safetensors": 50, "config.json": 7} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := weightBytes(dir); got != 150 {
		t.Errorf("weights %d bytes, want 150", got)
	}
	if weightBytes("") != 0 {
		t.Error("no model dir: want 0")
	}
}
