package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// sarifProfile is what vulntune knows about one producer's SARIF: the kind
// of its findings and the facts it hides in odd places. Profiles are keyed
// on the canonical tool name (sarifCanonicalTool of tool.driver.name).
type sarifProfile struct {
	// kind is the default Kind; empty means code when the result has a
	// file location, else other.
	kind finding.Kind
	// noFingerprint leaves Finding.PartialFingerprint empty: for tools
	// whose SARIF fingerprints are junk or carry personal data.
	noFingerprint bool
	rule          func(info *sarifRuleInfo)
	result        func(x *sarifResultCtx, f *finding.Finding)
}

// sarifToolNames maps lower-cased driver names to the canonical tool names
// used across vulntune (the native-JSON parsers use the same names, and the
// merge counts tools by them).
var sarifToolNames = map[string]string{
	"trivy": "trivy", "grype": "grype", "bandit": "bandit", "checkov": "checkov",
	"gitleaks": "gitleaks", "kics": "kics", "gosec": "gosec", "eslint": "eslint",
	"codeql": "codeql", "osv-scanner": "osv-scanner", "osv scanner": "osv-scanner",
	"zap": "zap", "owasp zap": "zap", "zaproxy": "zap",
}

// sarifToolPrefixes catches product names with editions in them
// ("Semgrep OSS", "Snyk Open Source", "SnykCode").
var sarifToolPrefixes = []string{"semgrep", "snyk", "codeql", "trivy", "checkov"}

func sarifCanonicalTool(driver string) string {
	n := strings.ToLower(strings.TrimSpace(driver))
	if c, ok := sarifToolNames[n]; ok {
		return c
	}
	for _, p := range sarifToolPrefixes {
		if strings.HasPrefix(n, p) {
			return p
		}
	}
	if n == "" {
		return "unknown"
	}
	return strings.Join(strings.Fields(n), "-")
}

var sarifProfiles = map[string]*sarifProfile{
	"trivy":       {rule: sarifTrivyRule, result: sarifTrivyResult},
	"grype":       {kind: finding.KindDependency, result: sarifGrypeResult},
	"snyk":        {result: sarifSnykResult},
	"bandit":      {kind: finding.KindCode, result: sarifBanditResult},
	"checkov":     {kind: finding.KindConfig, rule: sarifCheckovRule, result: sarifCheckovResult},
	"kics":        {kind: finding.KindConfig},
	"semgrep":     {kind: finding.KindCode, noFingerprint: true, rule: sarifSemgrepRule, result: sarifSemgrepResult},
	"gitleaks":    {kind: finding.KindSecret, noFingerprint: true, result: sarifGitleaksResult},
	"gosec":       {kind: finding.KindCode},
	"eslint":      {kind: finding.KindCode},
	"codeql":      {kind: finding.KindCode},
	"zap":         {kind: finding.KindWeb},
	"osv-scanner": {kind: finding.KindDependency, result: sarifOSVResult},
}

var sarifGeneric = &sarifProfile{}

func sarifProfileFor(name string) *sarifProfile {
	if p, ok := sarifProfiles[name]; ok {
		return p
	}
	return sarifGeneric
}

