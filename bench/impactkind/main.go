// Command impactkind reads an evaluation's answers and counts, per
// decoding (free, grounded), those whose "Why it matters" section gives
// their finding's kind's sentence (narrate.KindImpact) and those that
// give another kind's anywhere in the answer: a dependency called "the
// flagged code pattern … a classic way in", a code finding "insecure
// configuration". No score reads it (the sentences name no identifier).
// It also counts the answers that give the second half of another kind's
// sentence: forbidding a sentence's opening, grounded decoding got the
// same sentence with a word changed ("The flagged code is a classic way
// in …"). With -v it prints each answer that gives either.
//
//	go run ./bench/impactkind -eval MODEL/eval[/SET] [-label tuned] [-v]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/narrate"
)

// kinds are the finding kinds whose sentences it looks for.
var kinds = []finding.Kind{finding.KindDependency, finding.KindCode, finding.KindConfig, finding.KindSecret,
	finding.KindWeb, finding.KindLicense, finding.KindOther}

type row struct {
	Model    string       `json:"model"`
	Index    int          `json:"index"`
	Kind     finding.Kind `json:"kind"`
	Tools    []string     `json:"tools"`
	Decoding string       `json:"decoding"`
	Text     string       `json:"text"`
}

type tally struct{ n, own, other, half int }

func main() {
	dir := flag.String("eval", "", "evaluation directory holding generations.jsonl (MODEL/eval or MODEL/eval/SET)")
	label := flag.String("label", "tuned", "model label of the rows to read (tuned or base)")
	verbose := flag.Bool("v", false, "print each answer that gives another kind's sentence")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "impactkind: -eval DIR is required")
		os.Exit(2)
	}
	path := filepath.Join(*dir, "generations.jsonl")
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "impactkind:", err)
		os.Exit(1)
	}
	defer f.Close()
	counts := map[string]*tally{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintf(os.Stderr, "impactkind: %s:%d: want a generations row: %v\n", path, line, err)
			os.Exit(1)
		}
		if r.Model != *label {
			continue
		}
		dec := r.Decoding
		if dec == "" {
			dec = "free"
		}
		t := counts[dec]
		if t == nil {
			t = &tally{}
			counts[dec] = t
			order = append(order, dec)
		}
		t.n++
		low := strings.ToLower(r.Text)
		if s := narrate.KindImpact(r.Kind); s != "" && strings.Contains(strings.ToLower(whyItMatters(r.Text)), strings.ToLower(s)) {
			t.own++
		}
		var others, halves []finding.Kind
		for _, k := range kinds {
			s := strings.ToLower(narrate.KindImpact(k))
			if k == r.Kind || s == "" {
				continue
			}
			if strings.Contains(low, s) {
				others = append(others, k)
			}
			if strings.Contains(low, secondHalf(s)) {
				halves = append(halves, k)
			}
		}
		if len(others) > 0 {
			t.other++
		}
		if len(halves) > 0 {
			t.half++
		}
		if *verbose && len(halves) > 0 {
			fmt.Printf("%s #%d %s %v: the sentence of %v, its second half of %v\n", dec, r.Index, r.Kind, r.Tools, others, halves)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "impactkind:", err)
		os.Exit(1)
	}
	slices.Sort(order)
	for _, dec := range order {
		t := counts[dec]
		fmt.Printf("%-8s %d answers: their kind's sentence in Why it matters %d, another kind's sentence %d, its second half %d\n",
			dec, t.n, t.own, t.other, t.half)
	}
}

// secondHalf is sentence from its middle word on.
func secondHalf(sentence string) string {
	w := strings.Fields(sentence)
	return strings.Join(w[len(w)/2:], " ")
}

// whyItMatters is the answer's "Why it matters" section, up to the next
// heading ("" when it has none).
func whyItMatters(text string) string {
	h := chat.Heading("Why it matters")
	i := strings.Index(text, h)
	if i < 0 {
		return ""
	}
	rest := text[i+len(h):]
	if j := strings.Index(rest, "\n**"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
