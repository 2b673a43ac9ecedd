package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/evaluate"
)

func newEvaluateCmd(a *app) *cobra.Command {
	var (
		datasetDir, split        string
		limit, maxTokens, batch  int
		asJSON, rescore, noCache bool
		free                     bool
	)
	cmd := &cobra.Command{
		Use:   "evaluate MODEL --dataset DIR",
		Short: "Compare a fine-tuned model with its base on the held-out examples",
		Long: `evaluate answers the held-out examples of a dataset (test split if present,
else valid) with the base model and with MODEL, greedily and with the same
prompts, and measures: loss and perplexity on the reference answers; whether
each answer names the fixed version, the CWE and the location of its finding;
and how often it names ids, versions or paths found in neither the prompt nor
the finding (hallucination rate). Answers are read whole: generated until the
model ends them, up to the longest reference answer plus a quarter, and
stopped early when they repeat one cycle over and over (counted as not ended). Results go to MODEL/eval/results.json and
eval/generations.jsonl, and into the model card's model-index. Raw answers are
cached under <data_dir>/cache/evaluate by engine, model files and examples, so
evaluating another fine-tune of the same base on the same split reuses the
base model's answers (--no-cache answers anew).

Each model is also measured with grounded decoding, which lets an answer name
an id, CWE id, version, path or URL only if the prompt or the finding's facts
do: free decoding shows what the weights alone do, grounded decoding what
vulntune guarantees. Only the answers grounded decoding would change are
generated a second time (--free skips it).

--rescore scores the answers already in eval/generations.jsonl again with this
version's checks, without the engine: seconds instead of minutes, for results
written by an older vulntune. The dataset must be the one evaluated.`,
		Example: `  vulntune evaluate my-model --dataset ./dataset
  vulntune evaluate my-model --dataset ./dataset --rescore
  vulntune evaluate ./models/fine-tuned/my-model --dataset ./dataset --limit 10 --max-tokens 128 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if datasetDir == "" {
				return usageError{fmt.Errorf("--dataset is required: the dataset dir the model was trained from")}
			}
			dir, err := resolveModel(cfg, args[0])
			if err != nil {
				return err
			}
			if rescore {
				res, err := evaluate.Rescore(dir, datasetDir, time.Now())
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(res)
				}
				return evaluate.WriteTable(a.stdout, res)
			}
			// --base-model is the config key default_base_model; given on the
			// command line it wins, else the model's own metadata names its base.
			baseModel := cfg.DefaultBaseModel
			if !cmd.Flags().Changed("base-model") {
				if baseModel, err = evaluate.BaseModelName(dir); err != nil {
					return usageError{fmt.Errorf("no --base-model given: %w", err)}
				}
			}
			baseDir, err := resolveModel(cfg, baseModel)
			if err != nil {
				return err
			}
			e, err := a.openEngine(cfg)
			if err != nil {
				return err
			}
			res, err := evaluate.Run(cmd.Context(), evaluate.Options{
				ModelDir: dir, BaseModelDir: baseDir, BaseModelName: baseModel, DatasetDir: datasetDir,
				Split: split, Limit: limit, MaxTokens: maxTokens, BatchSize: batch, Engine: e, Log: a.log,
				CacheDir: evalCacheDir(cfg, noCache), Free: free,
				Progress: func(model string, done, total int) {
					a.log.Info("evaluated", "model", model, "done", done, "total", total)
				},
			})
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(res)
			}
			return evaluate.WriteTable(a.stdout, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&datasetDir, "dataset", "", "dataset dir with valid.jsonl/test.jsonl and examples.meta.jsonl")
	bindConfigFlags(cmd, "default_base_model") // --base-model; default here: base_model in MODEL/metadata.json
	f.StringVar(&split, "split", "", "held-out split: test or valid (default: test if present, else valid)")
	f.IntVar(&limit, "limit", 0, "evaluate only the first N examples (0: all)")
	f.IntVar(&maxTokens, "max-tokens", 0, "most tokens per generated answer (0: the longest reference answer plus 25%, so answers are read whole; a bound below the longest is evaluated with a warning)")
	f.IntVar(&batch, "batch-size", evaluate.DefaultBatchSize, "answers generated together")
	f.BoolVar(&asJSON, "json", false, "print results.json instead of the table")
	f.BoolVar(&noCache, "no-cache", false, "answer every example anew instead of reusing answers cached for the same engine, model and examples")
	f.BoolVar(&free, "free", false, "measure free decoding only, without grounded decoding's second pass")
	f.BoolVar(&rescore, "rescore", false, "score the stored answers again without generating (no engine needed)")
	return cmd
}
