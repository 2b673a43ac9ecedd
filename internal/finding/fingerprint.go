package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Fingerprint computes the stable identity of f (DESIGN.md §3):
//
//	dependency: ecosystem, package, installed version, canonical vuln id
//	code/config: rule, path, and the tool's partial fingerprint or the line,
//	  the package it names and its message (several results on one line)
//	web: rule, URL path, method, param
//	secret: rule, path, line, hash of the secret
//	license: package, license id
//
// The rule is the first tool's rule id lower-cased, so two files of one tool
// agree. It never uses the secret value, message text or the tool's name for
// dependency findings, so Trivy and OSV-Scanner reporting one CVE in one
// package get the same id. It must run before redaction changes any field it
// reads (it reads none that redaction changes).
func Fingerprint(f *Finding) string {
	var parts []string
	rule := ""
	if len(f.Tools) > 0 {
		rule = strings.ToLower(f.Tools[0].RuleID)
	}
	switch f.Kind {
	case KindDependency:
		eco, name, ver := "", "", ""
		if f.Package != nil {
			eco = CanonicalEcosystem(f.Package.Ecosystem)
			name = CanonicalPackageName(eco, f.Package.Name)
			ver = f.Package.InstalledVersion
		}
		id := CanonicalVulnID(f.VulnIDs)
		if id == "" {
			id = rule
		}
		parts = []string{"dep", eco, name, ver, strings.ToUpper(id)}
	case KindWeb:
		u := f.Location.URL
		if p, err := url.Parse(u); err == nil {
			u = p.Host + p.EscapedPath()
		}
		parts = []string{"web", rule, u, strings.ToUpper(f.Location.Method), f.Location.Param}
	case KindSecret:
		parts = []string{"secret", rule, f.Location.Path, fmt.Sprint(f.Location.StartLine), f.SecretHash}
	case KindLicense:
		name := ""
		if f.Package != nil {
			name = f.Package.Name
		}
		parts = []string{"license", rule, name, f.Location.Path}
	default:
		where := fmt.Sprint(f.Location.StartLine)
		if f.PartialFingerprint != "" {
			where = f.PartialFingerprint
		}
		loc := f.Location.Path
		if loc == "" {
			loc = f.Location.URL
		}
		parts = []string{string(f.Kind), rule, loc, where}
		// One rule can flag several things on one line: KICS reports each
		// unpinned package of a Dockerfile RUN line as its own result with
		// the same rule, path and line. The package and the message tell
		// them apart; without them seven findings became one naming one
		// package. A tool's own fingerprint already tells them apart.
		if f.PartialFingerprint == "" {
			if f.Package != nil && f.Package.Name != "" {
				parts = append(parts, "pkg", f.Package.Name)
			}
			if m := normMessage(f.Message); m != "" {
				parts = append(parts, "msg", m)
			}
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:12])
}

// normMessage folds case and runs of white space, so the same result in a
// tool's SARIF and its JSON (which wrap and capitalise differently) keeps
// one identity.
func normMessage(m string) string {
	return strings.ToLower(strings.Join(strings.Fields(m), " "))
}

var vulnIDPrefixes = []string{"CVE-", "GHSA-", "GO-", "PYSEC-", "RUSTSEC-", "OSV-"}

// CanonicalVulnID picks one id to stand for a vulnerability: a CVE id when
// there is one (every tool that knows one uses it), else a GHSA id, else the
// smallest, comparing without case so the choice depends neither on the
// order tools list their aliases in nor on how they case them. The id is
// spelt as VulnIDSpelling spells it: a GHSA id keeps the advisory's own
// lower case ("GHSA-jfh8-c2jp-5v3q"), a Snyk or malware id its case.
func CanonicalVulnID(ids []string) string {
	best, bestKey := "", ""
	pick := func(id string, want func(key string) bool) {
		id = VulnIDSpelling(id)
		key := strings.ToUpper(id)
		if id == "" || !want(key) {
			return
		}
		if best == "" || key < bestKey || key == bestKey && id < best {
			best, bestKey = id, key
		}
	}
	for _, pref := range vulnIDPrefixes[:2] {
		for _, id := range ids {
			pick(id, func(key string) bool { return strings.HasPrefix(key, pref) })
		}
		if best != "" {
			return best
		}
	}
	for _, id := range ids {
		pick(id, func(string) bool { return true })
	}
	return best
}

