package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/daemon"
)

func newDaemonStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's polls, cursors, queue, failures, last dataset, model and publication",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			st, err := daemon.ReadStatus(filepath.Join(cfg.DataDir, "daemon"))
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(st)
			}
			printDaemonStatus(a, st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON on stdout")
	return cmd
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func printDaemonStatus(a *app, st *daemon.Status) {
	w := a.stdout
	if !st.Initialized {
		fmt.Fprintf(w, "the daemon has not run yet (state: %s)\n", st.StateDir)
		return
	}
	running := "not running"
	if st.Running {
		running = fmt.Sprintf("running (pid %d)", st.PID)
	}
	fmt.Fprintf(w, "daemon: %s; %d poll(s), last %s, next %s\n", running, st.Polls, when(st.LastPoll), when(st.NextPoll))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO\tWORKFLOW\tBRANCH\tCURSOR\tLAST CHANGE")
	for _, t := range st.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Repo, orAny(t.Workflow), orAny(t.Branch), when(t.Cursor), when(t.LastChange))
	}
	tw.Flush()
	var counts []string
	for _, s := range []string{daemon.StatePending, daemon.StateDownloaded, daemon.StateParsed, daemon.StateDataset,
		daemon.StateTrained, daemon.StatePublished, daemon.StateSkipped, daemon.StateFailed} {
		if n := st.Runs[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(w, "runs: %s; %d findings stored\n", orNone(strings.Join(counts, ", ")), st.Findings)
	for _, r := range st.Queue {
		fmt.Fprintf(w, "  queued: %s run %d (#%d) %s\n", r.Repo, r.ID, r.RunNumber, r.State)
	}
	for _, r := range st.Failures {
		next := "given up after " + fmt.Sprint(r.Attempts) + " attempts"
		if !r.NextAttempt.IsZero() {
			next = "retry at " + when(r.NextAttempt)
		}
		fmt.Fprintf(w, "  failed: %s run %d (#%d), attempt %d, %s: %s\n", r.Repo, r.ID, r.RunNumber, r.Attempts, next, r.Reason)
	}
	for _, s := range st.Steps {
		fmt.Fprintf(w, "  %s failed %d time(s), retry at %s: %s\n", s.Name, s.Attempts, when(s.NextAttempt), s.LastError)
	}
	if st.Dataset != nil {
		fmt.Fprintf(w, "dataset: %d examples from %d findings, built %s (%s)\n", st.Dataset.Examples, st.Dataset.Findings, when(st.Dataset.BuiltAt), st.Dataset.Dir)
	}
	if m := st.Model; m != nil {
		fmt.Fprintf(w, "model: %s %s", m.Name, m.State)
		if m.Dir != "" {
			fmt.Fprintf(w, " (%s)", m.Dir)
		}
		if m.Reason != "" {
			fmt.Fprintf(w, ": %s", m.Reason)
		}
		fmt.Fprintln(w)
	}
	if p := st.Publication; p != nil {
		fmt.Fprintf(w, "published %s: dataset %s", when(p.PublishedAt), orNone(p.DatasetURL))
		if p.ModelURL != "" {
			fmt.Fprintf(w, ", model %s", p.ModelURL)
		}
		fmt.Fprintln(w)
	}
}

func orAny(s string) string {
	if s == "" {
		return "(all)"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
