package evaluate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Rescore scores a model's stored answers (eval/generations.jsonl) again
// with this version's fact and grounding checks, and rewrites results.json
// and the model card: a change to scoring needs no new generations, which
// take minutes per model on a CPU. datasetDir must hold the split exactly
// as evaluated (its SHA-256 is checked).
func Rescore(modelDir, datasetDir string, now time.Time) (*Results, error) {
	return RescoreSet(modelDir, "", datasetDir, now)
}

// RescoreSet is Rescore for evaluation set set (eval/<set>/; "" is the
// held-out split), datasetDir the set's dataset as evaluated.
func RescoreSet(modelDir, set, datasetDir string, now time.Time) (*Results, error) {
	if set != "" {
		if err := CheckSetName(set); err != nil {
			return nil, err
		}
	}
	r, err := ReadSetResults(modelDir, set)
	if err != nil {
		return nil, err
	}
	all, sum, err := loadSplit(datasetDir, r.Dataset.Split)
	if err != nil {
		return nil, err
	}
	if sum != r.Dataset.SplitSHA256 {
		return nil, fmt.Errorf("%s: the %s split differs from the one %s was evaluated on (sha256 %.12s, evaluated %.12s); run `vulntune evaluate` without --rescore",
			datasetDir, r.Dataset.Split, r.Model, sum, r.Dataset.SplitSHA256)
	}
	path := filepath.Join(evalDir(modelDir, set), GenerationsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read eval generations: %w", err)
	}
	defer f.Close()
	var base, tuned, grounded []Generation
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var g Generation
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if g.Index < 0 || g.Index >= len(all) {
			return nil, fmt.Errorf("%s:%d: index %d outside the split's %d rows", path, line, g.Index, len(all))
		}
		g.score(all[g.Index])
		// Answers stored before results were split by tool lack the tools.
		g.Tools = all[g.Index].Meta.Tools
		if g.Loss != nil {
			g.nll = *g.Loss * float64(g.LossTokens)
		}
		switch {
		case g.Decoding == DecodingGrounded && (g.Model == "base" || g.Model == "tuned"):
			grounded = append(grounded, g)
		case g.Decoding != "":
			return nil, fmt.Errorf("%s:%d: decoding %q, want %q or none", path, line, g.Decoding, DecodingGrounded)
		case g.Model == "base":
			base = append(base, g)
		case g.Model == "tuned":
			tuned = append(tuned, g)
		default:
			return nil, fmt.Errorf("%s:%d: model %q, want base or tuned", path, line, g.Model)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(base) != r.Dataset.Evaluated || len(tuned) != r.Dataset.Evaluated {
		return nil, fmt.Errorf("%s: %d base and %d tuned answers, results.json says %d were evaluated", path, len(base), len(tuned), r.Dataset.Evaluated)
	}
	r.summarize(base, tuned)
	gens := append(slices.Clone(base), tuned...)
	if r.Grounded != nil {
		// Grounded answers are the free ones but where regenerated.
		baseG, tunedG := slices.Clone(base), slices.Clone(tuned)
		for _, g := range grounded {
			free := baseG
			if g.Model == "tuned" {
				free = tunedG
			}
			i := slices.IndexFunc(free, func(f Generation) bool { return f.Index == g.Index })
			if i < 0 {
				return nil, fmt.Errorf("%s: a grounded %s answer to example %d, which has no free answer", path, g.Model, g.Index)
			}
			free[i] = g
		}
		r.summarizeGrounded(baseG, tunedG)
		gens = append(gens, grounded...)
	}
	at := now.UTC()
	r.Rescored = &at
	if err := write(evalDir(modelDir, set), r, gens); err != nil {
		return nil, err
	}
	if err := UpdateCard(modelDir, r); err != nil {
		return nil, err
	}
	return r, nil
}
