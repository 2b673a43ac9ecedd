// Command analysisrate measures the LLM analysis phase against the embedded
// endpoint: it serves a base model with the engine, analyses the first N
// findings of a findings.jsonl at each requested concurrency with a fresh
// cache, then repeats the last run on the warm cache to show it makes no
// calls. It prints findings per minute, acceptance and the call counts.
//
//	go run ./bench/analysisrate -findings findings.jsonl -model DIR -n 6 -c 1,4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/analyze"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

func main() {
	findingsPath := flag.String("findings", "findings.jsonl", "findings from vulntune parse")
	model := flag.String("model", "", "model directory to serve")
	dataDir := flag.String("data-dir", os.Getenv("VULNTUNE_DATA_DIR"), "vulntune data dir with the engine")
	n := flag.Int("n", 6, "findings to analyse")
	conc := flag.String("c", "1,4", "concurrency levels")
	maxTokens := flag.Int("max-tokens", 256, "reply length bound")
	flag.Parse()
	if err := run(*findingsPath, *model, *dataDir, *n, *conc, *maxTokens); err != nil {
		fmt.Fprintln(os.Stderr, "analysisrate:", err)
		os.Exit(1)
	}
}

func run(path, model, dataDir string, n int, conc string, maxTokens int) error {
	fs, errs := finding.ReadJSONL(path)
	if len(errs) > 0 {
		return errs[0]
	}
	if len(fs) > n {
		fs = fs[:n]
	}
	e, err := engine.Open(dataDir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	levels := strings.Split(conc, ",")
	maxC := 1
	for _, l := range levels {
		if c, _ := strconv.Atoi(l); c > maxC {
			maxC = c
		}
	}
	srv, err := e.Serve(ctx, model, engine.ServeOptions{DecodeConcurrency: maxC})
	if err != nil {
		return err
	}
	defer srv.Close()
	refs := func(id string) (string, string, bool) {
		c, ok := remedy.CWE(id)
		return c.Name, c.Description, ok
	}
	var cache string
	for _, l := range levels {
		c, err := strconv.Atoi(l)
		if err != nil {
			return fmt.Errorf("concurrency %q: %w", l, err)
		}
		cache, err = os.MkdirTemp("", "analysisrate-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(cache)
		_, st, err := analyze.New(analyze.Options{Endpoint: srv.URL(), Model: model, Concurrency: c, MaxTokens: maxTokens,
			Timeout: 20 * time.Minute, Retries: -1, CacheDir: cache, References: refs}).Analyze(ctx, fs, nil)
		if err != nil {
			return err
		}
		report(fmt.Sprintf("concurrency %d", c), st)
	}
	_, st, err := analyze.New(analyze.Options{Endpoint: srv.URL(), Model: model, Concurrency: 1, MaxTokens: maxTokens,
		Retries: -1, CacheDir: cache, References: refs}).Analyze(ctx, fs, nil)
	if err != nil {
		return err
	}
	report("second run, warm cache", st)
	return nil
}

func report(label string, st analyze.Stats) {
	fmt.Printf("%-24s %d findings in %6.1fs = %5.2f findings/min; calls %d, cache hits %d, accepted %d, rejected %d %v, errors %d\n",
		label, st.Requested, st.Duration.Seconds(), st.PerMinute(), st.Calls, st.CacheHits, st.Accepted, st.Rejected, st.RejectReasons, st.Errors)
}
