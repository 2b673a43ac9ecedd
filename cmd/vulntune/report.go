package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/report"
)

func newReportCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Render a run directory as one self-contained report.html",
		Long: `report renders RUN_DIR (a directory ` + "`vulntune run`" + ` wrote) as one HTML page
with no script and nothing fetched: the run's inputs with their hashes, each
phase's status and duration, the findings by tool, kind and severity, the
dataset's splits and what was dropped and why, the loss curves, base vs tuned
evaluation per kind, the quality gate's verdict and sample answers beside
their references. A part the run did not reach says why (run.json's reason).
` + "`vulntune run`" + ` writes the same page into its run directory at the end of every run.`,
		Example: `  vulntune report ./run
  vulntune report ./run -o /tmp/run-report.html
  vulntune report ./run -o - > report.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := report.Options{RunDir: args[0]}
			if out == "-" {
				return report.Render(a.stdout, opts)
			}
			if out == "" {
				out = filepath.Join(args[0], report.FileName)
			}
			if err := report.WriteFile(out, opts); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", `where to write the page ("-": stdout; default RUN_DIR/`+report.FileName+`)`)
	return cmd
}
