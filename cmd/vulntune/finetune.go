package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/train"
)

// finetuneFlags are the finetune settings the config file does not carry.
type finetuneFlags struct {
	dataset, dtype           string
	validateModel            string
	uploadModel, repo        string
	epochs, maxSteps, maxSeq int
	patience, evalB          int
	seed                     int64
	resume, asJSON           bool
}

func newFinetuneCmd(a *app) *cobra.Command {
	var f finetuneFlags
	cmd := &cobra.Command{
		Use:   "finetune --dataset FILE|DIR",
		Short: "Fine-tune the base model with LoRA and build a complete model directory",
		Long: `finetune trains LoRA adapters on a dataset (a dir with train.jsonl and
valid.jsonl chat rows, or one JSONL file of chat rows or {"instruction",
"response"} records, split 80/20), with the loss on every assistant turn,
then fuses them into full-precision weights in
<fine_tuned_models_dir>/<name>: safetensors, config and tokenizer, adapters/,
training/metrics.jsonl and loss.png, metadata.json and a model card.
Steps = ceil(epochs * train examples / batch size) unless --max-steps is set.
Ctrl-C saves a checkpoint in <workspace_dir>/finetune/<name>; --resume
continues it exactly (without --output-name: the newest unfinished run).

--upload (fine_tuning.huggingface.upload_enabled) publishes the model after
a successful fine-tune: it is evaluated on the dataset's held-out split,
then published through the gate of ` + "`vulntune publish model`" + `
(validation and quality gate, card, privacy scan) to --repo, else
default_repo_prefix (or the token's account) / the model name. The token
and its write access are checked before training starts.`,
		Example: `  vulntune finetune --dataset dataset/
  vulntune finetune --dataset plan.jsonl --output-name my-model --max-steps 50
  vulntune finetune --resume --output-name my-model --dataset dataset/
  vulntune finetune --validate-model my-model
  vulntune finetune --dataset dataset/ --upload --repo my-org/security-model
  vulntune finetune --upload-model my-model`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.validateModel != "" {
				// The original plan's standalone mode: check a model, train nothing.
				return a.validate(cmd, f.validateModel, validateFlags{asJSON: f.asJSON, requireEval: true})
			}
			if f.uploadModel != "" {
				// The plan's other standalone mode: publish a model, train nothing.
				return a.publish(cmd, hub.KindModel, f.uploadModel, publishFlags{asJSON: f.asJSON, repo: f.repo})
			}
			return a.finetune(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataset, "dataset", "", "dataset dir (train.jsonl + valid.jsonl) or one JSONL file (required)")
	fl.IntVar(&f.epochs, "epochs", 0, "passes over the training split (default: fine_tuning.training.max_epochs)")
	fl.IntVar(&f.maxSteps, "max-steps", 0, "optimizer steps; overrides --epochs")
	fl.IntVar(&f.maxSeq, "max-seq-length", train.DefaultMaxSeqLength, "tokens per example; longer ones are truncated and counted")
	fl.IntVar(&f.patience, "patience", train.DefaultPatience, "stop after this many evaluations without a better validation loss (-1 = never)")
	fl.IntVar(&f.evalB, "eval-batches", 0, "validation batches per evaluation (0 = the whole split)")
	fl.Int64Var(&f.seed, "train-seed", train.DefaultSeed, "seed of data order, dropout and adapter initialisation")
	fl.StringVar(&f.dtype, "dtype", "auto", "weights dtype: auto (float32 on CPU, bfloat16 on Metal/CUDA), float32, bfloat16")
	fl.BoolVar(&f.resume, "resume", false, "continue the run's last checkpoint")
	fl.StringVar(&f.validateModel, "validate-model", "", "validate this model (as `vulntune validate --require-eval`) instead of training")
	fl.StringVar(&f.uploadModel, "upload-model", "", "publish this model (as `vulntune publish model`) instead of training")
	fl.StringVar(&f.repo, "repo", "", "repo id NAMESPACE/NAME for --upload and --upload-model (default: default_repo_prefix, or the token's account, / the model name)")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	bindConfigFlags(cmd, "fine_tuning.default_output_name", "default_base_model", "fine_tuning.training.learning_rate",
		"fine_tuning.training.batch_size", "fine_tuning.training.warmup_steps", "fine_tuning.training.save_steps",
		"fine_tuning.training.eval_steps", "fine_tuning.lora.rank", "fine_tuning.lora.alpha", "fine_tuning.lora.dropout",
		"fine_tuning.lora.target_modules", "fine_tuning.lora.num_layers", "fine_tuning.mlx.gradient_checkpointing")
	bindConfigFlags(cmd, publishConfigKeys...)
	bindConfigFlags(cmd, "fine_tuning.huggingface.upload_enabled")
	return cmd
}

func (a *app) finetune(cmd *cobra.Command, f finetuneFlags) error {
	if f.dataset == "" {
		return usageError{errors.New("--dataset is required (a dataset dir or a JSONL file)")}
	}
	if f.epochs > 0 && f.maxSteps > 0 {
		return usageError{errors.New("give --epochs or --max-steps, not both")}
	}
	cfg, err := a.loadConfigFor(cmd)
	if err != nil {
		return err
	}
	runs := filepath.Join(cfg.FineTuning.WorkspaceDir, "finetune")
	name := cfg.FineTuning.DefaultOutputName
	switch {
	case cmd.Flags().Changed("output-name"):
	case f.resume:
		if name, err = latestRun(runs); err != nil {
			return usageError{err}
		}
	default:
		name = train.DefaultName(name, time.Now())
	}
	// Publishing after training is checked before it: the token first,
	// then (with the engine) its write access.
	upload := cfg.FineTuning.HuggingFace.UploadEnabled
	po := pipeline.PublishOptions{ModelRepo: f.repo}
	if upload {
		if fi, err := os.Stat(f.dataset); err != nil || !fi.IsDir() {
			return usageError{fmt.Errorf("--upload evaluates the model on the dataset's held-out split before publishing: --dataset must be a dataset directory, not %s", f.dataset)}
		}
		a.hubOptions(cfg, &po, f.asJSON)
		if err := pipeline.CheckToken(po); err != nil {
			return err
		}
	}
	mo, err := a.modelOptions(cfg, cfg.DefaultBaseModel, modelFlags{Epochs: f.epochs, MaxSteps: f.maxSteps, MaxSeqLength: f.maxSeq,
		TrainEvalBatches: f.evalB})
	if err != nil {
		return err
	}
	if upload {
		po.Engine = mo.Engine
		if err := pipeline.CheckPublish(cmd.Context(), po); err != nil {
			return err
		}
	}
	mo.Patience, mo.Seed, mo.DType = f.patience, f.seed, f.dtype
	bar := newProgress(a.stderr, !f.asJSON && !a.quiet)
	defer bar.done()
	mo.TrainProgress = bar.training
	res, err := train.Run(cmd.Context(), mo.TrainOptions(f.dataset, name, filepath.Join(runs, name), f.resume))
	bar.done()
	if err != nil {
		return err
	}
	if upload {
		return a.publishTrained(cmd, mo, po, res, f)
	}
	if f.asJSON {
		return a.printJSON(res)
	}
	a.printTrained(res)
	return nil
}

// publishTrained evaluates and publishes the model just trained and
// prints both outcomes.
func (a *app) publishTrained(cmd *cobra.Command, mo pipeline.ModelOptions, po pipeline.PublishOptions, res *train.Result, f finetuneFlags) error {
	if !f.asJSON {
		a.printTrained(res)
	}
	pub, err := pipeline.PublishTrained(cmd.Context(), mo, po, res.ModelDir, f.dataset)
	if f.asJSON {
		if perr := a.printJSON(map[string]any{"finetune": res, "publish": pub}); perr != nil {
			return perr
		}
	} else if pub != nil {
		if werr := hub.WriteText(a.stdout, pub); werr != nil {
			return werr
		}
	}
	return err
}

func (a *app) printTrained(res *train.Result) {
	m := res.Metrics
	fmt.Fprintf(a.stdout, "model: %s\nsteps: %d/%d", res.ModelDir, m.Steps, m.TotalSteps)
	if m.StoppedEarly {
		fmt.Fprint(a.stdout, " (stopped early)")
	}
	fmt.Fprintln(a.stdout)
	if m.InitialValLoss != nil && m.BestValLoss != nil {
		fmt.Fprintf(a.stdout, "validation loss: %.4f -> %.4f (step %d)\n", *m.InitialValLoss, *m.BestValLoss, m.BestStep)
	}
	fmt.Fprintf(a.stdout, "throughput: %.1f tokens/s (%.1f supervised)\n", m.TokensPerSecond, m.SupervisedTokensPerSecond)
	fmt.Fprintf(a.stdout, "examples cut at the max sequence length: train %d, valid %d (longest %d tokens)\n",
		m.TruncatedTrain, m.TruncatedValid, max(m.LongestTrain, m.LongestValid))
}

// latestRun names the newest run under dir that has a checkpoint.
func latestRun(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("list runs: %w", err)
	}
	type run struct {
		name string
		mod  time.Time
	}
	var runs []run
	for _, e := range entries {
		st, err := os.Stat(filepath.Join(dir, e.Name(), "checkpoints"))
		if err == nil && e.IsDir() {
			runs = append(runs, run{e.Name(), st.ModTime()})
		}
	}
	if len(runs) == 0 {
		return "", fmt.Errorf("--resume: no interrupted run in %s; name one with --output-name", dir)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].mod.After(runs[j].mod) })
	return runs[0].name, nil
}
