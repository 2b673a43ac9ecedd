package remedy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

// Remediation is everything vulntune can say about fixing one finding,
// grounded in the finding and the shipped tables; narrate renders it.
type Remediation struct {
	FindingID string       `json:"finding_id"`
	Kind      finding.Kind `json:"kind"`
	Summary   string       `json:"summary"`
	// Choice is the fixed-version decision, for dependency findings.
	Choice       *Choice     `json:"choice,omitempty"`
	Changes      []Change    `json:"changes"`
	Steps        []string    `json:"steps"`
	Verification []string    `json:"verification"`
	CWE          []cwe.Entry `json:"cwe"`
	// References come only from the finding and the CWE catalogue.
	References []string `json:"references"`
}

// For builds the remediation of one finding: a fixed-version choice with
// build-file changes for dependencies, scanner and CWE guidance for code,
// config and web findings, and rotation steps for secrets. It fails only for
// a nil finding or a dependency finding without a package.
func For(f *finding.Finding) (Remediation, error) {
	if f == nil {
		return Remediation{}, errors.New("remedy: nil finding")
	}
	r := Remediation{
		FindingID: f.ID, Kind: f.Kind,
		Changes: []Change{}, Steps: []string{}, Verification: []string{},
		CWE: cweEntries(f),
	}
	switch {
	case f.Kind == finding.KindDependency || (f.Kind == "" && f.Package != nil):
		if f.Package == nil {
			return Remediation{}, fmt.Errorf("remedy: dependency finding %s has no package", f.ID)
		}
		forDependency(f, &r)
	case f.Kind == finding.KindLicense:
		forLicense(f, &r)
	case f.Kind == finding.KindSecret:
		r.Summary = fmt.Sprintf("A secret (%s) is committed at %s: revoke and rotate it, then remove it from the code and from history.",
			classifySecret(f).label, where(f))
		r.Steps = SecretSteps(f)
		r.Verification = secretVerification(f)
	default:
		g := Guidance(f)
		r.Summary = guidanceSummary(f)
		r.Steps, r.Changes = g.Steps, g.Changes
		r.Verification = []string{rescan(f)}
	}
	r.References = references(f, r.CWE)
	return r, nil
}

// forLicense handles license findings: there is no version to move to, only
// a policy decision, so the steps say what the scanner classified and what
// the choices are.
func forLicense(f *finding.Finding, r *Remediation) {
	r.Summary = guidanceSummary(f)
	lic := firstNonEmpty(f.Properties["license"], ruleID(f), "the license")
	pkg := "the package"
	if f.Package != nil && f.Package.Name != "" {
		pkg = f.Package.Name
	}
	if cat := f.Properties["category"]; cat != "" {
		r.Steps = append(r.Steps, fmt.Sprintf("The scanner classifies the license %s of %s as %q.", lic, pkg, cat))
	}
	r.Steps = append(r.Steps,
		fmt.Sprintf("Check %s against your organization's license policy for the way %s is used and distributed.", lic, pkg),
		"If it is not allowed, replace the package with one under an allowed license, or record an approved exception so the scanner's policy suppresses it.")
	if f.HelpURI != "" {
		r.Steps = append(r.Steps, "The license text: "+f.HelpURI)
	}
	r.Verification = []string{rescan(f)}
}

// ruleID is the first tool's rule id, or "".
func ruleID(f *finding.Finding) string {
	if len(f.Tools) > 0 {
		return f.Tools[0].RuleID
	}
	return ""
}

func guidanceSummary(f *finding.Finding) string {
	title := firstNonEmpty(f.Title, f.Message)
	rule := ""
	if len(f.Tools) > 0 && f.Tools[0].RuleID != "" && f.Tools[0].RuleID != title {
		rule = " (" + toolName(f) + " rule " + f.Tools[0].RuleID + ")"
	}
	return strings.TrimSuffix(title, ".") + rule + wherePhrase(f, "at") + "."
}

