package explain

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes r for people: findings grouped by severity, then by
// file (or URL, or image), each with the model's answer quoted and the
// deterministic remediation facts beside it. An answer that fails the
// grounding check is marked with the identifiers it invented; it is shown
// as the model wrote it, never hidden or replaced.
func WriteMarkdown(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	fmt.Fprintf(bw, "# vulntune explain\n\n")
	fmt.Fprintf(bw, "Model `%s` answered %d finding(s): %d grounded, %d flagged as naming what the finding does not show",
		r.Model, s.Answered, s.Grounded, s.Flagged)
	if s.Cached > 0 {
		fmt.Fprintf(bw, " (%d answer(s) from the cache)", s.Cached)
	}
	fmt.Fprintf(bw, ".\nEach answer is the model's, verbatim; the remediation facts beside it are vulntune's own, from the finding and its shipped tables.\n")
	if left := s.Suppressed + s.BelowSeverity + s.OverLimit; left > 0 {
		fmt.Fprintf(bw, "Left out: %d suppressed, %d below the minimum severity, %d over the limit.\n", s.Suppressed, s.BelowSeverity, s.OverLimit)
	}
	sev, grp := "", "\x00"
	for i := range r.Findings {
		e := &r.Findings[i]
		if e.Severity != sev {
			sev, grp = e.Severity, "\x00"
			fmt.Fprintf(bw, "\n## %s (%d)\n", title(sev), countSeverity(r.Findings, sev))
		}
		if g := where(e); g != grp {
			grp = g
			if g == "" {
				g = "(no location reported)"
			}
			fmt.Fprintf(bw, "\n### %s\n", code(g))
		}
		writeFinding(bw, e)
	}
	if len(r.InputErrors) > 0 {
		fmt.Fprintf(bw, "\n## Input problems\n\n")
		for _, e := range r.InputErrors {
			fmt.Fprintf(bw, "- %s\n", e)
		}
	}
	if len(r.InputWarnings) > 0 {
		fmt.Fprintf(bw, "\n## Input warnings\n\n")
		for _, w := range r.InputWarnings {
			fmt.Fprintf(bw, "- %s\n", w)
		}
	}
	return bw.Flush()
}

func writeFinding(w io.Writer, e *Explanation) {
	fmt.Fprintf(w, "\n#### %s\n\n", oneLine(e.Title))
	ids := append(append([]string{}, e.VulnIDs...), e.CWE...)
	rule := e.Tool
	if e.Rule != "" {
		rule += " " + code(e.Rule)
	}
	fmt.Fprintf(w, "- %s · %s", rule, e.Kind)
	if len(ids) > 0 {
		fmt.Fprintf(w, " · %s", strings.Join(ids, ", "))
	}
	fmt.Fprintf(w, " · finding %s\n", code(shortID(e.FindingID)))
	if e.Line > 0 {
		fmt.Fprintf(w, "- Line %d\n", e.Line)
	}

	fmt.Fprintf(w, "\n**Model answer**")
	switch {
	case !e.Grounded:
		fmt.Fprintf(w, " — ⚠️ **not grounded**: names %s, which neither the finding nor its prompt shows", codes(e.Ungrounded))
	case e.FinishReason == "length":
		fmt.Fprintf(w, " — cut at the token limit")
	case e.FinishReason == "repetition":
		fmt.Fprintf(w, " — stopped: it went on repeating itself")
	}
	if e.Cached {
		fmt.Fprintf(w, " (cached)")
	}
	fmt.Fprintf(w, "\n\n")
	if e.Answer == "" {
		fmt.Fprintf(w, "> (empty answer)\n")
	}
	for _, l := range strings.Split(e.Answer, "\n") {
		if e.Answer != "" {
			fmt.Fprintf(w, "> %s\n", strings.TrimRight(l, " "))
		}
	}

	rem := e.Remediation
	fmt.Fprintf(w, "\n**Remediation facts**\n\n")
	wrote := false
	if rem.Package != "" {
		fmt.Fprintf(w, "- Package %s", code(rem.Package))
		if rem.InstalledVersion != "" {
			fmt.Fprintf(w, " %s", code(rem.InstalledVersion))
		}
		switch {
		case rem.FixedVersion != "":
			fmt.Fprintf(w, " → fixed in %s", code(rem.FixedVersion))
		case rem.Status != "":
			fmt.Fprintf(w, " → no fixed version to move to (%s)", rem.Status)
		}
		fmt.Fprintln(w)
		wrote = true
	}
	if rem.Summary != "" {
		fmt.Fprintf(w, "- %s\n", oneLine(rem.Summary))
		wrote = true
	}
	for _, c := range rem.Changes {
		label := c.BuildSystem
		if c.File != "" {
			label += " in " + code(c.File)
		}
		fmt.Fprintf(w, "- %s:\n\n%s\n%s\n%s\n\n", label, fence(c.Snippet), c.Snippet, fence(c.Snippet))
		wrote = true
	}
	if len(rem.Changes) == 0 {
		for _, s := range rem.Steps {
			fmt.Fprintf(w, "- %s\n", oneLine(s))
			wrote = true
		}
	}
	if len(rem.References) > 0 {
		fmt.Fprintf(w, "- See %s\n", strings.Join(rem.References, ", "))
		wrote = true
	}
	if !wrote {
		fmt.Fprintf(w, "- (none beyond the finding itself)\n")
	}
}

// where is what an explanation is grouped by.
func where(e *Explanation) string {
	switch {
	case e.Path != "":
		return e.Path
	case e.URL != "":
		return e.URL
	}
	return e.Image
}

func countSeverity(es []Explanation, sev string) int {
	n := 0
	for _, e := range es {
		if e.Severity == sev {
			n++
		}
	}
	return n
}

func title(s string) string {
	if s == "" {
		return "Unknown"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// code writes s as inline code with a fence longer than any backtick run
// inside it.
func code(s string) string {
	s = oneLine(s)
	n := longestRun(s, '`') + 1
	f := strings.Repeat("`", n)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return f + " " + s + " " + f
	}
	return f + s + f
}

func codes(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}

// fence is a code fence longer than any backtick run in s.
func fence(s string) string { return strings.Repeat("`", max(3, longestRun(s, '`')+1)) }

func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
