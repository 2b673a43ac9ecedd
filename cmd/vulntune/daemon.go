package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// daemonKeys are the settings `daemon run` and `daemon install` take as
// flags.
var daemonKeys = []string{"github.repos", "github.workflows", "github.branches", "daemon.interval", "github.api_url"}

func newDaemonCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Watch GitHub Actions and turn new scan artifacts into a dataset and a model, unattended",
		Long: `The daemon polls GitHub Actions for completed, successful runs of the
configured repositories and workflows, reads their scanner artifacts in
memory, accumulates the findings and rebuilds the dataset when there is
something new; it fine-tunes when the dataset has grown by
daemon.finetune_after examples (unless fine_tuning.skip_in_daemon) and
publishes (unless fine_tuning.huggingface.skip_in_daemon). Every run is
processed once, across restarts. Its state lives under <data_dir>/daemon.

The GitHub token needs only read access to Actions: GH_TOKEN or
GITHUB_TOKEN, or github.token_file for a daemon run as a service.`,
	}
	cmd.AddCommand(newDaemonRunCmd(a), newDaemonInstallCmd(a), newDaemonUninstallCmd(a), newDaemonStatusCmd(a), newDaemonLogsCmd(a))
	return cmd
}

func newDaemonRunCmd(a *app) *cobra.Command {
	var once, asJSON bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Poll GitHub Actions every interval (or once) and process new runs",
		Example: `  GH_TOKEN=... vulntune daemon run --repo acme/webapp --workflow security.yml --branch main --once
  vulntune daemon run --repo acme/webapp --repo acme/api --interval 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			log := daemonLogger(a)
			o, err := a.daemonOptions(cmd, cfg, log)
			if err != nil {
				return err
			}
			o.Once = once
			d, err := daemon.Open(o)
			if err != nil {
				var ce *daemon.ConfigError
				if errors.As(err, &ce) {
					return usageError{err}
				}
				return err
			}
			defer d.Close()
			sum, err := d.Run(cmd.Context())
			if sum != nil && once {
				if asJSON {
					if jerr := a.printJSON(sum); jerr != nil {
						return jerr
					}
				} else {
					printDaemonSummary(a, sum, filepath.Join(cfg.DataDir, "daemon"))
				}
			}
			return err
		},
	}
	bindConfigFlags(cmd, daemonKeys...)
	cmd.Flags().BoolVar(&once, "once", false, "poll once, process what was found to the end and exit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with --once, print the summary as JSON on stdout")
	return cmd
}

// daemonLogger logs at info level (one line per processed run), as JSON
// when stderr is not a terminal: a service's log is read by programs.
func daemonLogger(a *app) *slog.Logger {
	level := slog.LevelInfo
	if a.verbose {
		level = slog.LevelDebug
	}
	return newLoggerFormat(a.stderr, level, !isTerminal(a.stderr)).With("component", "daemon")
}

// daemonOptions wires the configuration into the daemon: the GitHub
// client, the state directory and the local pipeline.
func (a *app) daemonOptions(cmd *cobra.Command, cfg *config.Config, log *slog.Logger) (daemon.Options, error) {
	interval, _ := time.ParseDuration(cfg.Daemon.Interval) // checked by config
	backfill, _ := time.ParseDuration(cfg.Daemon.Backfill)
	token := cfg.GitHubToken.Value()
	if token == "" && cfg.GitHub.TokenFile != "" {
		t, err := ghactions.TokenFromFile(cfg.GitHub.TokenFile)
		if err != nil {
			return daemon.Options{}, usageError{err}
		}
		token = t
	}
	if token == "" {
		log.Warn("no GitHub token (GH_TOKEN, GITHUB_TOKEN or github.token_file): artifact downloads need one")
	}
	gh, err := ghactions.New(ghactions.Options{APIURL: cfg.GitHub.APIURL, Token: token,
		HTTPClient: &http.Client{Timeout: 2 * time.Minute}, Log: log.With("component", "github")})
	if err != nil {
		return daemon.Options{}, usageError{err}
	}
	local := &daemon.Local{
		// Named as its models are (fine_tuning.default_output_name), so
		// its Hub repository says whose dataset it is.
		DatasetName: cfg.FineTuning.DefaultOutputName + "-dataset",
		RunsDir:     filepath.Join(cfg.DataDir, "daemon", "runs"),
		Split:       pipeline.SplitOptions(cfg.Dataset),
		MaxPerRule:  cfg.Dataset.MaxPerRule, Log: log.With("component", "dataset"),
		Augment:    pipeline.AugmentOptions(cfg.Dataset),
		GateFailed: pipeline.GateFailed,
	}
	if cfg.Analysis.Endpoint != "" {
		local.Analysis = pipeline.AnalysisOptions(cfg, cfg.Analysis.Endpoint, cfg.Analysis.Model, a.log)
	}
	var mo pipeline.ModelOptions
	if !cfg.FineTuning.SkipInDaemon {
		var err error
		mo, err = a.modelOptions(cfg, cfg.DefaultBaseModel, modelFlags{})
		if err != nil {
			// The daemon still builds datasets; the summary says why it
			// does not fine-tune.
			log.Warn("fine-tuning unavailable", "err", err.Error())
		} else {
			local.Hooks = pipeline.ModelHooks(mo)
		}
	}
	if hf := cfg.FineTuning.HuggingFace; hf.UploadEnabled && !hf.SkipInDaemon {
		a.daemonPublisher(cfg, local, mo, log)
	}
	return daemon.Options{
		StateDir: filepath.Join(cfg.DataDir, "daemon"),
		Repos:    cfg.GitHub.Repos, Workflows: cfg.GitHub.Workflows, Branches: cfg.GitHub.Branches,
		ArtifactPatterns: cfg.GitHub.ArtifactPatterns, AllowForks: cfg.GitHub.AllowForks,
		Interval: interval, Backfill: backfill, FinetuneAfter: cfg.Daemon.FinetuneAfter,
		SkipFineTuning: cfg.FineTuning.SkipInDaemon, SkipPublishing: cfg.FineTuning.HuggingFace.SkipInDaemon,
		ModelPrefix:      cfg.FineTuning.DefaultOutputName,
		FinetuneLock:     filepath.Join(cfg.FineTuning.WorkspaceDir, "finetune.lock"),
		MaxArtifactBytes: int64(cfg.Daemon.MaxArtifactMiB) << 20,
		GitHub:           gh, Pipeline: local, Log: log,
	}, nil
}

// daemonPublisher lets the daemon publish its dataset and models as a run
// does (upload_enabled, the same gate and naming), or says in the log why
// it cannot; the daemon then notes publishing as not done and goes on.
func (a *app) daemonPublisher(cfg *config.Config, local *daemon.Local, mo pipeline.ModelOptions, log *slog.Logger) {
	var po pipeline.PublishOptions
	a.hubOptions(cfg, &po, true)
	po.Log = log.With("component", "hub")
	if err := pipeline.CheckToken(po); err != nil {
		log.Warn("publishing unavailable", "err", err.Error())
		return
	}
	e := mo.Engine
	if e == nil {
		var err error
		if e, err = a.openEngine(cfg); err != nil {
			log.Warn("publishing unavailable", "err", err.Error())
			return
		}
	}
	po.Engine = e
	local.Publisher = func(ctx context.Context, datasetDir string, model *daemon.ModelInfo) (daemon.Publication, error) {
		modelDir := ""
		if model != nil {
			modelDir = model.Dir
		}
		p, err := pipeline.PublishDirs(ctx, po, datasetDir, modelDir)
		var pub daemon.Publication
		if p.Dataset != nil {
			pub.DatasetURL = p.Dataset.URL
		}
		if p.Model != nil {
			pub.ModelURL = p.Model.URL
		}
		return pub, err
	}
}

func printDaemonSummary(a *app, s *daemon.Summary, stateDir string) {
	w := a.stdout
	fmt.Fprintf(w, "polled %d listing(s) in %d request(s) (%d unchanged): %d new run(s), %d processed\n",
		s.Listings, s.Requests, s.Unchanged, s.NewRuns, s.Processed)
	if s.Processed > 0 {
		fmt.Fprintf(w, "  %d parsed, %d skipped, %d failed; %d new finding(s)\n", s.Parsed, s.Skipped, s.Failed, s.NewFindings)
	}
	if s.Dataset != nil {
		fmt.Fprintf(w, "dataset rebuilt: %d examples (%s)\n", *s.Dataset, filepath.Join(stateDir, daemon.DatasetDir))
	}
	if s.Model != "" {
		fmt.Fprintf(w, "model trained: %s\n", s.Model)
	}
	if s.Published {
		fmt.Fprintln(w, "published")
	}
	if s.Processed == 0 && s.Dataset == nil && s.Model == "" && !s.Published {
		fmt.Fprintln(w, "nothing new")
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "failed runs are retried later: vulntune daemon status shows when\n")
	}
}
