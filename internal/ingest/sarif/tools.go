package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// profile is what vulntune knows about one producer's SARIF: the kind
// of its findings and the facts it hides in odd places. Profiles are keyed
// on the canonical tool name (canonicalTool of tool.driver.name).
type profile struct {
	// kind is the default Kind; empty means code when the result has a
	// file location, else other.
	kind finding.Kind
	// noFingerprint leaves Finding.PartialFingerprint empty: for tools
	// whose SARIF fingerprints are junk or carry personal data.
	noFingerprint bool
	// ruleID recovers the rule of a result that names none (no ruleId,
	// ruleIndex or rule), from where the producer put it instead.
	ruleID func(res *result) string
	rule   func(info *ruleInfo)
	result func(x *resultCtx, f *finding.Finding)
}

// toolNames maps lower-cased driver names to the canonical tool names
// used across vulntune (the native-JSON parsers use the same names, and the
// merge counts tools by them).
var toolNames = map[string]string{
	"trivy": "trivy", "grype": "grype", "bandit": "bandit", "checkov": "checkov",
	"gitleaks": "gitleaks", "kics": "kics", "gosec": "gosec", "eslint": "eslint",
	"codeql": "codeql", "osv-scanner": "osv-scanner", "osv scanner": "osv-scanner",
	"zap": "zap", "owasp zap": "zap", "zaproxy": "zap",
}

// toolPrefixes catches product names with editions in them
// ("Semgrep OSS", "Snyk Open Source", "SnykCode").
var toolPrefixes = []string{"semgrep", "snyk", "codeql", "trivy", "checkov"}

func canonicalTool(driver string) string {
	n := strings.ToLower(strings.TrimSpace(driver))
	if c, ok := toolNames[n]; ok {
		return c
	}
	for _, p := range toolPrefixes {
		if strings.HasPrefix(n, p) {
			return p
		}
	}
	if n == "" {
		return "unknown"
	}
	return strings.Join(strings.Fields(n), "-")
}

// profiles holds each producer's quirks; Trivy's are in trivy.go.
var profiles = map[string]*profile{
	"trivy":    {rule: trivyRule, result: trivyResult},
	"grype":    {kind: finding.KindDependency, result: grypeResult},
	"snyk":     {result: snykResult},
	"bandit":   {kind: finding.KindCode, result: banditResult},
	"checkov":  {kind: finding.KindConfig, rule: checkovRule, result: checkovResult},
	"kics":     {kind: finding.KindConfig, result: kicsResult},
	"semgrep":  {kind: finding.KindCode, noFingerprint: true, rule: semgrepRule, result: semgrepResult},
	"gitleaks": {kind: finding.KindSecret, noFingerprint: true, ruleID: gitleaksRuleID, result: gitleaksResult},
	"gosec":    {kind: finding.KindCode},
	// Dockle lints a built image against the CIS Docker benchmark: its
	// results (which have no location) are about the image's configuration.
	"dockle":      {kind: finding.KindConfig},
	"eslint":      {kind: finding.KindCode},
	"codeql":      {kind: finding.KindCode},
	"zap":         {kind: finding.KindWeb},
	"osv-scanner": {kind: finding.KindDependency, result: osvResult},
}

var generic = &profile{}

func profileFor(name string) *profile {
	if p, ok := profiles[name]; ok {
		return p
	}
	return generic
}

// fields reads "Key: value" lines (Trivy and Grype write package facts
// this way in messages and rule help).
func fields(texts ...string) map[string]string {
	m := map[string]string{}
	for _, t := range texts {
		for line := range strings.SplitSeq(t, "\n") {
			k, v, ok := strings.Cut(line, ":")
			k = strings.TrimSpace(k)
			if !ok || k == "" || len(k) > 40 || strings.ContainsAny(k, "[]()*|") {
				continue
			}
			if _, seen := m[k]; !seen {
				m[k] = strings.TrimSpace(v)
			}
		}
	}
	return m
}