func forDependency(f *finding.Finding, r *Remediation) {
	p := f.Package
	eco := finding.CanonicalEcosystem(p.Ecosystem)
	name := DisplayName(eco, p.Name)
	vuln := firstNonEmpty(finding.CanonicalVulnID(f.VulnIDs), f.Title)
	advisory := NormalizeFixed(p.FixedVersions)
	fixed, listed := KeepFlavour(eco, p.Name, p.InstalledVersion, advisory)
	var choice Choice
	var err error
	if p.InstalledVersion == "" {
		choice, err = minimumFix(eco, fixed)
	} else {
		choice, err = ChooseFix(eco, p.InstalledVersion, fixed)
	}
	choice.Listed = listed[choice.Fixed]
	if err != nil {
		if len(fixed) > 0 {
			r.Summary = fmt.Sprintf("%s in %s %s.", vuln, name, p.InstalledVersion)
			r.Steps = append(r.Steps, fmt.Sprintf("The advisory lists these fixed versions: %s. Versions of this ecosystem (%s) cannot be ordered here (%v), so pick the one on the installed release line by hand.",
				strings.Join(advisory, ", "), firstNonEmpty(eco, p.Ecosystem), err))
		} else {
			// Without fixed versions the ordering does not matter: the same
			// answer as for an ecosystem that orders.
			r.Summary = noFixSummary(name, vuln)
			r.Steps = append(r.Steps, noFixSteps(f)...)
		}
		r.Verification = []string{rescan(f)}
		return
	}
	r.Choice = &choice
	r.Changes = Upgrade(f, choice)
	if r.Changes == nil {
		r.Changes = []Change{}
	}
	from := p.InstalledVersion
	switch choice.Status {
	case StatusSameLine:
		r.Summary = fmt.Sprintf("Upgrade %s from %s to %s, %s; it fixes %s.", name, from, choice.Fixed, sameLineClaim, vuln)
	case StatusOtherLine:
		claim, then := laterLine(eco)
		r.Summary = fmt.Sprintf("Upgrade %s from %s to %s, %s; it fixes %s. %s, %s", name, from, choice.Fixed, aboveClaim, vuln, claim, then)
	case StatusInstalledUnknown:
		r.Summary = fmt.Sprintf("Make sure %s is at %s or later, the lowest fixed version; it fixes %s. The scanner did not report the installed version.", name, choice.Fixed, vuln)
	case StatusNotAffected:
		r.Summary = fmt.Sprintf("%s %s already includes the fix for %s on its release line (fixed in %s), so per these fixed versions it is not affected; if the scanner still reports it, check which copy it found.", name, from, vuln, choice.Fixed)
	case StatusNoFixOnLine:
		r.Summary = fmt.Sprintf("No fixed version of %s at or above %s is known for %s: the listed fixed versions (%s) are on older release lines.", name, from, vuln, strings.Join(advisory, ", "))
		r.Steps = append(r.Steps, noFixSteps(f)...)
	case StatusNoFix:
		r.Summary = noFixSummary(name, vuln)
		r.Steps = append(r.Steps, noFixSteps(f)...)
	}
	if choice.Listed != "" {
		r.Steps = append(r.Steps, flavourStep(name, from, choice))
	}
	if len(choice.Unparsed) > 0 {
		r.Steps = append(r.Steps, fmt.Sprintf("The advisory also lists %s, which is not a valid %s version and was left out of the choice.", strings.Join(choice.Unparsed, ", "), eco))
	}
	if len(r.Changes) == 0 {
		r.Verification = []string{rescan(f)}
		return
	}
	r.Steps = append(r.Steps, "Apply the change for the build system in use (shown under changes), rebuild and run the tests.")
	if !namesFile(r.Changes) && !OSPackage(eco) {
		if at := firstNonEmpty(finding.CleanPath(f.Location.Path), f.Location.Image); at != "" {
			r.Steps = append(r.Steps, fmt.Sprintf("The scanner found the package in %s, not in a build file: make the change in the project or image build that produces it, then rebuild and redeploy.", at))
		}
	}
	r.Verification = DependencyVerification(f, r.Changes)
}

