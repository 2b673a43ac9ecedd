package ingest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/vulntune/vulntune/internal/finding"
)

// Summary is the account of one ingest that `vulntune parse` prints, as a
// table for people or as JSON (--json) for scripts.
type Summary struct {
	FilesRead  int            `json:"files_read"`
	Files      []FileResult   `json:"files"`
	Skipped    []string       `json:"skipped"`
	Findings   int            `json:"findings"`
	Reports    int            `json:"reports"`
	Merged     int            `json:"merged_duplicates"`
	MultiTool  int            `json:"multi_tool"`
	Suppressed int            `json:"suppressed"`
	Redactions map[string]int `json:"redactions"`
	// Elided counts JSON strings over 64 KiB cut to their head and tail.
	Elided int `json:"elided_fields"`
	// RootlessPaths counts paths in a home directory no checkout root was
	// found for (written with the home and user segments dropped).
	RootlessPaths int      `json:"rootless_paths"`
	Breakdown     []Count  `json:"breakdown"`
	Errors        []string `json:"errors"`
	// Warnings are problems parsers worked around, keeping the findings
	// (report.Error's Warning); they leave the exit code alone.
	Warnings    []string       `json:"warnings,omitempty"`
	Output      string         `json:"output,omitempty"`
	ByKind      map[string]int `json:"by_kind"`
	BySeverity  map[string]int `json:"by_severity"`
	FormatsSeen map[string]int `json:"formats"`
}

// Count is one row of the tool × kind × severity breakdown. A finding
// reported by two tools counts once under each.
type Count struct {
	Tool     string `json:"tool"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	N        int    `json:"n"`
}

// Counts tallies merged findings as they are produced, so a summary needs
// no second pass over them.
type Counts struct {
	Findings   int
	Suppressed int
	ByKind     map[string]int
	BySeverity map[string]int
	Breakdown  map[Count]int // N unset in keys
}

func newCounts() Counts {
	return Counts{ByKind: map[string]int{}, BySeverity: map[string]int{}, Breakdown: map[Count]int{}}
}

func (c *Counts) add(f *finding.Finding) {
	c.Findings++
	if f.Suppressed {
		c.Suppressed++
	}
	c.ByKind[string(f.Kind)]++
	c.BySeverity[string(f.Severity)]++
	seen := map[string]bool{}
	for _, t := range f.Tools {
		if !seen[t.Name] {
			seen[t.Name] = true
			c.Breakdown[Count{Tool: t.Name, Kind: string(f.Kind), Severity: string(f.Severity)}]++
		}
	}
}

// Summarize builds the Summary of res.
func Summarize(res *Result) Summary {
	s := Summary{
		Files: res.Files, Skipped: res.Skipped,
		Reports: res.Merge.Input, Merged: res.Merge.Merged, MultiTool: res.Merge.MultiTool, RootlessPaths: res.RootlessPaths,
		Redactions: map[string]int{}, Breakdown: []Count{}, Errors: []string{},
		ByKind: map[string]int{}, BySeverity: map[string]int{}, FormatsSeen: map[string]int{},
	}
	if s.Files == nil {
		s.Files = []FileResult{}
	}
	if s.Skipped == nil {
		s.Skipped = []string{}
	}
	for _, f := range res.Files {
		s.Elided += f.Elided
		if f.Format != "" {
			s.FilesRead++
			s.FormatsSeen[f.Format]++
		}
	}
	for k, v := range res.Redactions {
		s.Redactions[k] = v
	}
	s.Findings, s.Suppressed = res.Counts.Findings, res.Counts.Suppressed
	for k, v := range res.Counts.ByKind {
		s.ByKind[k] = v
	}
	for k, v := range res.Counts.BySeverity {
		s.BySeverity[k] = v
	}
	counts := res.Counts.Breakdown
	for c, n := range counts {
		c.N = n
		s.Breakdown = append(s.Breakdown, c)
	}
	sort.Slice(s.Breakdown, func(a, b int) bool {
		x, y := s.Breakdown[a], s.Breakdown[b]
		if x.Tool != y.Tool {
			return x.Tool < y.Tool
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return finding.Severity(x.Severity).Rank() > finding.Severity(y.Severity).Rank()
	})
	for _, e := range res.Errors {
		s.Errors = append(s.Errors, e.Error())
	}
	for _, e := range res.Warnings {
		s.Warnings = append(s.Warnings, e.Error())
	}
	return s
}

// WriteText prints the summary as aligned tables for a person.
func (s Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Files\n")
	for _, f := range s.Files {
		status := fmt.Sprintf("%d findings", f.Findings)
		if f.Error != "" {
			status += " (errors)"
		}
		if len(f.Warnings) > 0 {
			status += " (warnings)"
		}
		format := f.Format
		if format == "" {
			format = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Path, format, status)
	}
	tw.Flush()

	fmt.Fprintf(tw, "\nFindings by tool, kind and severity\n")
	fmt.Fprintf(tw, "  TOOL\tKIND\t%s\n", strings.ToUpper(strings.Join(sevNames(), "\t")))
	type row struct{ tool, kind string }
	rows := map[row]map[string]int{}
	var order []row
	for _, c := range s.Breakdown {
		r := row{c.Tool, c.Kind}
		if rows[r] == nil {
			rows[r] = map[string]int{}
			order = append(order, r)
		}
		rows[r][c.Severity] = c.N
	}
	for _, r := range order {
		cells := make([]string, 0, len(finding.Severities))
		for _, sev := range finding.Severities {
			cells = append(cells, fmt.Sprint(rows[r][string(sev)]))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.tool, r.kind, strings.Join(cells, "\t"))
	}
	tw.Flush()

	red := 0
	for _, n := range s.Redactions {
		red += n
	}
	fmt.Fprintf(w, "\n%d files read (%d skipped), %d reports -> %d findings (%d merged duplicates, %d seen by several tools), %d suppressed, %d secrets redacted",
		s.FilesRead, len(s.Skipped), s.Reports, s.Findings, s.Merged, s.MultiTool, s.Suppressed, red)
	if red > 0 {
		keys := make([]string, 0, len(s.Redactions))
		for k := range s.Redactions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, s.Redactions[k])
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	if s.RootlessPaths > 0 {
		fmt.Fprintf(w, ", %d paths without a checkout root (home directory dropped)", s.RootlessPaths)
	}
	if s.Elided > 0 {
		fmt.Fprintf(w, ", %d strings over 64 KiB cut to head and tail", s.Elided)
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintf(w, ", %d warnings", len(s.Warnings))
	}
	fmt.Fprintf(w, ", %d errors\n", len(s.Errors))
	for _, e := range s.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
	for _, e := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", e)
	}
	if s.Output != "" {
		fmt.Fprintf(w, "wrote %s\n", s.Output)
	}
	return nil
}

func sevNames() []string {
	out := make([]string, len(finding.Severities))
	for i, s := range finding.Severities {
		out[i] = string(s)
	}
	return out
}
