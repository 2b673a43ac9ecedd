package hub

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints a publish for people: the repo, every file with its
// size and SHA-256, what was left out and why, the card, the gate's
// verdict, and what was sent (or that nothing was).
func WriteText(w io.Writer, r *Result) error {
	p := r.Plan
	vis := "public"
	if p.Private {
		vis = "private"
	}
	fmt.Fprintf(w, "publish %s %s (%s when created), revision %s", p.Kind, p.DisplayRepo(), vis, p.Revision)
	if p.Tag != "" {
		fmt.Fprintf(w, ", tag %s", p.Tag)
	}
	fmt.Fprintf(w, "\nfiles (%d, %d bytes):\n", len(p.Files), p.Bytes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, f := range p.Files {
		fmt.Fprintf(tw, "  %d\t  %s  %s\t\n", f.Size, f.SHA256, f.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintf(w, "not published (%d):\n", len(p.Skipped))
		for _, s := range p.Skipped {
			fmt.Fprintf(w, "  %s: %s\n", s.Path, s.Reason)
		}
	}
	if r.DryRun && p.Card != "" {
		fmt.Fprintln(w, "card (README.md):")
		for _, l := range strings.Split(strings.TrimRight(p.Card, "\n"), "\n") {
			fmt.Fprintf(w, "  | %s\n", l)
		}
	}
	if v := p.Verdict; v != nil {
		word := "PASSED"
		if !v.Passed {
			word = "REFUSED"
		}
		fmt.Fprintf(w, "gate: %s\n", word)
		for _, c := range v.Checks {
			st := "PASS"
			if !c.Passed {
				st = "FAIL"
			}
			fmt.Fprintf(w, "  %s  %s: %s\n", st, c.Name, c.Detail)
			for _, prob := range c.Problems {
				fmt.Fprintf(w, "        %s\n", prob)
			}
		}
	}
	switch pub := r.Published; {
	case r.DryRun:
		fmt.Fprintln(w, "dry run: nothing was sent")
	case pub == nil:
	case !pub.Committed:
		fmt.Fprintf(w, "unchanged: %s already holds this content at %s; no commit made\n", pub.Repo, short(pub.Commit))
	default:
		rate := 0.0
		if pub.Seconds > 0 {
			rate = float64(pub.BytesUploaded) / pub.Seconds
		}
		fmt.Fprintf(w, "published %s: commit %s (%d changed, %d removed; %d bytes uploaded in %.1f s, %.0f bytes/s)\n",
			pub.URL, short(pub.Commit), len(pub.Changed), len(pub.Deleted), pub.BytesUploaded, pub.Seconds, rate)
	}
	if pub := r.Published; pub != nil && pub.TagNew {
		fmt.Fprintf(w, "tagged %s\n", pub.Tag)
	}
	return nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