// splitVersions splits "1.5.13, 1.3.15" into versions.
func splitVersions(s string) []string {
	out := []string{}
	for v := range strings.SplitSeq(strings.Trim(s, "[] "), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// clearPlaceholderRegion drops the 1:1 region image and dependency
// scanners write because SARIF wants one; it is no real line.
func clearPlaceholderRegion(f *finding.Finding) {
	l := &f.Location
	if l.StartLine == 1 && l.EndLine == 1 && l.StartCol <= 1 && l.Snippet == "" {
		l.StartLine, l.EndLine, l.StartCol = 0, 0, 0
	}
}

// ecosystem derives a package ecosystem from a purl ("pkg:maven/...")
// or from the manifest or archive a dependency was found in; "" if neither
// says.
func ecosystem(purl, file string) string {
	if rest, ok := strings.CutPrefix(purl, "pkg:"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			return strings.ToLower(rest[:i])
		}
	}
	return finding.ManifestEcosystem(file)
}

func purl(x *resultCtx) string {
	for _, k := range []string{"purl", "PURL", "packageUrl", "pkgPurl"} {
		if v := propString(x.res.Properties, k); v != "" {
			return v
		}
		if x.info.rule != nil {
			if v := propString(x.info.rule.Properties, k); v != "" {
				return v
			}
		}
	}
	return ""
}

func helpText(info *ruleInfo) string {
	if info.rule == nil || info.rule.Help == nil {
		return ""
	}
	return info.rule.Help.Text
}

func secretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Grype: rule ids are "<vuln id>-<package>"; rule help lists package,
// version, fix version and package type.
var grypeRuleRe = regexp.MustCompile(`^(CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3})-(.+)$`)
var grypeMsgRe = regexp.MustCompile(`reports (\S+) at version (\S+)`)

var grypeTypes = map[string]string{
	"java-archive": "maven", "python": "pypi", "go-module": "go", "gem": "rubygems", "deb": "debian",
	"apk": "alpine", "rust-crate": "cargo", "dotnet": "nuget", "php-composer": "composer",
}

func grypeResult(x *resultCtx, f *finding.Finding) {
	clearPlaceholderRegion(f)
	m := fields(helpText(x.info))
	if w := m["Severity"]; w != "" {
		x.word = w
	}
	id, name := "", m["Package"]
	if sm := grypeRuleRe.FindStringSubmatch(f.Tools[0].RuleID); sm != nil {
		id = sm[1]
		if name == "" {
			name = sm[2]
		}
	}
	if v, ok := strings.CutPrefix(firstLine(helpText(x.info)), "Vulnerability "); ok && id == "" {
		id = strings.TrimSpace(v)
	}
	version := m["Version"]
	if mm := grypeMsgRe.FindStringSubmatch(f.Message); mm != nil {
		if name == "" {
			name = mm[1]
		}
		if version == "" {
			version = mm[2]
		}
	}
	eco := m["Type"]
	if e, ok := grypeTypes[eco]; ok {
		eco = e
	}
	purl := purl(x)
	if eco == "" {
		eco = ecosystem(purl, f.Location.Path)
	}
	f.Package = &finding.Package{Name: name, Ecosystem: eco, PURL: purl, InstalledVersion: version, FixedVersions: splitVersions(m["Fix Version"])}
	if id != "" {
		f.VulnIDs = []string{id}
	}
}

// Snyk writes the severity only as text: "High severity - ..." in rule
// descriptions, "... with a high severity vulnerability" in messages.
var snykSevRe = regexp.MustCompile(`(?i)\b(critical|high|medium|low)\s+severity\b`)
var snykModuleRe = regexp.MustCompile(`(?m)Vulnerable module:\s*(\S+)`)

// snykUpgradeRe reads the remediation line of Snyk's advisory text (the
// rule's help markdown): "Upgrade `lodash` to version 4.17.21 or higher.",
// one version per fixed branch ("1.1.12, 2.0.2, 3.0.1 or higher"), and for
// an OS package in a container the distribution first ("Upgrade
// `Alpine:3.18` `openssl` to version 3.1.4-r1 or higher.").
var snykUpgradeRe = regexp.MustCompile("Upgrade\\s+(?:`([^`\\n]+)`\\s+)?`([^`\\n]+)`\\s+to\\s+version\\s+([^\\n]+?)\\s+or\\s+higher")

func snykResult(x *resultCtx, f *finding.Finding) {
	for _, t := range []string{f.Message, x.info.title, helpText(x.info), f.Description} {
		if m := snykSevRe.FindStringSubmatch(t); m != nil {
			x.word = m[1]
			break
		}
	}
	driver := strings.ToLower(x.run.tool.Driver.Name)
	switch {
	case strings.Contains(driver, "code"):
		f.Kind = finding.KindCode
	case strings.Contains(driver, "iac") || strings.Contains(driver, "infrastructure"):
		f.Kind = finding.KindConfig
	case strings.Contains(driver, "open source") || strings.Contains(driver, "container"):
		f.Kind = finding.KindDependency
		help := helpText(x.info)
		if x.info.rule != nil && x.info.rule.Help != nil && help == "" {
			help = x.info.rule.Help.Markdown
		}
		clearPlaceholderRegion(f)
		pkg := &finding.Package{PURL: purl(x)}
		if m := snykModuleRe.FindStringSubmatch(help); m != nil {
			pkg.Name = m[1]
		}
		// Snyk Container (and Snyk Open Source since 2023) names the
		// package as the logical location "name@version"; its help has no
		// "Vulnerable module" line.
		for _, l := range f.Location.Logical {
			if i := strings.LastIndexByte(l, '@'); i > 0 && i < len(l)-1 && (pkg.Name == "" || pkg.Name == l[:i]) {
				pkg.Name, pkg.InstalledVersion = l[:i], l[i+1:]
				break
			}
		}
		if pkg.Name != "" && pkg.InstalledVersion == "" {
			// "Introduced through: app@1.0.0 and lodash@4.17.20" or the
			// description "(CVE-...) lodash@4.17.20" name the version.
			for _, t := range []string{help, f.Description, f.Message} {
				if v := versionAfter(t, pkg.Name); v != "" {
					pkg.InstalledVersion = v
					break
				}
			}
		}
		distro := snykFixed(pkg, help, f.Fixes)
		pkg.Ecosystem = ecosystem(pkg.PURL, f.Location.Path)
		if pkg.Ecosystem == "" {
			pkg.Ecosystem = snykEcosystem(distro, x.info.tags)
		}
		f.Package = pkg
		f.VulnIDs = []string{f.Tools[0].RuleID}
		for _, t := range []string{f.Description, x.info.title} {
			for _, id := range vulnIDRe.FindAllString(t, -1) {
				f.VulnIDs = addUnique(f.VulnIDs, id)
			}
		}
	}
}

// snykFixed sets pkg's fixed versions from the remediation line of Snyk's
// advisory text, else from the result's fixes when the upgrade they insert
// is of this package: Snyk's fix upgrades the direct dependency
// ("twilio@3.0.0"), which is the vulnerable package's fixed version only
// when the two are one. It returns the distribution an OS package's
// remediation names ("Alpine:3.18"), or "".
func snykFixed(pkg *finding.Package, help string, fixes []finding.Fix) string {
	for _, m := range snykUpgradeRe.FindAllStringSubmatch(help, -1) {
		if pkg.Name == "" {
			pkg.Name = m[2]
		}
		// An OS package is named "source/binary" ("openssl/libcrypto3");
		// the remediation names the source package.
		if m[2] == pkg.Name || strings.HasPrefix(pkg.Name, m[2]+"/") {
			pkg.FixedVersions = splitVersions(m[3])
			return m[1]
		}
	}
	for _, fx := range fixes {
		if i := strings.LastIndexByte(fx.Replacement, '@'); i > 0 && fx.Replacement[:i] == pkg.Name && i < len(fx.Replacement)-1 {
			pkg.FixedVersions = []string{fx.Replacement[i+1:]}
			break
		}
	}
	return ""
}

// snykEcosystem is the ecosystem the remediation's distribution names, else
// the package manager Snyk tags its rules with (the last tag, after
// "security" and the CWE ids: "npm", "maven", "apk", "deb").
func snykEcosystem(distro string, tags []string) string {
	if e, ok := finding.KnownEcosystem(distro); ok {
		return e
	}
	for i := len(tags) - 1; i >= 0; i-- {
		if e, ok := finding.KnownEcosystem(tags[i]); ok {
			return e
		}
	}
	return ""
}

// versionAfter finds "name@version" as a word in text.
func versionAfter(text, name string) string {
	key := name + "@"
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], key)
		if j < 0 {
			return ""
		}
		j += i
		if j == 0 || strings.IndexByte(" \t\n(,", text[j-1]) >= 0 {
			rest := text[j+len(key):]
			end := strings.IndexAny(rest, " \t\n,)")
			if end < 0 {
				end = len(rest)
			}
			if end > 0 {
				return rest[:end]
			}
		}
		i = j + len(key)
	}
	return ""
}