// noFixSummary opens the fix of a finding without a fixed version. It says
// so in words no other summary starts with, and names no version: a small
// model that began this fix like an upgrade or a configuration change went
// on to invent a snippet with a made-up version. The installed version is
// stated where the finding's location is.
func noFixSummary(name, vuln string) string {
	return fmt.Sprintf("No fixed version of %s is known for %s yet, so there is nothing to upgrade to.", name, vuln)
}

// OSPackage reports whether eco, canonical (finding.CanonicalEcosystem), is
// a distribution's package ecosystem, whose fix goes into the image build.
func OSPackage(eco string) bool {
	return eco == "debian" || eco == "alpine" || eco == "rpm"
}

func namesFile(cs []Change) bool {
	for _, c := range cs {
		if c.File != "" {
			return true
		}
	}
	return false
}

// fixStates are the scanner properties that carry the distribution's or
// database's fix status (Trivy status, Grype fix.state).
var fixStates = []string{"status", "fix_state"}

// fixStatusSteps reports the scanner's own fix status, when it has one that
// explains why no fixed version is listed.
func fixStatusSteps(f *finding.Finding) []string {
	for _, k := range fixStates {
		st := f.Properties[k]
		switch strings.ToLower(strings.NewReplacer("_", "-", " ", "-").Replace(st)) {
		case "wont-fix", "will-not-fix":
			return []string{fmt.Sprintf("The scanner reports the fix status %q: the maintainers do not plan a fix for this release, so moving to a newer release (for OS packages, a newer base image release) or removing the package are the remaining options.", st)}
		case "fix-deferred", "deferred", "affected", "not-fixed", "unknown", "end-of-life":
			return []string{fmt.Sprintf("The scanner reports the fix status %q.", st)}
		}
	}
	return nil
}

// minimumFix handles a finding without an installed version: the lowest
// fixed version is the least the package must reach.
func minimumFix(eco string, fixed []string) (Choice, error) {
	c := Choice{Ecosystem: eco, Status: StatusNoFix, Alternatives: []string{}}
	var ok []string
	for _, v := range fixed {
		if _, err := Compare(eco, v, v); err != nil {
			c.Unparsed = append(c.Unparsed, v)
			continue
		}
		ok = append(ok, v)
	}
	if len(fixed) > 0 && len(ok) == 0 {
		_, err := Compare(eco, fixed[0], fixed[0])
		return c, err
	}
	if len(ok) > 0 {
		sortVersions(finding.CanonicalEcosystem(eco), ok)
		c.Status, c.Fixed, c.Alternatives = StatusInstalledUnknown, ok[0], ok[1:]
	}
	return c, nil
}

// mitigation picks the advisory's own workaround sentences.
var mitigation = regexp.MustCompile(`(?i)\b(workaround|mitigat|disabl|do not|don't|avoid|restrict|sanitiz|validat|configure\b|configuring|configuration|set the|turn off)`)

var sentenceEnd = regexp.MustCompile(`[.!?]\s+`)

// The claims that no release fixes a finding, as vulntune words them: the
// "In short" action narrate writes (NoFixAction) and the clauses of
// noFixSteps. NoFixClaims holds them lower-cased for evaluation, which
// counts an answer that makes one for a finding with a fix as wrong: its
// fix contradicts the fixed version it may name elsewhere.
const (
	NoFixAction = "no fixed version is known yet"
	noFixUntil  = "Until a fixed release exists"
	noFixWhen   = "when the advisory gains a fixed version"
)

// NoFixClaims are NoFixAction and noFixSteps' clauses, lower-cased, the
// action without its "yet".
var NoFixClaims = []string{strings.TrimSuffix(NoFixAction, " yet"), strings.ToLower(noFixUntil), noFixWhen}

