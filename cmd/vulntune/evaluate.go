package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/pipeline"
)

func newEvaluateCmd(a *app) *cobra.Command {
	var (
		datasetDir, split, set   string
		artifacts                []string
		limit, maxTokens, batch  int
		setSize                  int
		asJSON, rescore, noCache bool
		free, loopGuard          bool
	)
	cmd := &cobra.Command{
		Use:   "evaluate MODEL (--dataset DIR | --artifacts-dir DIR...)",
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
do, never gives a fix snippet (a fenced block, an install command) the
installed, vulnerable version, and holds a dependency fix's upgrade sentence, build system line and
fix blocks (whole), the In short and What it is lines, the Where and How to verify sections and the opening of Why it matters
(the severity, the description and the kind's impact) to the ones vulntune writes for the finding, writes a fix step that
states a fact (the weakness's catalogue entry, the rule's documented fix) only as vulntune does, gives only the sections that answer has, and never lets an answer put the fix on the wrong release line or say no release fixes it: free decoding shows what the weights alone do,
grounded decoding what vulntune guarantees. Only the answers grounded decoding would change are
generated a second time (--free skips it). Free answers are cached without grounded decoding's
rules, so a change to those decodes only the grounded answers again.

--artifacts-dir evaluates on findings of other projects instead: the scanner
reports given (examples/corpus: real reports of projects, scanners and
ecosystems the samples do not have) are parsed and narrated as
` + "`vulntune dataset --no-llm`" + ` would, and a deterministic stratified selection of them is
written to MODEL/eval/<set>/dataset as a test split alone, never a training
split: every kind/tool stratum at least once, at least 20 dependency findings
with a fixed version taken in turn from each tool, then more in turn from each
stratum up to --set-size. Results go to MODEL/eval/<set>/ (--set, default
"other"); the model card and the run report show them beside the held-out
split's. --set with --dataset evaluates that dataset's held-out split as a
named set.

--rescore scores the answers already in eval/generations.jsonl again with this
version's checks, without the engine: seconds instead of minutes, for results
written by an older vulntune. The dataset must be the one evaluated (with
--artifacts-dir, the set already in MODEL/eval/<set>/dataset).`,
		Example: `  vulntune evaluate my-model --dataset ./dataset
  vulntune evaluate my-model --dataset ./dataset --rescore
  vulntune evaluate runs/demo --artifacts-dir examples/corpus --max-tokens 256
  vulntune evaluate ./models/fine-tuned/my-model --dataset ./dataset --limit 10 --max-tokens 128 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if (datasetDir == "") == (len(artifacts) == 0) {
				return usageError{fmt.Errorf("give exactly one of --dataset (the dataset dir the model was trained from) or --artifacts-dir (reports of other projects)")}
			}
			if len(artifacts) > 0 && set == "" {
				set = evaluate.OtherSet
			}
			if set != "" {
				if err := evaluate.CheckSetName(set); err != nil {
					return usageError{err}
				}
			}
			dir, err := resolveModel(cfg, args[0])
			if err != nil {
				return err
			}
			if len(artifacts) > 0 {
				datasetDir = filepath.Join(dir, "eval", set, "dataset")
			}
			if rescore {
				res, err := evaluate.RescoreSet(dir, set, datasetDir, time.Now())
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
			if len(artifacts) > 0 {
				es, err := pipeline.BuildEvalSet(cmd.Context(), pipeline.EvalSetOptions{
					ArtifactPaths: artifacts, OutDir: datasetDir, TempDir: cfg.TempDir(),
					MaxPerRule: cfg.Dataset.MaxPerRule, Seed: cfg.Dataset.Seed,
					Select: evaluate.SelectOptions{Size: setSize}, Log: a.log,
				})
				if err != nil {
					if errors.Is(err, pipeline.ErrInputs) {
						return inputError{err}
					}
					return err
				}
				if sel := es.Selection; !asJSON && !a.quiet {
					fmt.Fprintf(a.stderr, "evaluation set %s: %d of %d findings (%d kind/tool strata, %d dependency findings with a fixed version) in %s\n",
						set, sel.Selected, sel.From, len(sel.Available), sel.FixedVersion, datasetDir)
				}
			}
			e, err := a.openEngine(cfg)
			if err != nil {
				return err
			}
			// As run shows it: a bar on a terminal, a line every 30 s in a log.
			bar := newProgress(a.stderr, !asJSON && !a.quiet)
			res, err := evaluate.Run(cmd.Context(), evaluate.Options{
				ModelDir: dir, Set: set, BaseModelDir: baseDir, BaseModelName: baseModel, DatasetDir: datasetDir,
				Split: split, Limit: limit, MaxTokens: maxTokens, BatchSize: batch, Engine: e, Log: a.log,
				CacheDir: evalCacheDir(cfg, noCache), Free: free, NoLoopGuard: !loopGuard,
				Progress: func(model string, done, total int) {
					a.log.Info("evaluated", "model", model, "done", done, "total", total)
					bar.update("eval "+model, done, total)
				},
			})
			bar.done()
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
	f.StringSliceVar(&artifacts, "artifacts-dir", nil, "scanner reports of other projects to evaluate on instead (dir, file or zip; repeatable; never trained on)")
	f.StringVar(&set, "set", "", `evaluation set name: results go to MODEL/eval/<set>/ (default with --artifacts-dir: "other")`)
	f.IntVar(&setSize, "set-size", 0, "with --artifacts-dir: examples to select (0: one per kind/tool stratum and 20 dependency findings with a fixed version)")
	bindConfigFlags(cmd, "default_base_model") // --base-model; default here: base_model in MODEL/metadata.json
	f.StringVar(&split, "split", "", "held-out split: test or valid (default: test if present, else valid)")
	f.IntVar(&limit, "limit", 0, "evaluate only the first N examples (0: all)")
	f.IntVar(&maxTokens, "max-tokens", 0, "most tokens per generated answer (0: the longest reference answer plus 25%, so answers are read whole; a bound below the longest is evaluated with a warning)")
	f.IntVar(&batch, "batch-size", evaluate.DefaultBatchSize, "answers generated together")
	f.BoolVar(&asJSON, "json", false, "print results.json instead of the table")
	f.BoolVar(&noCache, "no-cache", false, "answer every example anew instead of reusing answers cached for the same engine, model and examples")
	f.BoolVar(&free, "free", false, "measure free decoding only, without grounded decoding's second pass")
	f.BoolVar(&loopGuard, "loop-guard", true, "steer answers out of loops (mask a token that would repeat a cycle of tokens a third time, write a span of a line a third time or a word a third time in a row, or open a bold line that is no answer section still to come); false: what the weights alone do")
	f.BoolVar(&rescore, "rescore", false, "score the stored answers again without generating (no engine needed)")
	return cmd
}