// sarifFields reads "Key: value" lines (Trivy and Grype write package facts
// this way in messages and rule help).
func sarifFields(texts ...string) map[string]string {
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

// sarifSplitVersions splits "1.5.13, 1.3.15" into versions.
func sarifSplitVersions(s string) []string {
	out := []string{}
	for v := range strings.SplitSeq(strings.Trim(s, "[] "), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// sarifClearPlaceholderRegion drops the 1:1 region image and dependency
// scanners write because SARIF wants one; it is no real line.
func sarifClearPlaceholderRegion(f *finding.Finding) {
	l := &f.Location
	if l.StartLine == 1 && l.EndLine == 1 && l.StartCol <= 1 && l.Snippet == "" {
		l.StartLine, l.EndLine, l.StartCol = 0, 0, 0
	}
}

// sarifEcosystem derives a package ecosystem from a purl ("pkg:maven/...")
// or from the manifest or archive a dependency was found in; "" if neither
// says.
func sarifEcosystem(purl, file string) string {
	if rest, ok := strings.CutPrefix(purl, "pkg:"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			return strings.ToLower(rest[:i])
		}
	}
	return finding.ManifestEcosystem(file)
}

func sarifPURL(x *sarifResultCtx) string {
	for _, k := range []string{"purl", "PURL", "packageUrl", "pkgPurl"} {
		if v := sarifPropString(x.res.Properties, k); v != "" {
			return v
		}
		if x.info.rule != nil {
			if v := sarifPropString(x.info.rule.Properties, k); v != "" {
				return v
			}
		}
	}
	return ""
}

func sarifHelpText(info *sarifRuleInfo) string {
	if info.rule == nil || info.rule.Help == nil {
		return ""
	}
	return info.rule.Help.Text
}

func sarifSecretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Trivy: the rule's tags say what kind of finding it is and carry the
// severity word; the message carries package, installed and fixed versions.
func sarifTrivyRule(info *sarifRuleInfo) {
	for _, t := range info.tags {
		switch strings.ToLower(t) {
		case "vulnerability":
			info.kind = finding.KindDependency
		case "misconfiguration":
			info.kind = finding.KindConfig
		case "secret":
			info.kind = finding.KindSecret
		case "license":
			info.kind = finding.KindLicense
		}
		if _, ok := finding.SeverityFromWord(t); ok && info.word == "" {
			info.word = t
		}
	}
}

func sarifTrivyResult(x *sarifResultCtx, f *finding.Finding) {
	m := sarifFields(f.Message, sarifHelpText(x.info))
	if w := m["Severity"]; w != "" {
		x.word = w
	}
	if x.run.image != "" {
		f.Location.Image = x.run.image
		if f.Location.Path == sarifImageRepo(x.run.image) || f.Location.Path == x.run.image {
			f.Location.Path = ""
		}
	}
	switch x.info.kind {
	case finding.KindDependency:
		sarifClearPlaceholderRegion(f)
		name := m["Package"]
		if name == "" {
			name = m["PkgName"]
		}
		f.Package = &finding.Package{
			Name:             name,
			InstalledVersion: m["Installed Version"],
			FixedVersions:    sarifSplitVersions(m["Fixed Version"]),
			PURL:             sarifPURL(x),
		}
		f.Package.Ecosystem = sarifEcosystem(f.Package.PURL, f.Location.Path)
		f.VulnIDs = []string{f.Tools[0].RuleID}
	case finding.KindSecret:
		if match := m["Match"]; match != "" {
			// Trivy masks the secret with '*'; an unmasked match is the
			// secret itself and must reach the redactor.
			if !strings.Contains(match, "***") {
				f.Secrets = []string{match}
			}
			f.SecretHash = sarifSecretHash(match)
		}
	case finding.KindLicense:
		sarifClearPlaceholderRegion(f)
		if name := m["PkgName"] + m["Package"]; name != "" {
			f.Package = &finding.Package{Name: name}
		}
		sarifSetProp(f, "license", f.Tools[0].RuleID)
	}
}

// sarifImageRepo strips registry and tag: ghcr.io/o/r:latest → o/r.
func sarifImageRepo(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	if first, rest, ok := strings.Cut(image, "/"); ok && strings.ContainsAny(first, ".:") {
		image = rest
	}
	return image
}

// Grype: rule ids are "<vuln id>-<package>"; rule help lists package,
// version, fix version and package type.
var sarifGrypeRuleRe = regexp.MustCompile(`^(CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3})-(.+)$`)
var sarifGrypeMsgRe = regexp.MustCompile(`reports (\S+) at version (\S+)`)

var sarifGrypeTypes = map[string]string{
	"java-archive": "maven", "python": "pypi", "go-module": "go", "gem": "rubygems", "deb": "debian",
	"apk": "alpine", "rust-crate": "cargo", "dotnet": "nuget", "php-composer": "composer",
}

func sarifGrypeResult(x *sarifResultCtx, f *finding.Finding) {
	sarifClearPlaceholderRegion(f)
	m := sarifFields(sarifHelpText(x.info))
	if w := m["Severity"]; w != "" {
		x.word = w
	}
	id, name := "", m["Package"]
	if sm := sarifGrypeRuleRe.FindStringSubmatch(f.Tools[0].RuleID); sm != nil {
		id = sm[1]
		if name == "" {
			name = sm[2]
		}
	}
	if v, ok := strings.CutPrefix(sarifFirstLine(sarifHelpText(x.info)), "Vulnerability "); ok && id == "" {
		id = strings.TrimSpace(v)
	}
	version := m["Version"]
	if mm := sarifGrypeMsgRe.FindStringSubmatch(f.Message); mm != nil {
		if name == "" {
			name = mm[1]
		}
		if version == "" {
			version = mm[2]
		}
	}
	eco := m["Type"]
	if e, ok := sarifGrypeTypes[eco]; ok {
		eco = e
	}
	purl := sarifPURL(x)
	if eco == "" {
		eco = sarifEcosystem(purl, f.Location.Path)
	}
	f.Package = &finding.Package{Name: name, Ecosystem: eco, PURL: purl, InstalledVersion: version, FixedVersions: sarifSplitVersions(m["Fix Version"])}
	if id != "" {
		f.VulnIDs = []string{id}
	}
}

// Snyk writes the severity only as text: "High severity - ..." in rule
// descriptions, "... with a high severity vulnerability" in messages.
var sarifSnykSevRe = regexp.MustCompile(`(?i)\b(critical|high|medium|low)\s+severity\b`)
var sarifSnykModuleRe = regexp.MustCompile(`(?m)Vulnerable module:\s*(\S+)`)

func sarifSnykResult(x *sarifResultCtx, f *finding.Finding) {
	for _, t := range []string{f.Message, x.info.title, sarifHelpText(x.info), f.Description} {
		if m := sarifSnykSevRe.FindStringSubmatch(t); m != nil {
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
		help := sarifHelpText(x.info)
		if x.info.rule != nil && x.info.rule.Help != nil && help == "" {
			help = x.info.rule.Help.Markdown
		}
		sarifClearPlaceholderRegion(f)
		pkg := &finding.Package{PURL: sarifPURL(x)}
		if m := sarifSnykModuleRe.FindStringSubmatch(help); m != nil {
			pkg.Name = m[1]
			// "Introduced through: app@1.0.0 and lodash@4.17.20" or the
			// description "(CVE-...) lodash@4.17.20" name the version.
			for _, t := range []string{help, f.Description, f.Message} {
				if v := sarifVersionAfter(t, pkg.Name); v != "" {
					pkg.InstalledVersion = v
					break
				}
			}
		}
		pkg.Ecosystem = sarifEcosystem(pkg.PURL, f.Location.Path)
		f.Package = pkg
		f.VulnIDs = []string{f.Tools[0].RuleID}
		for _, t := range []string{f.Description, x.info.title} {
			for _, id := range sarifVulnIDRe.FindAllString(t, -1) {
				f.VulnIDs = sarifAddUnique(f.VulnIDs, id)
			}
		}
	}
}

// sarifVersionAfter finds "name@version" as a word in text.
func sarifVersionAfter(text, name string) string {
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
func sarifBanditResult(x *sarifResultCtx, f *finding.Finding) {
	if w := sarifPropString(x.res.Properties, "issue_severity"); w != "" {
		x.word = w
	}
	sarifSetProp(f, "confidence", strings.ToLower(sarifPropString(x.res.Properties, "issue_confidence")))
}

// Checkov: the guideline URL is the help link when helpUri is missing.
func sarifCheckovRule(info *sarifRuleInfo) {
	if info.helpURI == "" && len(info.refs) > 0 {
		info.helpURI = info.refs[0]
	}
}

// sarifCheckovResult: Checkov writes paths relative to the scanned
// directory, sometimes with a leading slash ("/Dockerfile").
func sarifCheckovResult(_ *sarifResultCtx, f *finding.Finding) {
	f.Location.Path = strings.TrimPrefix(f.Location.Path, "/")
}

// Semgrep: shortDescription is "Semgrep Finding: <id>", help ends with an
// advert, tags carry CWE, OWASP and confidence.
func sarifSemgrepRule(info *sarifRuleInfo) {
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

// sarifSemgrepResult keeps identity line-based: Semgrep JSON has no SARIF
// fingerprints, so leaving PartialFingerprint empty lets the same issue from
// both formats merge. Semgrep writes its INFO severity as level "note";
// it maps back to info as in Semgrep JSON.
func sarifSemgrepResult(x *sarifResultCtx, f *finding.Finding) {
	for k, v := range x.info.props {
		sarifSetProp(f, k, v)
	}
	if x.word == "" && strings.EqualFold(x.level, "note") {
		x.word = "info"
	}
}

// Gitleaks: the raw secret is region.snippet.text; commit author, email,
// date and message sit in partialFingerprints and are never read.
func sarifGitleaksResult(x *sarifResultCtx, f *finding.Finding) {
	if len(x.res.Locations) > 0 {
		if pl := x.res.Locations[0].PhysicalLocation; pl != nil && pl.Region != nil && pl.Region.Snippet != nil {
			if s := pl.Region.Snippet.Text; s != "" {
				f.Secrets = []string{s}
				f.SecretHash = sarifSecretHash(s)
			}
		}
	}
	commit := x.res.PartialFingerprints["commitSha"]
	if commit == "" {
		commit = sarifPropString(x.res.Properties, "commit")
	}
	sarifSetProp(f, "commit", commit)
}

// OSV-Scanner: "Package 'name@version' is vulnerable to 'ID'".
var sarifOSVMsgRe = regexp.MustCompile(`Package '([^']+)@([^'@]+)'`)
var sarifVulnIDRe = regexp.MustCompile(`\b(CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3})\b`)

func sarifOSVResult(x *sarifResultCtx, f *finding.Finding) {
	sarifClearPlaceholderRegion(f)
	pkg := &finding.Package{PURL: sarifPURL(x)}
	if m := sarifOSVMsgRe.FindStringSubmatch(f.Message); m != nil {
		pkg.Name, pkg.InstalledVersion = m[1], m[2]
	}
	pkg.Ecosystem = sarifEcosystem(pkg.PURL, f.Location.Path)
	f.Package = pkg
	f.VulnIDs = []string{f.Tools[0].RuleID}
	for _, id := range sarifVulnIDRe.FindAllString(f.Message, -1) {
		f.VulnIDs = sarifAddUnique(f.VulnIDs, id)
	}
}
