// Command evalbatch measures the engine's evaluate op at several generation
// batch sizes: one model, the same held-out examples, greedy answers of a
// bounded length. It prints, per batch size, the scoring and generation
// seconds and generated tokens per second, and whether the answers match
// those of the first batch size (batched decoding pads prompts, so greedy
// answers may differ in the last digits of a logit). Nothing is cached.
//
//	go run ./bench/evalbatch -model DIR -dataset runs/demo/dataset -b 8,24
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
)

func main() {
	model := flag.String("model", "", "model directory")
	datasetDir := flag.String("dataset", "runs/demo/dataset", "dataset dir, read as vulntune evaluate reads it")
	split := flag.String("split", "", "held-out split: test or valid (default: test if present, else valid)")
	dataDir := flag.String("data-dir", os.Getenv("VULNTUNE_DATA_DIR"), "vulntune data dir with the engine")
	batches := flag.String("b", "8,24", "generation batch sizes")
	maxTokens := flag.Int("max-tokens", 256, "answer length bound")
	maxSeq := flag.Int("max-seq-length", 768, "scoring length bound")
	flag.Parse()
	if err := run(*model, *datasetDir, *split, *dataDir, *batches, *maxTokens, *maxSeq); err != nil {
		fmt.Fprintln(os.Stderr, "evalbatch:", err)
		os.Exit(1)
	}
}

func run(model, datasetDir, split, dataDir, batches string, maxTokens, maxSeq int) error {
	if model == "" {
		return fmt.Errorf("-model is required")
	}
	examples, err := evaluate.SplitRows(datasetDir, split)
	if err != nil {
		return err
	}
	e, err := engine.Open(dataDir)
	if err != nil {
		return err
	}
	var first map[int]string
	fmt.Printf("examples %d, max tokens %d\n", len(examples), maxTokens)
	fmt.Println("batch  score_s  generate_s  gen_tokens  tokens/s  same_answers")
	for _, s := range strings.Split(batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b <= 0 {
			return fmt.Errorf("-b: %q is not a positive batch size", s)
		}
		texts := map[int]string{}
		sum, err := e.Evaluate(context.Background(), engine.EvaluateRequest{
			Model: model, Examples: examples, MaxTokens: maxTokens, MaxSeqLength: maxSeq, BatchSize: b,
		}, func(it engine.EvaluateItem) { texts[it.Index] = it.Text }, nil)
		if err != nil {
			return fmt.Errorf("batch %d: %w", b, err)
		}
		same := "-"
		if first == nil {
			first = texts
		} else {
			n := 0
			for i, t := range texts {
				if first[i] == t {
					n++
				}
			}
			same = fmt.Sprintf("%d/%d", n, len(texts))
		}
		fmt.Printf("%5d  %7.1f  %10.1f  %10d  %8.1f  %s\n", b, sum.ScoreSeconds, sum.GenerateSeconds,
			sum.GenerationTokens, float64(sum.GenerationTokens)/sum.GenerateSeconds, same)
	}
	return nil
}
