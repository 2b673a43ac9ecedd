// Command gensarif writes a large synthetic SARIF 2.1.0 log for measuring
// the SARIF parser's throughput and memory. Its results look like CodeQL's:
// rules with help text, tags and security-severity; results with a snippet,
// a message link to a related location, a code flow and fingerprints. The
// output is the same for the same flags.
//
//	go run ./bench/gensarif -size 500MB -o /tmp/big.sarif
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/bench/internal/bytesize"
)

func main() {
	size := flag.String("size", "100MB", "approximate output size (e.g. 500MB, 2GB)")
	out := flag.String("o", "", "output file (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	n, err := bytesize.Parse(*size)
	if err != nil || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gensarif -size 500MB -o FILE")
		os.Exit(2)
	}
	if err := generate(*out, n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gensarif:", err)
		os.Exit(1)
	}
}

// countingWriter tracks how much has been written.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

const nRules = 200

func generate(path string, size int64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countingWriter{w: bw}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if err := writeHead(cw); err != nil {
		return err
	}
	for i := 0; cw.n < size; i++ {
		if i > 0 {
			io.WriteString(cw, ",\n")
		}
		b, err := json.Marshal(result(rng, i))
		if err != nil {
			return err
		}
		if _, err := cw.Write(b); err != nil {
			return err
		}
	}
	io.WriteString(cw, "\n]}]}\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeHead(w io.Writer) error {
	rules := make([]map[string]any, nRules)
	for i := range rules {
		id := fmt.Sprintf("js/rule-%03d", i)
		rules[i] = map[string]any{
			"id": id, "name": id,
			"shortDescription":     map[string]string{"text": "Synthetic rule " + strconv.Itoa(i)},
			"fullDescription":      map[string]string{"text": strings.Repeat("Explains why this pattern is dangerous. ", 6)},
			"help":                 map[string]string{"text": "# Rule " + id + "\nSee https://cwe.mitre.org/data/definitions/79.html and https://owasp.org/Top10/.", "markdown": strings.Repeat("Markdown help paragraph. ", 20)},
			"defaultConfiguration": map[string]string{"level": []string{"error", "warning", "note"}[i%3]},
			"properties":           map[string]any{"tags": []string{"security", fmt.Sprintf("external/cwe/cwe-%03d", 20+i%80)}, "security-severity": fmt.Sprintf("%.1f", float64(i%100)/10), "precision": "high"},
		}
	}
	head := map[string]any{
		"tool":               map[string]any{"driver": map[string]any{"name": "CodeQL", "semanticVersion": "2.19.3", "rules": rules}},
		"originalUriBaseIds": map[string]any{"%SRCROOT%": map[string]string{"uri": "file:///home/runner/work/app/app/"}},
	}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	// Open the run object and leave "results" last and open.
	_, err = fmt.Fprintf(w, `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[%s,"results":[`+"\n", b[:len(b)-1])
	return err
}

var words = strings.Fields("user input query request handler value buffer token session cookie header path file render template eval exec command")

func sentence(rng *rand.Rand, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[rng.IntN(len(words))]
	}
	return strings.Join(parts, " ")
}

func loc(rng *rand.Rand, file string, id int) map[string]any {
	line := 1 + rng.IntN(2000)
	l := map[string]any{"physicalLocation": map[string]any{
		"artifactLocation": map[string]string{"uri": file, "uriBaseId": "%SRCROOT%"},
		"region":           map[string]any{"startLine": line, "startColumn": 1 + rng.IntN(60), "endColumn": 61 + rng.IntN(40), "snippet": map[string]string{"text": "  const x = " + sentence(rng, 8) + ";"}},
	}}
	if id > 0 {
		l["id"] = id
	}
	return l
}

func result(rng *rand.Rand, i int) map[string]any {
	rule := rng.IntN(nRules)
	file := fmt.Sprintf("src/module%03d/file%04d.js", rng.IntN(200), rng.IntN(5000))
	other := fmt.Sprintf("src/module%03d/file%04d.js", rng.IntN(200), rng.IntN(5000))
	steps := make([]map[string]any, 3+rng.IntN(6))
	for k := range steps {
		steps[k] = map[string]any{"location": loc(rng, other, 0)}
	}
	return map[string]any{
		"ruleId":              fmt.Sprintf("js/rule-%03d", rule),
		"ruleIndex":           rule,
		"message":             map[string]string{"text": "This " + sentence(rng, 10) + " depends on a [user-provided value](1)."},
		"locations":           []any{loc(rng, file, 0)},
		"relatedLocations":    []any{loc(rng, other, 1)},
		"codeFlows":           []any{map[string]any{"threadFlows": []any{map[string]any{"locations": steps}}}},
		"partialFingerprints": map[string]string{"primaryLocationLineHash": fmt.Sprintf("%016x:%d", rng.Uint64(), 1+i%3)},
	}
}
