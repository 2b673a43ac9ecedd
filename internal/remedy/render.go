package remedy

import (
	"fmt"
	"strings"
)

// Text renders the remediation as plain text with fixed section headings, in
// the order a reader acts on it. Narrate may quote it whole; the grounding
// test checks every version, id and path in it against the finding.
func (r Remediation) Text() string {
	var b strings.Builder
	b.WriteString(r.Summary)
	b.WriteString("\n")
	if c := r.Choice; c != nil && len(c.Alternatives) > 0 {
		fmt.Fprintf(&b, "\nOther fixed versions above the installed one: %s.\n", strings.Join(c.Alternatives, ", "))
	}
	if len(r.Changes) > 0 {
		b.WriteString("\nChanges:\n")
		for _, c := range r.Changes {
			head := c.BuildSystem
			if c.File != "" {
				head += ", " + c.File
			}
			if c.Scope != "" && c.Scope != ScopeAny {
				head += " (" + string(c.Scope) + " dependency)"
			}
			fmt.Fprintf(&b, "- %s: %s\n%s\n", head, c.Note, indent(c.Snippet, "    "))
		}
	}
	if len(r.Steps) > 0 {
		b.WriteString("\nSteps:\n")
		for i, s := range r.Steps {
			fmt.Fprintf(&b, "%d. %s\n", i+1, s)
		}
	}
	if len(r.Verification) > 0 {
		b.WriteString("\nVerify:\n")
		for _, s := range r.Verification {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	if len(r.References) > 0 {
		b.WriteString("\nReferences:\n")
		for _, s := range r.References {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}
