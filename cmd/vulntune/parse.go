package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/ingest"
)

func newParseCmd(a *app) *cobra.Command {
	var out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "parse PATH...",
		Short: "Read scanner reports into deduplicated, redacted findings (findings.jsonl)",
		Long: `parse reads SARIF 2.1.0 from any producer and the native JSON of OSV-Scanner,
ZAP, Semgrep, Trivy, Gitleaks, Grype, Checkov and KICS. PATH may be a file, a
directory (walked recursively) or a zip archive as GitHub Actions hands out.
Formats are recognised by content, never by file name.

Findings are fingerprinted, secrets are masked, and the same issue reported by
several files or tools becomes one finding. Inputs that cannot be read are
reported with the file and position; the others are still processed and the
exit status is 5. A problem a reader worked around, keeping the finding (a
SARIF location that names no file), is printed as a warning and leaves the
exit status alone.`,
		Example: `  vulntune parse examples/artifacts
  vulntune parse -o findings.jsonl trivy.sarif osv.json artifact.zip
  vulntune parse --json examples/artifacts | jq .breakdown`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			res, err := ingest.Run(cmd.Context(), args, ingest.Options{Output: out, TempDir: cfg.TempDir()})
			if err != nil {
				return err
			}
			for _, e := range res.Errors {
				a.log.Warn("input error", "error", e.Error())
			}
			s := ingest.Summarize(res)
			s.Output = out
			if asJSON {
				if err := a.printJSON(s); err != nil {
					return err
				}
			} else if err := s.WriteText(a.stdout); err != nil {
				return err
			}
			if len(res.Errors) > 0 {
				return inputError{fmt.Errorf("%d input problem(s); the other inputs were processed", len(res.Errors))}
			}
			if len(res.Files) == 0 {
				return inputError{errors.New("no scanner reports found in the given paths")}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "findings.jsonl", "where to write the findings (JSON lines, written atomically)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON on stdout")
	return cmd
}
