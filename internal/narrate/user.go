package narrate

import (
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// userTemplates present a finding the way people meet it: a scanner's
// report block, a CI log line, a colleague's question, and a SARIF-like
// record. All carry the same facts; only the phrasing differs.
var userTemplates = []func(*finding.Finding) string{
	userReport,
	userLogLine,
	userQuestion,
	userRecord,
}

func pkgLine(f *finding.Finding) string {
	if f.Package == nil {
		return ""
	}
	p := f.Package
	s := p.Name
	if p.InstalledVersion != "" {
		s += " " + p.InstalledVersion
	}
	if p.Ecosystem != "" {
		s += " (" + p.Ecosystem + ")"
	}
	return s
}

func fixedLine(f *finding.Finding) string {
	if f.Package == nil || len(f.Package.FixedVersions) == 0 {
		return "none reported"
	}
	return strings.Join(f.Package.FixedVersions, ", ")
}

func ruleOf(f *finding.Finding) string {
	t := primaryTool(f)
	if t.RuleID != "" {
		return t.RuleID
	}
	if len(f.VulnIDs) > 0 {
		return f.VulnIDs[0]
	}
	return f.Title
}

func userReport(f *finding.Finding) string {
	t := primaryTool(f)
	var b strings.Builder
	fmt.Fprintf(&b, "%s reported this finding. Explain it and tell me how to fix it.\n\n", t.Name)
	fmt.Fprintf(&b, "Rule: %s\nSeverity: %s\n", ruleOf(f), strings.ToUpper(string(f.Severity)))
	if p := pkgLine(f); p != "" {
		fmt.Fprintf(&b, "Package: %s\nFixed version: %s\n", p, fixedLine(f))
	}
	fmt.Fprintf(&b, "Location: %s\n", where(f))
	fmt.Fprintf(&b, "Message: %s\n", clip(messageOf(f), 600))
	if f.Location.Snippet != "" && f.Kind != finding.KindDependency {
		fmt.Fprintf(&b, "Code:\n```\n%s\n```\n", clip(f.Location.Snippet, 500))
	}
	return strings.TrimSpace(b.String())
}

func userLogLine(f *finding.Finding) string {
	t := primaryTool(f)
	line := fmt.Sprintf("[%s] %s %s", strings.ToUpper(string(f.Severity)), t.Name, ruleOf(f))
	if f.Package != nil {
		line += fmt.Sprintf(" in %s@%s, fixed in: %s", f.Package.Name, f.Package.InstalledVersion, fixedLine(f))
	}
	line += " at " + where(f)
	return fmt.Sprintf("Our CI security scan failed with:\n\n%s\n%s\n\nWhat does this mean for us and what exactly should we change?",
		line, clip(messageOf(f), 400))
}

func userQuestion(f *finding.Finding) string {
	t := primaryTool(f)
	var subject string
	switch {
	case f.Package != nil:
		subject = fmt.Sprintf("%s flags %s version %s with %s (severity %s).", t.Name, f.Package.Name, f.Package.InstalledVersion, ruleOf(f), f.Severity)
	case f.Kind == finding.KindWeb:
		subject = fmt.Sprintf("%s alerts %q on %s (risk %s).", t.Name, f.Title, where(f), f.Severity)
	default:
		subject = fmt.Sprintf("%s flags %s with rule %s (severity %s).", t.Name, where(f), ruleOf(f), f.Severity)
	}
	q := subject + " It says: " + clip(messageOf(f), 400)
	if f.Location.Snippet != "" && f.Kind != finding.KindDependency {
		q += "\n\nThe flagged code is:\n```\n" + clip(f.Location.Snippet, 400) + "\n```"
	}
	return q + "\n\nIs this a real problem, and how do I fix it?"
}

func userRecord(f *finding.Finding) string {
	t := primaryTool(f)
	var b strings.Builder
	b.WriteString("Analyze this scanner result and give the remediation.\n\n")
	fmt.Fprintf(&b, "tool: %s", t.Name)
	if t.Version != "" {
		fmt.Fprintf(&b, " %s", t.Version)
	}
	fmt.Fprintf(&b, "\nrule_id: %s\nlevel: %s\nkind: %s\n", ruleOf(f), f.Severity, f.Kind)
	if len(f.CWE) > 0 {
		fmt.Fprintf(&b, "cwe: %s\n", strings.Join(f.CWE, ", "))
	}
	if f.Package != nil {
		fmt.Fprintf(&b, "package: %s\ninstalled_version: %s\nfixed_versions: %s\n", f.Package.Name, f.Package.InstalledVersion, fixedLine(f))
	}
	fmt.Fprintf(&b, "location: %s\nmessage: %s", where(f), clip(messageOf(f), 500))
	return b.String()
}

// messageOf is the scanner's own text for the finding: its message, or the
// title when the message is empty or only repeats the package line.
func messageOf(f *finding.Finding) string {
	m := strings.TrimSpace(f.Message)
	if m == "" || strings.HasPrefix(m, "Package:") {
		if f.Title != "" {
			return f.Title
		}
	}
	if m == "" {
		return "(no message)"
	}
	return m
}
