package sarif

import (
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// Trivy's SARIF: its profile (registered in tools.go) and the table of its
// kinds of finding, which Trivy's JSON report (ingest/trivy.go) shares.

// trivyKinds maps the word Trivy names each of its four kinds of finding
// with to vulntune's kind: a SARIF rule's tag, and the Type of a JSON
// report's modified finding.
var trivyKinds = map[string]finding.Kind{
	"vulnerability":    finding.KindDependency,
	"misconfiguration": finding.KindConfig,
	"secret":           finding.KindSecret,
	"license":          finding.KindLicense,
}

// TrivyKind is the kind Trivy's word for a kind of finding names (any
// case), and whether it names one.
func TrivyKind(word string) (finding.Kind, bool) {
	k, ok := trivyKinds[strings.ToLower(word)]
	return k, ok
}

// Trivy: the rule's tags say what kind of finding it is and carry the
// severity word; the message carries package, installed and fixed versions.
func trivyRule(info *ruleInfo) {
	for _, t := range info.tags {
		if k, ok := TrivyKind(t); ok {
			info.kind = k
		}
		if _, ok := finding.SeverityFromWord(t); ok && info.word == "" {
			info.word = t
		}
	}
}

func trivyResult(x *resultCtx, f *finding.Finding) {
	m := fields(f.Message, helpText(x.info))
	if w := m["Severity"]; w != "" {
		x.word = w
	}
	if x.run.image != "" {
		f.Location.Image = x.run.image
		if f.Location.Path == imageRepo(x.run.image) || f.Location.Path == x.run.image {
			f.Location.Path = ""
		}
	}
	switch x.info.kind {
	case finding.KindDependency:
		clearPlaceholderRegion(f)
		name := m["Package"]
		if name == "" {
			name = m["PkgName"]
		}
		f.Package = &finding.Package{
			Name:             name,
			InstalledVersion: m["Installed Version"],
			FixedVersions:    splitVersions(m["Fixed Version"]),
			PURL:             purl(x),
		}
		f.Package.Ecosystem = ecosystem(f.Package.PURL, f.Location.Path)
		trivyOSPackage(x, f)
		f.VulnIDs = []string{f.Tools[0].RuleID}
	case finding.KindSecret:
		if match := m["Match"]; match != "" {
			// Trivy masks the secret with '*'; an unmasked match is the
			// secret itself and must reach the redactor.
			if !strings.Contains(match, "***") {
				f.Secrets = []string{match}
			}
			f.SecretHash = secretHash(match)
		}
	case finding.KindLicense:
		clearPlaceholderRegion(f)
		if name := m["PkgName"] + m["Package"]; name != "" {
			f.Package = &finding.Package{Name: name}
		}
		setProp(f, "license", f.Tools[0].RuleID)
	}
}

// trivyOSTarget is the target of an OS package scan as Trivy names it in its
// JSON report, which SARIF written from a template or a converter carries
// as the URI: "library/alpine:3.10 (alpine 3.10.2)", "amazonlinux:2
// (amazon 2 (Karoo))". The first group is the image, the second the OS
// family.
var trivyOSTarget = regexp.MustCompile(`^(.+?)\s+\(([A-Za-z][\w.-]*)\s.*\)$`)

// TrivyOSTarget splits the target of an OS package scan as Trivy's JSON
// report names it ("library/alpine:3.10 (alpine 3.10.2)") into the image
// and the OS family; ok is false for any other target (a file).
func TrivyOSTarget(target string) (image, family string, ok bool) {
	m := trivyOSTarget.FindStringSubmatch(target)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// trivyOSRule is the rule name Trivy gives an OS package's vulnerability:
// "OsPackageVulnerability" from its own SARIF writer, "OS Package
// Vulnerability (Alpine)" from its old SARIF template.
var trivyOSRule = regexp.MustCompile(`^(?:OsPackageVulnerability|OS Package Vulnerability(?: \((\w+)\))?)$`)

// apkVersion is an Alpine package version: every apk version ends in the
// package release "-r<n>" ("3.1.0-r0", "1.1.1c-r0"), which the versions of
// the other OS package managers do not.
var apkVersion = regexp.MustCompile(`^[0-9][0-9A-Za-z._+~]*-r[0-9]+$`)

// trivyOSPackage handles an OS package's vulnerability, which Trivy's SARIF
// marks only by the rule name or the "image (os version)" target: its
// location is the scanned image, not a file, as in Trivy's JSON report
// (whose os-pkgs results name no path), and its ecosystem, which no purl
// gives, is the OS family the target or rule names, or Alpine when the
// version is an apk one ("3.1.0-r0": Trivy's own writer names the image
// repository alone).
func trivyOSPackage(x *resultCtx, f *finding.Finding) {
	rule := ""
	if x.info.rule != nil {
		rule = x.info.rule.Name
	}
	m := trivyOSRule.FindStringSubmatch(rule)
	isOS, target, family := m != nil, f.Location.Path, ""
	if m != nil {
		family = m[1]
	}
	// A file name with a parenthesis in it is no OS target: the family
	// must be one vulntune knows, or the rule must say OS package.
	if t := trivyOSTarget.FindStringSubmatch(target); t != nil {
		if _, known := finding.KnownEcosystem(t[2]); known || isOS {
			isOS, target, family = true, t[1], t[2]
		}
	}
	if !isOS {
		return
	}
	if f.Package.Ecosystem == "" {
		if eco, ok := finding.KnownEcosystem(family); ok {
			f.Package.Ecosystem = eco
		} else if apkVersion.MatchString(f.Package.InstalledVersion) {
			f.Package.Ecosystem = "alpine"
		}
	}
	if f.Location.Image == "" {
		f.Location.Image = target
	}
	f.Location.Path = ""
}

// imageRepo strips registry and tag: ghcr.io/o/r:latest → o/r.
func imageRepo(image string) string {
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
