package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/validate"
)

// validateFlags are validate's settings, shared with finetune --validate-model.
type validateFlags struct {
	asJSON, skipFunctional, requireEval bool
	gate                                validate.GateOptions
}

func newValidateCmd(a *app) *cobra.Command {
	var v validateFlags
	cmd := &cobra.Command{
		Use:   "validate MODEL",
		Short: "Check a model directory's artifacts, run it once, and apply the quality gate",
		Long: `validate checks MODEL (a name in base_models_dir or fine_tuned_models_dir, or
a directory): safetensors headers and shapes against config.json, NaN/Inf in
sampled weights, no pickle, empty or placeholder files, a complete
metadata.json without tokens or home paths; then, through the engine, that the
tokenizer round-trips text, the chat template renders and the model answers a
security prompt; then the quality gate over eval/results.json: the tuned model
beats its base on held-out loss and fact accuracy and hallucinates no more.
Any failed check exits 3.`,
		Example: `  vulntune validate my-model
  vulntune validate ./models/fine-tuned/my-model --require-eval --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.validate(cmd, args[0], v) },
	}
	f := cmd.Flags()
	f.BoolVar(&v.asJSON, "json", false, "print the report as JSON {model_dir, checks: [{group, name, status, detail}]}")
	f.BoolVar(&v.skipFunctional, "skip-functional", false, "do not generate an answer (tokenizer and template are still checked)")
	f.BoolVar(&v.requireEval, "require-eval", false, "fail when eval/results.json is missing instead of warning")
	f.Float64Var(&v.gate.MinLossGain, "min-loss-gain", 0, "tuned held-out loss must be lower than base by more than this")
	f.Float64Var(&v.gate.MinFactGain, "min-fact-gain", 0, "tuned fact accuracy must exceed base by more than this")
	f.Float64Var(&v.gate.MaxHallucinationIncrease, "max-hallucination-increase", 0, "tuned hallucination rate may exceed base by at most this")
	f.Float64Var(&v.gate.MaxEndedShareDecrease, "max-ended-share-decrease", 0, "tuned share of answers that end by themselves may be below base by at most this")
	f.Float64Var(&v.gate.MaxRepetitionShareIncrease, "max-repetition-share-increase", 0, "tuned share of answers that repeat themselves (stopped in a loop, or a line 3 times) may exceed base by at most this")
	f.StringVar(&v.gate.Facts, "gate-facts", validate.FactsMean, `"mean": compare the mean of the available fact accuracies; "each": every one must improve`)
	return cmd
}

// validate checks model name and exits 3 (gateError) when any check fails.
func (a *app) validate(cmd *cobra.Command, name string, v validateFlags) error {
	cfg, err := a.loadConfigFor(cmd)
	if err != nil {
		return err
	}
	dir, err := resolveModel(cfg, name)
	if err != nil {
		return err
	}
	opts := validate.Options{ModelDir: dir, SkipFunctional: v.skipFunctional, RequireEval: v.requireEval, Gate: v.gate}
	// Without an engine the artifact checks and the gate still run; the
	// engine checks are then reported SKIP, but only when the user
	// already asked to skip the functional check.
	e, err := a.openEngine(cfg)
	switch {
	case err == nil:
		opts.Engine = e
	case !v.skipFunctional || !errors.Is(err, engine.ErrNotInstalled):
		return err
	default:
		a.log.Warn("engine not installed: tokenizer and chat template checks skipped", "err", err)
	}
	rep, err := validate.Run(cmd.Context(), opts)
	if err != nil {
		return err
	}
	if v.asJSON {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else if err := validate.WriteTable(a.stdout, rep); err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return gateError{err}
	}
	return nil
}
