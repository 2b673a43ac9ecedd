package narrate

import (
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

// userTemplates present a finding the way people meet it: a scanner's
// report block, a CI log line, a colleague's question, and a SARIF-like
// record. All carry the same facts; only the phrasing differs.
var userTemplates = []func(*finding.Finding, remedy.Remediation) string{
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
	return s + ecosystemNote(f)
}

// ecosystemNote is " (npm)" for a package of a known ecosystem, as the
// answer's "Where" writes it. Every phrasing shows it: the answer's build
// system (`go get`, not `npm install`) turns on it, and a prompt without
// it left the model to guess from the path (issue 16: golang.org/x/net in
// a binary answered with npm, composer.lock with pip).
func ecosystemNote(f *finding.Finding) string {
	if f.Package == nil || f.Package.Ecosystem == "" {
		return ""
	}
	return " (" + f.Package.Ecosystem + ")"
}

// versioned is "name@version", or the name alone where the scanner gave no
// version (a license finding's package): "name@" is no reference anyone
// writes.
func versioned(p *finding.Package) string {
	if p.InstalledVersion == "" {
		return p.Name
	}
	return p.Name + "@" + p.InstalledVersion
}

// fixable is whether a finding's fix is a version: a vulnerable package's.
// A license finding names a package too, but no release fixes a license,
// and "fixed versions: none reported" would say one is missing.
func fixable(f *finding.Finding) bool {
	return f.Package != nil && f.Kind == finding.KindDependency
}

// fixedLine lists the fixed versions the scanner reported, the one the
// remediation recommends first and marked with its release line in the
// answer's words (remedy.LineNote): vulntune presents findings to the
// model, and a normalised presentation puts the facts the answer turns on
// where they are read, instead of making a small model redo semver
// ranking (unmarked, the tuned model named the newest fix of the list) or
// release-line arithmetic.
func fixedLine(f *finding.Finding, rem remedy.Remediation) string {
	if f.Package == nil || len(f.Package.FixedVersions) == 0 {
		return "none reported"
	}
	all := remedy.NormalizeFixed(f.Package.FixedVersions)
	if len(all) == 0 {
		return strings.Join(f.Package.FixedVersions, ", ")
	}
	if c := rem.Choice; c != nil && c.Fixed != "" && c.Status != remedy.StatusNotAffected {
		note := "recommended"
		if line := remedy.LineNote(*c); line != "" {
			note += ": " + line
		}
		if c.Listed != "" {
			// The recommendation is not listed as is: the prompt must name
			// it, and say which listed version it stands for.
			note += "; listed as " + c.Listed
		}
		first := c.Fixed + " (" + note + ")"
		out := []string{first}
		for _, v := range all {
			if v != c.Fixed && v != c.Listed {
				out = append(out, v)
			}
		}
		all = out
	}
	return strings.Join(all, ", ")
}

// cweLine lists the finding's CWE ids, each with its name from the shipped
// catalogue, as scanners such as Semgrep print them.
func cweLine(f *finding.Finding, rem remedy.Remediation) string {
	names := map[string]string{}
	for _, c := range rem.CWE {
		names[c.ID] = c.Name
	}
	out := make([]string, len(f.CWE))
	for i, id := range f.CWE {
		out[i] = id
		if n := names[id]; n != "" {
			out[i] += " (" + n + ")"
		}
	}
	return strings.Join(out, ", ")
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

func userReport(f *finding.Finding, rem remedy.Remediation) string {
	t := primaryTool(f)
	var b strings.Builder
	fmt.Fprintf(&b, "%s reported this finding. Explain it and tell me how to fix it.\n\n", t.Name)
	fmt.Fprintf(&b, "Rule: %s\nSeverity: %s\n", ruleOf(f), strings.ToUpper(string(f.Severity)))
	if a := aliasLine(f); a != "" {
		fmt.Fprintf(&b, "Aliases: %s\n", a)
	}
	if len(f.CWE) > 0 {
		fmt.Fprintf(&b, "CWE: %s\n", cweLine(f, rem))
	}
	if p := pkgLine(f); p != "" {
		fmt.Fprintf(&b, "Package: %s\n", p)
		if fixable(f) {
			fmt.Fprintf(&b, "Fixed version: %s\n", fixedLine(f, rem))
		}
	}
	fmt.Fprintf(&b, "Location: %s\n", where(f))
	fmt.Fprintf(&b, "Message: %s\n", clip(messageOf(f), 600))
	if d := extraDetail(f); d != "" {
		fmt.Fprintf(&b, "Description: %s\n", d)
	}
	if h := helpOf(f); h != "" {
		fmt.Fprintf(&b, "Help: %s\n", h)
	}
	if f.Location.Snippet != "" && f.Kind != finding.KindDependency {
		fmt.Fprintf(&b, "Code:\n```\n%s\n```\n", clip(f.Location.Snippet, 500))
	}
	return strings.TrimSpace(b.String())
}

func userLogLine(f *finding.Finding, rem remedy.Remediation) string {
	t := primaryTool(f)
	line := fmt.Sprintf("[%s] %s %s", strings.ToUpper(string(f.Severity)), t.Name, ruleOf(f))
	if tags := tagList(f, rem); tags != "" {
		line += " (" + tags + ")"
	}
	if f.Package != nil {
		line += fmt.Sprintf(" in %s%s", versioned(f.Package), ecosystemNote(f))
		if fixable(f) {
			line += ", fixed in: " + fixedLine(f, rem)
		}
	}
	line += " at " + where(f)
	msg := clip(messageOf(f), 400)
	if d := extraDetail(f); d != "" {
		msg += "\n" + d
	}
	if h := helpOf(f); h != "" {
		msg += "\nSee " + h
	}
	return fmt.Sprintf("Our CI security scan failed with:\n\n%s\n%s\n\nWhat does this mean for us and what exactly should we change?",
		line, msg)
}

func userQuestion(f *finding.Finding, rem remedy.Remediation) string {
	t := primaryTool(f)
	var subject string
	switch {
	case f.Package != nil:
		pkg := f.Package.Name
		if v := f.Package.InstalledVersion; v != "" {
			pkg += " version " + v
		}
		subject = fmt.Sprintf("%s flags %s%s with %s (severity %s) in %s",
			t.Name, pkg, ecosystemNote(f), ruleOf(f), f.Severity, where(f))
		if fixable(f) {
			subject += "; fixed versions: " + fixedLine(f, rem)
		}
		subject += "."
	case f.Kind == finding.KindWeb:
		subject = fmt.Sprintf("%s alerts %q (rule %s) on %s (risk %s).", t.Name, f.Title, ruleOf(f), where(f), f.Severity)
	default:
		subject = fmt.Sprintf("%s flags %s with rule %s (severity %s).", t.Name, where(f), ruleOf(f), f.Severity)
	}
	if tags := tagList(f, rem); tags != "" {
		subject += " It is tagged " + tags + "."
	}
	q := subject + " It says: " + clip(messageOf(f), 400)
	if d := extraDetail(f); d != "" {
		q += " " + d
	}
	if h := helpOf(f); h != "" {
		q += " The rule's page: " + h
	}
	if f.Location.Snippet != "" && f.Kind != finding.KindDependency {
		q += "\n\nThe flagged code is:\n```\n" + clip(f.Location.Snippet, 400) + "\n```"
	}
	return q + "\n\nIs this a real problem, and how do I fix it?"
}

func userRecord(f *finding.Finding, rem remedy.Remediation) string {
	t := primaryTool(f)
	var b strings.Builder
	b.WriteString("Analyze this scanner result and give the remediation.\n\n")
	fmt.Fprintf(&b, "tool: %s", t.Name)
	if t.Version != "" {
		fmt.Fprintf(&b, " %s", t.Version)
	}
	fmt.Fprintf(&b, "\nrule_id: %s\nlevel: %s\nkind: %s\n", ruleOf(f), f.Severity, f.Kind)
	if a := aliasLine(f); a != "" {
		fmt.Fprintf(&b, "aliases: %s\n", a)
	}
	if len(f.CWE) > 0 {
		fmt.Fprintf(&b, "cwe: %s\n", cweLine(f, rem))
	}
	if f.Package != nil {
		fmt.Fprintf(&b, "package: %s\n", f.Package.Name)
		if e := f.Package.Ecosystem; e != "" {
			fmt.Fprintf(&b, "ecosystem: %s\n", e)
		}
		if v := f.Package.InstalledVersion; v != "" {
			fmt.Fprintf(&b, "installed_version: %s\n", v)
		}
		if fixable(f) {
			fmt.Fprintf(&b, "fixed_versions: %s\n", fixedLine(f, rem))
		}
	}
	fmt.Fprintf(&b, "location: %s\nmessage: %s", where(f), clip(messageOf(f), 500))
	if d := extraDetail(f); d != "" {
		fmt.Fprintf(&b, "\ndescription: %s", d)
	}
	if h := helpOf(f); h != "" {
		fmt.Fprintf(&b, "\nhelp_uri: %s", h)
	}
	return b.String()
}

// messageOf is the scanner's own text for the finding: its message, or the
// title when the message is empty or only repeats the package line.
func messageOf(f *finding.Finding) string {
	m := strings.TrimSpace(f.Message)
	if m == "" || repeatsPackage(m) {
		if f.Title != "" {
			return f.Title
		}
	}
	if m == "" {
		return "(no message)"
	}
	return m
}

// repeatsPackage reports whether m, a scanner's message, only repeats the
// package line the prompt gives anyway (Trivy's "Package: …").
func repeatsPackage(m string) bool { return strings.HasPrefix(m, "Package:") }

// aliasLine lists the finding's vulnerability ids other than its rule: the
// canonical id the answer leads with, then up to maxAliases aliases (the
// answer does not repeat them; its link names the advisory).
func aliasLine(f *finding.Finding) string {
	if f.Package == nil {
		return ""
	}
	rule, primary := ruleOf(f), primaryID(f)
	var ids []string
	if !strings.EqualFold(primary, rule) {
		ids = append(ids, primary)
	}
	others := 0
	for _, id := range f.VulnIDs {
		if !strings.EqualFold(id, rule) && !strings.EqualFold(id, primary) && others < maxAliases {
			ids = append(ids, id)
			others++
		}
	}
	return strings.Join(ids, ", ")
}

// tagList is the aliases and CWE ids in one list, for the one-line phrasings.
func tagList(f *finding.Finding, rem remedy.Remediation) string {
	var tags []string
	if a := aliasLine(f); a != "" {
		tags = append(tags, a)
	}
	if len(f.CWE) > 0 {
		tags = append(tags, cweLine(f, rem))
	}
	return strings.Join(tags, "; ")
}

// extraDetail is the part of the scanner's description the answer quotes
// that the message does not already carry: every phrasing shows it, so an
// answer never states what its prompt did not (the versions, paths and ids
// a description names are facts the model must read, not recall).
func extraDetail(f *finding.Finding) string {
	d := description(f)
	if d == "" || strings.Contains(messageOf(f), d) {
		return ""
	}
	return d
}

// helpOf is the rule's documentation page as the prompt shows it, for a
// finding without a package (a package finding's link is its advisory,
// the canonical page of an id the prompt already shows). The answer's fix
// points at it; shown in the prompt, it is a link the model reads, not one
// it must recall (evaluation counts a link the prompt does not show as
// invented).
func helpOf(f *finding.Finding) string {
	if f.Package != nil || !strings.Contains(f.HelpURI, "://") {
		return ""
	}
	return strings.TrimSpace(f.HelpURI)
}