// The claims an upgrade sentence makes about the installed release line
// (forDependency). A small model wrote "the lowest fixed version on the
// installed release line" for every fix of the other projects, hoek
// 2.16.3 to 4.2.1 included (issue 16): LineContradictions lets evaluation
// count such a sentence as a wrong fix, and grounded decoding forbid it.
const (
	sameLineClaim     = "the lowest fixed version on the installed release line"
	aboveClaim        = "the lowest fixed version above the installed one"
	noFixOnLineClaim  = "No fix exists on the installed release line"
	noFixedBuildClaim = "No fixed build of the installed upstream version is listed"
)

// LineNote is what a prompt says of the release line of choice c's
// recommended version, in the words of the answer's upgrade sentence:
// which line a fix is on is a fact vulntune decides (ChooseFix), and left
// to the model, a tuned one called 10 of the other projects' 11 fixes on
// a later line "the lowest fixed version on the installed release line"
// (issue 16). "" for the statuses whose sentence makes no such claim.
func LineNote(c Choice) string {
	switch c.Status {
	case StatusSameLine:
		return sameLineClaim
	case StatusOtherLine:
		claim, _ := laterLine(c.Ecosystem)
		return aboveClaim + "; " + lowerFirst(claim)
	}
	return ""
}

// laterLine is what an upgrade sentence says of a fix on a later release
// line in ecosystem eco: that the installed line has none (claim), and
// what the move means (then). An OS package's line is its upstream
// version, rebuilt by the distribution; a language package's, its minor
// or major release.
func laterLine(eco string) (claim, then string) {
	if OSPackage(eco) {
		return noFixedBuildClaim, "so this moves to a newer upstream version."
	}
	return noFixOnLineClaim, "so this moves to a later minor or major release: check its release notes for breaking changes."
}

// LineContradictions are the openings, lower-cased, of the claims that
// contradict a choice of status s: for a fix on the installed release
// line, that none exists there ("no fix", which "No fix exists …" and "No
// fixed build …" open with); for one on a later line, that it is on the
// installed one ("fixed version on"). They stop where the claim parts
// from the true sentence, not at its end: forbidden whole, "the lowest
// fixed version on the installed release line" came out of grounded
// decoding as "… on the installed release track", and forbidden to "…
// fixed version on the", as "… on its release line". nil for the other
// statuses, whose sentences make no such claim.
func LineContradictions(s ChoiceStatus) []string {
	switch s {
	case StatusSameLine:
		return []string{lineOpening(noFixOnLineClaim, 2)}
	case StatusOtherLine:
		return []string{lineOpening(strings.TrimPrefix(sameLineClaim, "the lowest "), 3)}
	}
	return nil
}

// lineOpening is claim's first n words, lower-cased.
func lineOpening(claim string, n int) string {
	return strings.ToLower(strings.Join(strings.Fields(claim)[:n], " "))
}

func noFixSteps(f *finding.Finding) []string {
	out := fixStatusSteps(f)
	for _, s := range sentences(f.Description) {
		if mitigation.MatchString(s) {
			out = append(out, "The advisory's mitigation: "+s)
		}
	}
	if len(out) == 0 {
		out = append(out, "The advisory text names no workaround; its references below are where one would be published.")
	}
	return append(out,
		noFixUntil+", limit exposure: check whether the vulnerable feature is reachable from untrusted input, and consider replacing or removing the dependency.",
		"Re-run the scanner regularly; "+noFixWhen+" the remediation will name it.")
}

// sentences splits advisory prose into sentences, stripping markdown headings.
func sentences(s string) []string {
	var out []string
	for _, para := range paragraphs(s) {
		para = strings.TrimLeft(para, "#*- ")
		for _, sent := range sentenceEnd.Split(para, -1) {
			if sent = strings.TrimSpace(sent); len(sent) > 3 {
				out = append(out, strings.TrimSuffix(sent, ".")+".")
			}
		}
	}
	return out
}

func references(f *finding.Finding, entries []cwe.Entry) []string {
	out := []string{}
	seen := map[string]bool{}
	add := func(u string) {
		if u = strings.TrimSpace(u); u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	add(f.HelpURI)
	for _, u := range f.References {
		add(u)
	}
	for _, e := range entries {
		add(e.URL)
	}
	return out
}
