package validate

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints one row per check: group, check, status, detail.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tcheck\tstatus\tdetail")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Group, c.Name, c.Status, c.Detail)
	}
	return tw.Flush()
}
