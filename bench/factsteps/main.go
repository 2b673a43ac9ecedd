// Command factsteps reads an evaluation's answers beside the dataset they
// answered and counts, per decoding (free, grounded), the fix steps that
// state a fact (remedy.FactSteps: "Address the underlying weakness …",
// "Follow the rule's documented fix …", the opening in any case) and how
// many of them are the finding's own, the reference answer's line word
// for word (list marker and blanks aside), as grounded decoding holds them
// (evaluate.AnswerPin's Steps). It also counts the answers whose last
// line is asterisks alone (a heading begun and never given). No score
// reads either: a step names a weakness in words, and a stray "*" no
// identifier. With -v it prints each step that is not the finding's.
//
//	go run ./bench/factsteps -eval MODEL/eval[/SET] [-dataset DIR] [-label tuned] [-v]
//
// The dataset defaults to the evaluation's own copy (MODEL/eval/SET/dataset,
// where `vulntune evaluate --artifacts-dir` keeps it); the held-out split's
// is the run's (RUN/dataset). The split and its SHA-256 come from the
// evaluation's results.json, and a dataset whose split differs is refused.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/remedy"
)

type row struct {
	Model    string `json:"model"`
	Index    int    `json:"index"`
	Kind     string `json:"kind"`
	Decoding string `json:"decoding"` // "" (free) or "grounded"
	Text     string `json:"text"`
}

// tally is one decoding's counts: answers, lone-asterisk endings, and per
// fact-step opening the lines that open so and those of them the
// finding's own.
type tally struct {
	n, lone    int
	lines, own map[string]int
}

func main() {
	dir := flag.String("eval", "", "evaluation directory holding generations.jsonl and results.json (MODEL/eval or MODEL/eval/SET)")
	data := flag.String("dataset", "", "dataset directory the evaluation read (default: the evaluation's dataset/)")
	label := flag.String("label", "tuned", "model label of the rows to read (tuned or base)")
	verbose := flag.Bool("v", false, "print each fact step that is not the finding's own")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "factsteps: -eval DIR is required")
		os.Exit(2)
	}
	if *data == "" {
		*data = filepath.Join(*dir, "dataset")
	}
	if err := run(*dir, *data, *label, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "factsteps:", err)
		os.Exit(1)
	}
}

func run(dir, data, label string, verbose bool) error {
	split, sum, err := evaluatedSplit(dir)
	if err != nil {
		return err
	}
	exs, got, err := dataset.ReadSplit(data, split, true)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w (the held-out split's dataset is the run's: -dataset RUN/dataset)", err)
	}
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("%s: split %s has SHA-256 %s, the evaluation read %s: not the dataset it answered", data, split, got, sum)
	}
	path := filepath.Join(dir, "generations.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The evaluation keeps a grounded row only for an answer grounded
	// decoding changed; the others are the free answer token for token.
	free, grounded := map[int]row{}, map[int]row{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s:%d: want a generations row: %v", path, line, err)
		}
		if r.Model != label {
			continue
		}
		if r.Index < 0 || r.Index >= len(exs) {
			return fmt.Errorf("%s:%d: answer of example %d, the split has %d", path, line, r.Index, len(exs))
		}
		switch r.Decoding {
		case "", "free":
			free[r.Index] = r
		case "grounded":
			grounded[r.Index] = r
		default:
			return fmt.Errorf("%s:%d: decoding %q: want free or grounded", path, line, r.Decoding)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	counts := map[string]*tally{"free": count(free, exs, "free", verbose)}
	if len(grounded) > 0 {
		for i, r := range free {
			if _, ok := grounded[i]; !ok {
				grounded[i] = r
			}
		}
		counts["grounded"] = count(grounded, exs, "grounded", verbose)
	}
	for _, d := range slices.Sorted(maps.Keys(counts)) {
		t := counts[d]
		fmt.Printf("%-8s %d answers:", d, t.n)
		for _, o := range remedy.FactSteps {
			fmt.Printf(" %q steps %d (the finding's own %d);", o+" …", t.lines[o], t.own[o])
		}
		fmt.Printf(" ending on asterisks alone %d\n", t.lone)
	}
	return nil
}

// count tallies answers, by example index, against their examples.
func count(answers map[int]row, exs []dataset.Example, dec string, verbose bool) *tally {
	t := &tally{lines: map[string]int{}, own: map[string]int{}}
	for _, i := range slices.Sorted(maps.Keys(answers)) {
		r := answers[i]
		t.n++
		if loneAsterisks(r.Text) {
			t.lone++
		}
		e := exs[i]
		var own map[string][]string
		if pin := evaluate.AnswerPin(e.Meta.Facts, e.Meta.Kind, chat.Answer(e.Messages)); pin != nil {
			own = pin.Steps
		}
		for _, l := range strings.Split(r.Text, "\n") {
			step := evaluate.StepText(l)
			for _, o := range remedy.FactSteps {
				if len(step) < len(o) || !strings.EqualFold(step[:len(o)], o) {
					continue
				}
				t.lines[o]++
				if slices.Contains(own[o], step) {
					t.own[o]++
				} else if verbose {
					fmt.Printf("%s #%d %s: %q\n", dec, i, r.Kind, step)
				}
			}
		}
	}
	return t
}

// evaluatedSplit is the split and SHA-256 an evaluation's results.json
// records.
func evaluatedSplit(dir string) (split, sum string, err error) {
	path := filepath.Join(dir, "results.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var r struct {
		Dataset struct {
			Split  string `json:"split"`
			SHA256 string `json:"split_sha256"`
		} `json:"dataset"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", "", fmt.Errorf("%s: want evaluation results: %v", path, err)
	}
	if r.Dataset.Split == "" || r.Dataset.SHA256 == "" {
		return "", "", fmt.Errorf("%s: dataset.split and dataset.split_sha256: want both, got %q and %q", path, r.Dataset.Split, r.Dataset.SHA256)
	}
	return r.Dataset.Split, r.Dataset.SHA256, nil
}

// loneAsterisks reports whether text's last non-blank line is asterisks
// alone.
func loneAsterisks(text string) bool {
	t := strings.TrimSpace(text)
	last := t[strings.LastIndex(t, "\n")+1:]
	last = strings.TrimSpace(last)
	return last != "" && strings.Trim(last, "*") == ""
}
