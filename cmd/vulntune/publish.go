package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/validate"
)

// publishFlags are publish's settings the config file does not carry.
type publishFlags struct {
	repo, revision      string
	adapterOnly, dryRun bool
	asJSON              bool
}

// publishConfigKeys are the config settings every publish command takes as
// flags (--private, --repo-prefix, --hub-endpoint).
var publishConfigKeys = []string{"fine_tuning.huggingface.private_repos", "fine_tuning.huggingface.default_repo_prefix",
	"fine_tuning.huggingface.endpoint"}

func newPublishCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish a dataset or a model to the Hugging Face Hub, behind the publish gate",
		Long: `publish sends a dataset or a model directory to the Hugging Face Hub through
the official huggingface_hub client in the engine: one repo per dataset or
model name (default_repo_prefix/NAME unless --repo), one commit per publish,
none when the Hub already holds the same content. Before anything is sent,
the gate refuses a model that fails ` + "`vulntune validate`" + ` (quality gate
included), a dataset that fails its build checks, a card the Hub would
refuse, and any file carrying a secret, a token, an e-mail address or the
local user's name or home directory (named by file and line, never the
value). The token comes from HF_TOKEN or the file ` + "`hf auth login`" + `
writes, and must be allowed to write to the namespace. --dry-run prints the
repo, the files with sizes and SHA-256s, the card and the gate's verdict,
and sends nothing. A refused publish exits 3.`,
	}
	cmd.AddCommand(newPublishDatasetCmd(a), newPublishModelCmd(a))
	return cmd
}

