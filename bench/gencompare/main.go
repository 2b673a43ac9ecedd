// Command gencompare says whether two evaluations of the same split gave
// the same answers: every generations.jsonl row (model, decoding, index)
// compared whole, text, scores and grounding report alike, and
// results.json compared with its durations and date left out. It is how
// a change meant to leave answers alone (a cache key, observing after
// decoding instead of during it) is shown to: it prints each row and
// result field that differs and exits 1 when any does.
//
//	go run ./bench/gencompare A/eval[/SET] B/eval[/SET]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gencompare EVAL_DIR_A EVAL_DIR_B")
		os.Exit(2)
	}
	a, b := os.Args[1], os.Args[2]
	diffs, err := compare(a, b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencompare:", err)
		os.Exit(2)
	}
	for _, d := range diffs {
		fmt.Println(d)
	}
	if len(diffs) > 0 {
		fmt.Printf("%d differences\n", len(diffs))
		os.Exit(1)
	}
	fmt.Println("the same answers and results (durations and date aside)")
}

// compare lists what differs between evaluation directories a and b.
func compare(a, b string) ([]string, error) {
	ra, err := readResults(a)
	if err != nil {
		return nil, err
	}
	rb, err := readResults(b)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(union(ra, rb))) {
		if !reflect.DeepEqual(ra[k], rb[k]) {
			diffs = append(diffs, fmt.Sprintf("results.json %s: %s ≠ %s", k, short(ra[k]), short(rb[k])))
		}
	}
	ga, err := readGenerations(a)
	if err != nil {
		return nil, err
	}
	gb, err := readGenerations(b)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(union(ga, gb))) {
		switch x, y := ga[k], gb[k]; {
		case x == nil:
			diffs = append(diffs, fmt.Sprintf("generation %s: only in %s", k, b))
		case y == nil:
			diffs = append(diffs, fmt.Sprintf("generation %s: only in %s", k, a))
		default:
			for _, f := range slices.Sorted(maps.Keys(union(x, y))) {
				if !reflect.DeepEqual(x[f], y[f]) {
					diffs = append(diffs, fmt.Sprintf("generation %s %s: %s ≠ %s", k, f, short(x[f]), short(y[f])))
				}
			}
		}
	}
	return diffs, nil
}

// readResults is dir's results.json without what differs between two
// runs of the same evaluation: its durations and date.
func readResults(dir string) (map[string]any, error) {
	path := filepath.Join(dir, "results.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: want evaluation results: %v", path, err)
	}
	delete(r, "durations")
	delete(r, "date")
	return r, nil
}

// readGenerations is dir's generations.jsonl keyed "model/decoding/#index"
// ("tuned/free/#3").
func readGenerations(dir string) (map[string]map[string]any, error) {
	path := filepath.Join(dir, "generations.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: want a generations row: %v", path, line, err)
		}
		dec, _ := r["decoding"].(string)
		if dec == "" {
			dec = "free"
		}
		k := fmt.Sprintf("%v/%s/#%v", r["model"], dec, r["index"])
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s:%d: a second row for %s", path, line, k)
		}
		out[k] = r
	}
	return out, sc.Err()
}

func union[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// short is v as JSON, cut to a line.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 100 {
		return string(b[:100]) + "…"
	}
	return string(b)
}
