package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/train"
)

func newRunCmd(a *app) *cobra.Command {
	var (
		artifacts                                 []string
		outDir, modelName, baseModel              string
		skipFT, noLLM, force, asJSON, noEvalCache bool
		maxSteps, epochs, maxSeq                  int
		trainSeed                                 int64
		evalLimit, evalMaxTokens                  int
		trainEvalBatches                          int
		up                                        runUploadFlags
	)
	cmd := &cobra.Command{
		Use:   "run --artifacts-dir DIR",
		Short: "Run every phase: parse, dataset, finetune, evaluate, validate, and publish",
		Long: `run is the manual pipeline: it parses the artifacts, builds the dataset,
fine-tunes the base model with LoRA, evaluates base against tuned on the
held-out split and validates the model directory. Each phase is recorded in
run.json in the run directory; an interrupted run resumes, and a repeated run
over unchanged inputs does nothing again. Without --output-dir the run
directory is <workspace_dir>/runs/<hash of the inputs>.

With --upload (fine_tuning.huggingface.upload_enabled) the run also publishes
the dataset after the dataset phase (publish-dataset) and the model after
validation (publish-model) to the Hugging Face Hub, through the same gate as
` + "`vulntune publish`" + `; --upload-model publishes the model only, and
--skip-dataset-upload / --skip-model-upload leave either out. The token
(HF_TOKEN, or the file ` + "`hf auth login`" + ` writes) and its write access are
checked before the first phase, so a run never trains and then fails on it.
Repos are default_repo_prefix (else the token's account) / the dataset's or
model's name unless --dataset-repo / --model-repo; a publish phase is done
once per content and repo, and unchanged content makes no new commit.`,
		Example: `  vulntune run --artifacts-dir examples/artifacts
  vulntune run --artifacts-dir ci-artifacts/ --skip-fine-tuning
  vulntune run --artifacts-dir a.zip --fine-tuning-model-name webauthn-sec-v1 --base-model OLMo-2-0425-1B-Instruct
  vulntune run --artifacts-dir examples/artifacts --skip-fine-tuning --upload --repo-prefix my-org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(artifacts) == 0 {
				return usageError{errors.New("--artifacts-dir is required")}
			}
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if baseModel == "" {
				baseModel = cfg.DefaultBaseModel
			}
			opts := pipeline.RunOptions{
				ArtifactPaths: artifacts, Dir: outDir, WorkspaceDir: cfg.FineTuning.WorkspaceDir, TempDir: cfg.TempDir(),
				SkipFineTuning: skipFT, ModelName: modelName, DefaultOutputName: cfg.FineTuning.DefaultOutputName,
				Split:      pipeline.SplitOptions(cfg.Dataset),
				MaxPerRule: cfg.Dataset.MaxPerRule, Strict: cfg.Dataset.Strict,
				Augment: pipeline.AugmentOptions(cfg.Dataset),
				Force:   force, Log: a.log,
			}
			if !asJSON && !a.quiet {
				opts.Events = func(phase, status, detail string) {
					if detail != "" {
						detail = " (" + detail + ")"
					}
					fmt.Fprintf(a.stderr, "%-9s %s%s\n", phase, status, detail)
				}
			}
			if !noLLM && cfg.Analysis.Endpoint != "" {
				opts.Analysis = pipeline.AnalysisOptions(cfg, cfg.Analysis.Endpoint, cfg.Analysis.Model, a.log)
			}
			// A run that publishes needs a token: a missing one is found
			// before anything else; its write access before the first phase.
			po, publish := up.options(cfg.FineTuning.HuggingFace.UploadEnabled, skipFT)
			if publish {
				a.hubOptions(cfg, &po, asJSON)
				if err := pipeline.CheckToken(po); err != nil {
					return err
				}
			}
			var mo pipeline.ModelOptions
			if !skipFT {
				mo, err = a.modelOptions(cfg, baseModel, modelFlags{Seed: trainSeed,
					MaxSteps: maxSteps, Epochs: epochs, MaxSeqLength: maxSeq, EvalLimit: evalLimit, EvalMaxTokens: evalMaxTokens,
					TrainEvalBatches: trainEvalBatches, NoEvalCache: noEvalCache})
				if err != nil {
					return err
				}
				opts.Finetune = pipeline.ModelHooks(mo)
			}
			if publish {
				// Only a publish phase that will run needs the engine: one
				// skipped by flags is recorded without it.
				if mo.Engine == nil && (po.SkipDataset == "" || po.SkipModel == "") {
					if mo.Engine, err = a.openEngine(cfg); err != nil {
						return err
					}
				}
				po.Engine = mo.Engine
				opts.Extra = append(opts.Extra, pipeline.PublishPhases(po)...)
			}
			res, err := pipeline.Run(cmd.Context(), opts)
			if res != nil {
				if asJSON {
					if eerr := a.printJSON(res); eerr != nil {
						return eerr
					}
				} else {
					printRunSummary(a, res)
				}
			}
			if errors.Is(err, pipeline.ErrInputs) {
				return inputError{err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&artifacts, "artifacts-dir", nil, "scanner artifacts: a directory, files or GitHub artifact zips (repeatable)")
	f.StringVar(&outDir, "output-dir", "", "run directory (default <workspace_dir>/runs/<input hash>)")
	f.BoolVar(&skipFT, "skip-fine-tuning", false, "stop after building the dataset")
	f.StringVar(&modelName, "fine-tuning-model-name", "", "name of the fine-tuned model (default <default_output_name>-<timestamp>)")
	f.StringVar(&baseModel, "base-model", "", "base model name or directory (default: default_base_model)")
	f.BoolVar(&noLLM, "no-llm", true, "build the dataset without LLM analysis (set --no-llm=false and analysis.endpoint to add grounded prose)")
	f.BoolVar(&force, "force", false, "rerun every phase even when its inputs did not change")
	f.IntVar(&maxSteps, "max-steps", 0, "training steps (overrides epochs)")
	f.IntVar(&epochs, "epochs", 0, "training epochs (default fine_tuning.training.max_epochs)")
	f.Int64Var(&trainSeed, "train-seed", train.DefaultSeed, "seed of data order, dropout and adapter initialisation (another seed, another sample of the same settings)")
	f.IntVar(&maxSeq, "max-seq-length", 0, "training tokens per example (default: finetune's)")
	f.IntVar(&trainEvalBatches, "train-eval-batches", 0, "validation batches per evaluation during training (0 = the whole split)")
	f.IntVar(&evalLimit, "eval-limit", 0, "evaluate on at most this many held-out examples (0 = all)")
	f.IntVar(&evalMaxTokens, "eval-max-tokens", 0, "answer length bound during evaluation (0: the longest reference answer plus 25%, as evaluate)")
	f.BoolVar(&noEvalCache, "no-eval-cache", false, "answer every held-out example anew instead of reusing the base model's cached answers")
	f.BoolVar(&asJSON, "json", false, "print the run result as JSON on stdout")
	f.BoolVar(&up.model, "upload-model", false, "publish the model after validation (--upload publishes the dataset too)")
	f.BoolVar(&up.skipDataset, "skip-dataset-upload", false, "do not publish the dataset, even with --upload")
	f.BoolVar(&up.skipModel, "skip-model-upload", false, "do not publish the model, even with --upload")
	f.StringVar(&up.datasetRepo, "dataset-repo", "", "dataset repo id NAMESPACE/NAME (default: default_repo_prefix, or the token's account, / the dataset name)")
	f.StringVar(&up.modelRepo, "model-repo", "", "model repo id NAMESPACE/NAME (default: default_repo_prefix, or the token's account, / the model name)")
	bindConfigFlags(cmd, "dataset.strict", "fine_tuning.huggingface.upload_enabled", "fine_tuning.training.eval_steps", "fine_tuning.training.batch_size")
	bindConfigFlags(cmd, publishConfigKeys...)
	return cmd
}

// runUploadFlags are run's publishing flags besides the config's.
type runUploadFlags struct {
	model, skipDataset, skipModel bool
	datasetRepo, modelRepo        string
}

// options are the run's publish options, and whether the run has publish
// phases at all: upload_enabled (--upload) publishes both, --upload-model
// the model, and each --skip-*-upload opts out (recorded as skipped).
func (u runUploadFlags) options(enabled, skipFT bool) (pipeline.PublishOptions, bool) {
	po := pipeline.PublishOptions{DatasetRepo: u.datasetRepo, ModelRepo: u.modelRepo}
	switch {
	case u.skipDataset:
		po.SkipDataset = "--skip-dataset-upload"
	case !enabled:
		po.SkipDataset = "publishing the dataset is off (--upload, fine_tuning.huggingface.upload_enabled)"
	}
	switch {
	case u.skipModel:
		po.SkipModel = "--skip-model-upload"
	case !enabled && !u.model:
		po.SkipModel = "publishing the model is off (--upload, --upload-model)"
	case skipFT:
		po.SkipModel = "--skip-fine-tuning: no model"
	}
	return po, enabled || u.model
}

func printRunSummary(a *app, res *pipeline.RunResult) {
	fmt.Fprintf(a.stdout, "run directory: %s\n", res.Dir)
	if len(res.Ran) > 0 {
		fmt.Fprintf(a.stdout, "ran: %s\n", strings.Join(res.Ran, ", "))
	}
	if len(res.UpToDate) > 0 {
		fmt.Fprintf(a.stdout, "up to date (not run again): %s\n", strings.Join(res.UpToDate, ", "))
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(a.stdout, "skipped: %s\n", strings.Join(res.Skipped, ", "))
	}
	for _, name := range slices.Concat(pipeline.Phases, []string{pipeline.PhasePublishDataset, pipeline.PhasePublishModel}) {
		p := res.Manifest.Phases[name]
		if p == nil || p.Summary == nil {
			continue
		}
		b, _ := json.Marshal(p.Summary)
		fmt.Fprintf(a.stdout, "  %-9s %s\n", name, b)
	}
	fmt.Fprintf(a.stdout, "dataset: %s\n", filepath.Join(res.Dir, "dataset"))
	if res.ModelDir != "" {
		fmt.Fprintf(a.stdout, "model: %s (%s)\n", res.Model, res.ModelDir)
	}
	if res.Report != "" {
		fmt.Fprintf(a.stdout, "report: %s\n", res.Report)
	}
}