func newPublishDatasetCmd(a *app) *cobra.Command {
	var f publishFlags
	cmd := &cobra.Command{
		Use:   "dataset DIR",
		Short: "Publish a dataset directory (train/valid/test.jsonl, stats.json, card)",
		Example: `  vulntune publish dataset runs/demo/dataset --dry-run
  vulntune publish dataset runs/demo/dataset --repo my-org/security-findings --private=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.publish(cmd, hub.KindDataset, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "repo id NAMESPACE/NAME (default: default_repo_prefix, or the token's account, / the dataset name)")
	fl.StringVar(&f.revision, "revision", "", "branch to commit to, created from main when missing (default main)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and the gate's verdict; send nothing")
	fl.BoolVar(&f.asJSON, "json", false, "print {plan: {repo, files, card, verdict...}, published} as JSON")
	bindConfigFlags(cmd, publishConfigKeys...)
	return cmd
}

func newPublishModelCmd(a *app) *cobra.Command {
	var f publishFlags
	cmd := &cobra.Command{
		Use:   "model NAME|DIR",
		Short: "Publish a fine-tuned model directory (weights, tokenizer, adapters, card, evaluation)",
		Example: `  vulntune publish model vulntune-model-20261126-101500 --dry-run
  vulntune publish model ./models/fine-tuned/my-model --repo my-org/my-model
  vulntune publish model my-model --adapter-only`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.publish(cmd, hub.KindModel, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "repo id NAMESPACE/NAME (default: default_repo_prefix, or the token's account, / the model name)")
	fl.BoolVar(&f.adapterOnly, "adapter-only", false, "publish adapters/ alone to NAME-adapter, with a card naming the base model")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and the gate's verdict; send nothing")
	fl.BoolVar(&f.asJSON, "json", false, "print {plan: {repo, files, card, verdict...}, published} as JSON")
	bindConfigFlags(cmd, publishConfigKeys...)
	return cmd
}

// publish runs one publish: the token is resolved first (locally), the
// gate runs before any request, whoami before any write.
func (a *app) publish(cmd *cobra.Command, kind, arg string, f publishFlags) error {
	cfg, err := a.loadConfigFor(cmd)
	if err != nil {
		return err
	}
	dir := arg
	if kind == hub.KindModel {
		if dir, err = resolveModel(cfg, arg); err != nil {
			return err
		}
	}
	hf := cfg.FineTuning.HuggingFace
	o := hub.Options{
		PlanOptions: hub.PlanOptions{Kind: kind, Dir: dir, Repo: f.repo, Prefix: hf.DefaultRepoPrefix,
			Private: hf.PrivateRepos, Revision: f.revision, AdapterOnly: f.adapterOnly},
		GateOptions: hub.GateOptions{Identity: hub.LocalIdentity()},
		DryRun:      f.dryRun, Endpoint: hf.Endpoint, Log: a.log.With("component", "hub"),
	}
	if !f.dryRun {
		home, _ := os.UserHomeDir()
		if o.Token, err = hub.ResolveToken(cfg.HFToken.Value(), os.Getenv, home); err != nil {
			return usageError{err}
		}
	}
	// The engine validates models and carries every Hub request; a dry run
	// of a dataset needs neither.
	if kind == hub.KindModel || !f.dryRun {
		e, err := a.openEngine(cfg)
		if err != nil {
			return err
		}
		o.Engine = e
		o.ValidateModel = func(ctx context.Context, dir string) (*validate.Report, error) {
			return validate.Run(ctx, validate.Options{ModelDir: dir, Engine: e, RequireEval: true})
		}
	}
	var bar *uploadBar
	if !f.asJSON {
		bar = newUploadBar(a.stderr, a.verbose)
		o.Progress = bar.update
	}
	res, err := hub.Publish(cmd.Context(), o)
	bar.done()
	if res != nil {
		if f.asJSON {
			if perr := a.printJSON(res); perr != nil {
				return perr
			}
		} else if werr := hub.WriteText(a.stdout, res); werr != nil {
			return werr
		}
		// A dry run sends nothing either way, but says by its exit code
		// whether the real one would be refused.
		if v := res.Plan.Verdict; err == nil && res.DryRun && v != nil && !v.Passed {
			err = &hub.RefusedError{Kind: kind, Repo: res.Plan.DisplayRepo(), Problems: v.Problems()}
		}
	}
	return publishError(err)
}

// hubOptions completes publish options from the config: repo prefix,
// private repos, the endpoint, the configured token (resolved, and the
// login file read, by the pipeline), and the upload bar on
// stderr unless the output is JSON. The caller sets the engine.
func (a *app) hubOptions(cfg *config.Config, po *pipeline.PublishOptions, asJSON bool) {
	hf := cfg.FineTuning.HuggingFace
	po.Prefix, po.Private, po.Endpoint = hf.DefaultRepoPrefix, hf.PrivateRepos, hf.Endpoint
	po.Token, po.Log = cfg.HFToken.Value(), a.log.With("component", "hub")
	if !asJSON {
		bar := newUploadBar(a.stderr, a.verbose)
		po.Progress = bar.update
		po.Published = func(*hub.Result) { bar.done() }
	}
}

// publishError maps a publish's failure to its exit code: a refusal is a
// failed gate (3), a missing or insufficient token a configuration error (2).
func publishError(err error) error {
	var re *hub.RefusedError
	var ae *hub.AccessError
	var ne *hub.NameError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return gateError{err}
	case errors.As(err, &ae), errors.Is(err, hub.ErrNoToken), errors.As(err, &ne):
		return usageError{err}
	}
	return err
}

// uploadBar shows bytes sent and the rate: one redrawn line on a terminal,
// a plain line at most every plainEvery with -v elsewhere, else nothing.
type uploadBar struct {
	w          io.Writer
	tty, plain bool
	last       time.Time
	drawn      bool
}

func newUploadBar(w io.Writer, verbose bool) *uploadBar {
	tty := isTerminal(w)
	return &uploadBar{w: w, tty: tty, plain: verbose && !tty}
}

func (b *uploadBar) update(p hub.Progress) {
	if b == nil || !b.tty && !b.plain {
		return
	}
	line := p.Stage + ": " + p.Message
	if p.Stage == "upload" {
		line = fmt.Sprintf("upload %s / %s  %s/s  %s", humanBytes(p.Bytes), humanBytes(p.Total), humanBytes(int64(p.Rate)), p.File)
	}
	now := time.Now()
	if b.plain {
		if p.Stage == "upload" && now.Sub(b.last) < plainEvery && p.Bytes < p.Total {
			return
		}
		b.last = now
		fmt.Fprintln(b.w, line)
		return
	}
	fmt.Fprintf(b.w, "\r\033[K%s", line)
	b.drawn = true
}

func (b *uploadBar) done() {
	if b != nil && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}