// Bandit keeps severity and confidence in result properties.
func banditResult(x *resultCtx, f *finding.Finding) {
	if w := propString(x.res.Properties, "issue_severity"); w != "" {
		x.word = w
	}
	setProp(f, "confidence", strings.ToLower(propString(x.res.Properties, "issue_confidence")))
}

// Checkov: the guideline URL is the help link when helpUri is missing.
func checkovRule(info *ruleInfo) {
	if info.helpURI == "" && len(info.refs) > 0 {
		info.helpURI = info.refs[0]
	}
}

// checkovResult: Checkov writes paths relative to the scanned
// directory, sometimes with a leading slash ("/Dockerfile").
func checkovResult(_ *resultCtx, f *finding.Finding) {
	f.Location.Path = strings.TrimPrefix(f.Location.Path, "/")
}

// Semgrep: shortDescription is "Semgrep Finding: <id>", help ends with an
// advert, tags carry CWE, OWASP and confidence.
func semgrepRule(info *ruleInfo) {
	if strings.HasPrefix(info.title, "Semgrep Finding:") {
		info.title = info.id
	}
	var keep []string
	for line := range strings.SplitSeq(info.description, "\n") {
		if !strings.Contains(line, "sg.run/pro") {
			keep = append(keep, line)
		}
	}
	info.description = strings.TrimSpace(strings.Join(keep, "\n"))
	info.refs = slices.DeleteFunc(info.refs, func(u string) bool { return strings.Contains(u, "sg.run/pro") })
	info.props = map[string]string{}
	var owasp []string
	for _, t := range info.tags {
		switch {
		case strings.HasSuffix(t, " CONFIDENCE"):
			info.props["confidence"] = strings.ToLower(strings.TrimSuffix(t, " CONFIDENCE"))
		case strings.HasPrefix(t, "OWASP-"):
			owasp = append(owasp, strings.TrimPrefix(t, "OWASP-"))
		}
	}
	if len(owasp) > 0 {
		info.props["owasp"] = strings.Join(owasp, "; ")
	}
}