// VulnIDSpelling spells a vulnerability id as its database does: a CVE id
// upper-case, a GHSA id "GHSA-" and the rest lower-case (GitHub's
// spelling, which some tools upper-case), any other id as written. Ids that
// differ only in case are one id: compare them with strings.EqualFold or
// upper-cased, as Fingerprint does.
func VulnIDSpelling(id string) string {
	id = strings.TrimSpace(id)
	switch {
	case len(id) >= 4 && strings.EqualFold(id[:4], "CVE-"):
		return strings.ToUpper(id)
	case len(id) >= 5 && strings.EqualFold(id[:5], "GHSA-"):
		return "GHSA-" + strings.ToLower(id[len("GHSA-"):])
	}
	return id
}

var ecosystemAliases = map[string]string{
	"maven": "maven", "gradle": "maven", "jar": "maven", "java": "maven", "pom": "maven",
	"npm": "npm", "node": "npm", "node-pkg": "npm", "yarn": "npm", "pnpm": "npm",
	"pypi": "pypi", "pip": "pypi", "python-pkg": "pypi", "python": "pypi", "pipenv": "pypi", "poetry": "pypi", "uv": "pypi",
	"go": "go", "gomod": "go", "gobinary": "go", "golang": "go",
	"rubygems": "rubygems", "gem": "rubygems", "gemspec": "rubygems", "bundler": "rubygems",
	"crates.io": "cargo", "cargo": "cargo", "rust": "cargo", "rust-binary": "cargo",
	"nuget": "nuget", "dotnet-core": "nuget", "packages-lock": "nuget",
	"debian": "debian", "deb": "debian", "ubuntu": "debian",
	"alpine": "alpine", "apk": "alpine",
	"redhat": "rpm", "rpm": "rpm", "centos": "rpm", "rocky": "rpm", "almalinux": "rpm", "fedora": "rpm", "amazon": "rpm", "oracle": "rpm", "suse": "rpm", "opensuse": "rpm",
	"packagist": "composer", "composer": "composer",
	"hex": "hex", "pub": "pub",
}

// CanonicalEcosystem maps the ecosystem names tools use (Trivy "jar", OSV
// "Maven", Grype "java-archive", an OS "debian 12") onto one lower-case name.
// OS ecosystems lose their release ("Debian:12" → "debian"): the release is a
// property of the image, not of the package identity across tools.
func CanonicalEcosystem(eco string) string {
	e := strings.ToLower(strings.TrimSpace(eco))
	for _, sep := range []string{":", " "} {
		if i := strings.Index(e, sep); i > 0 {
			e = e[:i]
		}
	}
	e = strings.TrimSuffix(e, "-archive")
	if c, ok := ecosystemAliases[e]; ok {
		return c
	}
	return e
}

// KnownEcosystem is CanonicalEcosystem of a word that names an ecosystem
// vulntune knows ("npm", "apk", "Debian:12"), and false for any other word
// ("security", "CWE-79"), so tags and free text can be scanned for one.
func KnownEcosystem(word string) (string, bool) {
	if strings.TrimSpace(word) == "" {
		return "", false
	}
	e := CanonicalEcosystem(word)
	_, ok := ecosystemAliases[e] // every canonical name maps to itself
	return e, ok
}

var pypiNorm = regexp.MustCompile(`[-_.]+`)

// CanonicalPackageName normalises a package name the way its ecosystem
// compares names: PyPI per PEP 503, Maven "group:artifact" with either ":" or
// "/" as separator, npm and others case-sensitive as given.
func CanonicalPackageName(eco, name string) string {
	name = strings.TrimSpace(name)
	switch eco {
	case "pypi":
		return pypiNorm.ReplaceAllString(strings.ToLower(name), "-")
	case "maven":
		return strings.ReplaceAll(name, "/", ":")
	case "debian", "alpine", "rpm", "rubygems", "cargo", "nuget", "composer":
		return strings.ToLower(name)
	}
	return name
}

// CleanPath makes a location path repo-relative with forward slashes.
func CleanPath(p string) string {
	if p == "" {
		return ""
	}
	p = strings.ReplaceAll(p, `\`, "/")
	p = strings.TrimPrefix(p, "file://")
	p = path.Clean(p)
	p = strings.TrimPrefix(p, "./")
	if p == "." {
		return ""
	}
	return p
}
