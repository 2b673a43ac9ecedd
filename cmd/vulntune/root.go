package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// app carries what every command needs: the output streams, the logger and
// the global flags. Tests build one with buffers and call run directly.
type app struct {
	stdout, stderr io.Writer
	verbose        bool
	quiet          bool
	configPath     string
	log            *slog.Logger
}

// printJSON writes v to stdout as indented JSON, the --json output of every
// command.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// run builds the command tree, executes args and maps the outcome to an exit
// code. It is the only way into the CLI, for main and for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vulntune:", userMessage(err))
	}
	return exitCode(ctx, err)
}

// newRootCmd builds the whole command tree around a.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "vulntune",
		Short: "Turn security-scanner output into a grounded dataset and a fine-tuned local model",
		Long: `vulntune reads the SARIF and JSON that Trivy, Checkov, Semgrep, Gitleaks,
OSV-Scanner, ZAP, CodeQL and others leave in CI, and turns it into a
deduplicated, secret-free dataset of "finding -> analysis and fix" examples.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(*cobra.Command, []string) {
			level := slog.LevelWarn
			if a.verbose {
				level = slog.LevelDebug
			}
			a.log = newLogger(a.stderr, level)
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log detail to stderr")
	root.PersistentFlags().BoolVarP(&a.quiet, "quiet", "q", false, "no progress lines, only warnings, errors and the result")
	root.PersistentFlags().StringVar(&a.configPath, "config", "",
		"YAML config file; precedence is flag > VULNTUNE_* environment > file > defaults")
	for _, c := range commands(a) {
		root.AddCommand(c)
	}
	return root
}

// commands lists every subcommand constructor; one file per command.
func commands(a *app) []*cobra.Command {
	return []*cobra.Command{
		newParseCmd(a),
		newConfigCmd(a),
		newSetupCmd(a), newDoctorCmd(a), newGenerateCmd(a), newServeCmd(a),
		newModelsCmd(a),
		newDatasetCmd(a),
		newEvaluateCmd(a), newValidateCmd(a), newExportCmd(a), newExplainCmd(a),
		newRunCmd(a), newReportCmd(a),
		newFinetuneCmd(a),
		newPublishCmd(a),
		newDaemonCmd(a),
	}
}