// semgrepResult keeps identity line-based: Semgrep JSON has no SARIF
// fingerprints, so leaving PartialFingerprint empty lets the same issue from
// both formats merge. Semgrep writes its INFO severity as level "note";
// it maps back to info as in Semgrep JSON.
func semgrepResult(x *resultCtx, f *finding.Finding) {
	for k, v := range x.info.props {
		setProp(f, k, v)
	}
	if x.word == "" && strings.EqualFold(x.level, "note") {
		x.word = "info"
	}
}

// gitleaksRuleID reads the rule of a Gitleaks v7 result, which has no
// ruleId: v7 writes the message "<rule> secret detected", where <rule> is
// the id (and name) of one of the run's rules ("AWS Access Key").
func gitleaksRuleID(res *result) string {
	name, ok := strings.CutSuffix(strings.TrimSpace(res.Message.Text), " secret detected")
	if !ok {
		return ""
	}
	return strings.TrimSpace(name)
}

// Gitleaks: the raw secret is region.snippet.text (v8) or, in v7, whose
// snippet is the whole line, properties.offender; commit author, email,
// date and message sit in partialFingerprints (v8) or properties (v7) and
// are never read.
func gitleaksResult(x *resultCtx, f *finding.Finding) {
	if s := propString(x.res.Properties, "offender"); s != "" {
		f.Secrets = []string{s}
		f.SecretHash = secretHash(s)
	} else if len(x.res.Locations) > 0 {
		if pl := x.res.Locations[0].PhysicalLocation; pl != nil && pl.Region != nil && pl.Region.Snippet != nil {
			if s := pl.Region.Snippet.Text; s != "" {
				f.Secrets = []string{s}
				f.SecretHash = secretHash(s)
			}
		}
	}
	commit := x.res.PartialFingerprints["commitSha"]
	if commit == "" {
		commit = propString(x.res.Properties, "commit")
	}
	setProp(f, "commit", commit)
}

// OSV-Scanner: "Package 'name@version' is vulnerable to 'ID'".
var osvMsgRe = regexp.MustCompile(`Package '([^']+)@([^'@]+)'`)
var vulnIDRe = regexp.MustCompile(`\b(CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3})\b`)

func osvResult(x *resultCtx, f *finding.Finding) {
	clearPlaceholderRegion(f)
	pkg := &finding.Package{PURL: purl(x)}
	if m := osvMsgRe.FindStringSubmatch(f.Message); m != nil {
		pkg.Name, pkg.InstalledVersion = m[1], m[2]
	}
	pkg.Ecosystem = ecosystem(pkg.PURL, f.Location.Path)
	f.Package = pkg
	f.VulnIDs = []string{f.Tools[0].RuleID}
	for _, id := range vulnIDRe.FindAllString(f.Message, -1) {
		f.VulnIDs = addUnique(f.VulnIDs, id)
	}
}

// kicsMount is where KICS's documented container run mounts the scanned
// directory (`docker run -v "$PWD":/path checkmarx/kics scan -p /path`),
// so its reports name every file "/path/<repo-relative path>" (or, run on
// Windows, "\path\...").
const kicsMount = "/path/"

// KICSRepoPath makes a KICS file name repo-relative: the container mount
// /path/ is the checkout root. Other paths are returned as they are.
func KICSRepoPath(p string) string {
	if rest, ok := strings.CutPrefix(strings.ReplaceAll(p, `\`, "/"), kicsMount); ok && rest != "" {
		return finding.CleanPath(rest)
	}
	return p
}

// kicsResult: KICS's file names are under its container mount.
func kicsResult(_ *resultCtx, f *finding.Finding) {
	f.Location.Path = KICSRepoPath(f.Location.Path)
	for i := range f.Related {
		f.Related[i].Path = KICSRepoPath(f.Related[i].Path)
	}
}
