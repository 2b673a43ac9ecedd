package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/pipeline"
)

func newDatasetCmd(a *app) *cobra.Command {
	var (
		findings, out, endpoint, model, name string
		artifacts                            []string
		noLLM, asJSON                        bool
	)
	cmd := &cobra.Command{
		Use:   "dataset (--findings FILE | --artifacts-dir DIR...)",
		Short: "Build the grounded, leak-free training dataset from findings",
		Long: `dataset turns findings into one chat example each: the finding as a scanner
presents it, and an answer with what it is, why it matters, where, the concrete
fix and how to verify it. Every fact comes from the finding or from tables
shipped with vulntune. With an analysis model, short prose is added only when it
passes a grounding check. The split keeps related findings in one split.
The training split also holds copies of its examples with every identifier
replaced (package, versions, vulnerability and CWE ids, paths, rule ids), more
of them for kinds and tools with fewer examples (config dataset.augment.*).

Without --no-llm and without --analysis-endpoint, the default base model is
served by the engine (` + "`vulntune setup`" + ` installs it).`,
		Example: `  vulntune dataset --artifacts-dir examples/artifacts --no-llm -o dataset
  vulntune dataset --findings findings.jsonl --analysis-endpoint http://127.0.0.1:11434 --analysis-model llama3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (findings == "") == (len(artifacts) == 0) {
				return usageError{errors.New("give exactly one of --findings or --artifacts-dir")}
			}
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			d := cfg.Dataset
			opts := pipeline.DatasetOptions{
				FindingsPath: findings, ArtifactPaths: artifacts, OutDir: out, Name: name, TempDir: cfg.TempDir(),
				Split:      pipeline.SplitOptions(d),
				MaxPerRule: d.MaxPerRule, Strict: d.Strict, Log: a.log,
				Augment: pipeline.AugmentOptions(d),
			}
			if !noLLM {
				if endpoint == "" {
					endpoint, model = cfg.Analysis.Endpoint, cfg.Analysis.Model
				}
				if endpoint == "" {
					srv, served, err := a.serveBaseModel(cmd, cfg)
					if err != nil {
						return err
					}
					defer srv.Close()
					endpoint, model = srv.URL(), served
				}
				opts.Analysis = pipeline.AnalysisOptions(cfg, endpoint, model, a.log)
			}
			bar := newProgress(a.stderr, !asJSON && !a.quiet)
			opts.Progress = bar.update
			res, err := pipeline.BuildDataset(cmd.Context(), opts)
			bar.done()
			if res != nil {
				if asJSON {
					if err := a.printJSON(res); err != nil {
						return err
					}
				} else {
					printDatasetSummary(a, res, out)
				}
			}
			if errors.Is(err, pipeline.ErrInputs) {
				return inputError{err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&findings, "findings", "", "findings.jsonl written by `vulntune parse`")
	f.StringSliceVar(&artifacts, "artifacts-dir", nil, "scanner artifacts to parse first (dir, file or zip; repeatable)")
	f.StringVarP(&out, "output", "o", "dataset", "dataset directory (replaced atomically)")
	f.StringVar(&name, "name", "", "dataset name for the card")
	f.BoolVar(&noLLM, "no-llm", false, "build the dataset without LLM analysis (fully deterministic)")
	f.StringVar(&endpoint, "analysis-endpoint", "", "OpenAI-compatible endpoint for analysis (default: serve the base model)")
	f.StringVar(&model, "analysis-model", "", "model name at --analysis-endpoint")
	bindConfigFlags(cmd, "dataset.valid_fraction", "dataset.test_fraction", "dataset.seed", "dataset.max_per_rule", "dataset.strict")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
	return cmd
}

// serveBaseModel starts the embedded OpenAI-compatible endpoint on the
// default base model; the caller closes the server.
func (a *app) serveBaseModel(cmd *cobra.Command, cfg *config.Config) (*engine.Server, string, error) {
	e, err := a.openEngine(cfg)
	if err != nil {
		return nil, "", err
	}
	dir, err := resolveModel(cfg, cfg.DefaultBaseModel)
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(a.stderr, "starting the analysis model %s ...\n", cfg.DefaultBaseModel)
	srv, err := e.Serve(cmd.Context(), dir, engine.ServeOptions{})
	if err != nil {
		return nil, "", err
	}
	// mlx_lm.server answers for the model it loaded whatever name is sent;
	// the directory is what its /v1/models lists.
	return srv, dir, nil
}

func printDatasetSummary(a *app, res *pipeline.DatasetResult, out string) {
	st := res.Stats
	fmt.Fprintf(a.stdout, "%d findings -> %d examples (%d suppressed excluded", res.Findings, res.Examples, res.Suppressed)
	if st != nil && res.Capped > 0 {
		fmt.Fprintf(a.stdout, ", %d over the cap of %d per rule left out", res.Capped, st.MaxPerRule)
	}
	fmt.Fprintln(a.stdout, ")")
	if st != nil {
		fmt.Fprintf(a.stdout, "splits: train %d, valid %d", st.Splits[dataset.Train], st.Splits[dataset.Valid])
		if st.Splits[dataset.Test] > 0 {
			fmt.Fprintf(a.stdout, ", test %d", st.Splits[dataset.Test])
		}
		fmt.Fprintf(a.stdout, " in %d leak-free groups (largest %d, %d near-duplicate links)\n", st.Split.Groups, st.Split.LargestGroup, st.Split.NearDupUnions)
		fmt.Fprintf(a.stdout, "answers: %d-%d characters (median %d)\n", st.Answer.Min, st.Answer.Max, st.Answer.Median)
		if ag := st.Augmentation; ag != nil {
			fmt.Fprintf(a.stdout, "augmentation: %d identifier-replaced copies in train (%d to %d per example)", ag.Added, ag.Copies, ag.MaxCopies)
			if n := sumCounts(ag.Skipped); n > 0 {
				fmt.Fprintf(a.stdout, ", %d not made or left out", n)
			}
			fmt.Fprintln(a.stdout)
		}
	}
	if an := res.Analysis; an != nil {
		fmt.Fprintf(a.stdout, "analysis: %d accepted, %d rejected %v, %d cache hits, %d calls, %d errors\n",
			an.Accepted, an.Rejected, an.RejectReasons, an.CacheHits, an.Calls, an.Errors)
	}
	printDrops(a, res.Dropped)
	for _, e := range res.InputErrors {
		fmt.Fprintf(a.stdout, "  error: %s\n", e)
	}
	for _, w := range res.InputWarnings {
		fmt.Fprintf(a.stdout, "  warning: %s\n", w)
	}
	fmt.Fprintf(a.stdout, "wrote %s (%.1fs)\n", out, res.Duration.Seconds())
}

// printDrops lists what the build checks left out: the count per reason
// and the first few examples, the rest being in stats.json.
func printDrops(a *app, drops []dataset.Drop) {
	if len(drops) == 0 {
		return
	}
	counts := dataset.DropCounts(drops)
	reasons := make([]string, 0, len(counts))
	for r, n := range counts {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	fmt.Fprintf(a.stdout, "dropped %d example(s) that failed a build check: %s\n", len(drops), strings.Join(reasons, ", "))
	for i, d := range drops {
		if i == dataset.ShownDrops {
			fmt.Fprintf(a.stdout, "  ... and %d more (stats.json lists them all)\n", len(drops)-dataset.ShownDrops)
			break
		}
		fmt.Fprintf(a.stdout, "  finding %s: %s (%s)\n", d.FindingID, d.Reason, d.Detail)
	}
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
