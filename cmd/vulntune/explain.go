package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/explain"
)

func newExplainCmd(a *app) *cobra.Command {
	var (
		model, format, out, minSeverity string
		limit, maxTokens, batch         int
		noCache, free                   bool
	)
	cmd := &cobra.Command{
		Use:   "explain REPORT...|FINDINGS.jsonl",
		Short: "Answer the findings of a scan with a local model, beside vulntune's own remediation",
		Long: `explain reads scanner reports as parse does (the same formats, redaction and
dedupe) or a findings.jsonl that parse wrote, and has a model answer each
finding with the prompt the dataset trains on. Every answer is checked with
evaluation's grounding test: an answer that names ids, versions, paths or URLs
in neither the finding nor its prompt is marked, never hidden or replaced.

The report (Markdown by default) groups findings by severity and file and puts
each answer beside the deterministic facts: the fixed version and the upgrade
snippet. --format json is for scripts (schema in internal/explain). --format
sarif appends each answer to its result's message (what code-scanning UIs
show), with the model and the grounding verdict, and keeps it in
properties.vulntune (answer, model, grounding verdict); it writes no fixes[]
(SARIF requires an exact file edit of each, which vulntune does not know).
When every input is a SARIF file, the output is those logs with their results
enriched (matched by the finding ids parse computes); otherwise a SARIF 2.1.0
log of the findings.
--format html is the Markdown report as one self-contained page.

The model is --model, else the newest fine-tuned model, else the default base
model. Answers are greedy, decoded as evaluation decodes them, with the prompt
prefix all findings share processed once, identical prompts answered once, and
an answer that keeps repeating itself stopped (marked in the report). Answers are cached under <data_dir>/cache/explain by engine, model files,
max tokens and prompt: explaining an unchanged scan again generates nothing.`,
		Example: `  vulntune explain examples/artifacts > explained.md
  vulntune explain findings.jsonl --min-severity high --limit 20 -o explained.md
  vulntune explain trivy.sarif --format sarif -o trivy.explained.sarif`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := explain.CheckFormat(format); err != nil {
				return usageError{err}
			}
			sev, err := explain.ParseSeverity(minSeverity)
			if err != nil {
				return usageError{fmt.Errorf("--min-severity: %w", err)}
			}
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if model == "" {
				if model, err = explain.NewestFineTuned(cfg.FineTunedModelsDir); err != nil {
					return err
				}
			}
			dir, err := resolveModel(cfg, model)
			if err != nil {
				return err
			}
			e, err := a.openEngine(cfg)
			if err != nil {
				return err
			}
			a.log.Info("explaining", "model", filepath.Base(dir))
			bar := newProgress(a.stderr, !a.quiet)
			cacheDir := ""
			if !noCache {
				cacheDir = filepath.Join(cfg.DataDir, "cache", "explain")
			}
			r, err := explain.Run(cmd.Context(), explain.Options{
				Inputs: args, TempDir: cfg.TempDir(), MinSeverity: sev, Limit: limit,
				ModelDir: dir, MaxTokens: maxTokens, SARIF: format == "sarif", BatchSize: batch, Engine: e, CacheDir: cacheDir, Log: a.log,
				Free:     free,
				Progress: func(done, total int) { bar.update("explain", done, total) },
			})
			bar.done()
			if err != nil {
				return err
			}
			for _, ie := range r.InputErrors {
				a.log.Warn("input error", "error", ie)
			}
			if out == "" {
				err = explain.Write(a.stdout, r, format)
			} else {
				err = explain.WriteFile(out, r, format)
			}
			if err != nil {
				return err
			}
			if !a.quiet {
				if err := explain.WriteSummary(a.stderr, r.Summary); err != nil {
					return err
				}
			}
			if len(r.InputErrors) > 0 {
				return inputError{fmt.Errorf("%d input problem(s); the other findings were explained", len(r.InputErrors))}
			}
			if r.Summary.Findings == 0 {
				return inputError{errors.New("no findings in the given paths")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model name or directory (default: the newest fine-tuned model, else default_base_model)")
	f.StringVar(&format, "format", "markdown", "output format: markdown, json, sarif or html")
	f.StringVarP(&out, "output", "o", "", "write the report to FILE (atomically) instead of stdout")
	f.StringVar(&minSeverity, "min-severity", "", "explain only findings at least this severe: critical, high, medium, low or info")
	f.IntVar(&limit, "limit", 0, "explain only the N most severe findings (0: all)")
	f.IntVar(&maxTokens, "max-tokens", explain.DefaultMaxTokens, "most tokens per answer")
	f.IntVar(&batch, "batch-size", explain.DefaultBatchSize, "answers generated together")
	f.BoolVar(&noCache, "no-cache", false, "answer every finding anew instead of reusing cached answers")
	f.BoolVar(&free, "free", false, "decode freely: let answers name ids, versions, paths and URLs the finding does not, and give fix snippets the installed version (default: grounded decoding)")
	return cmd
}
