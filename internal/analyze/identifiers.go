package analyze

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/ident"

	"github.com/vulntune/vulntune/internal/finding"
)

// Identifier shapes. Each regexp is applied to an answer field after the
// spans of the earlier classes are blanked, so a version inside a URL or a
// path is judged with its URL or path, not again on its own. Vulnerability
// ids are ident.VulnRE, the one list the dataset and evaluation use too.
var (
	urlRE = regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s<>"'\x60]+|\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>"'\x60]*`)
	// Package coordinates: Maven group:artifact (the group has a dot, the
	// artifact starts with a letter, so times and host:port do not match),
	// npm @scope/name, name@1.2 or name==1.2, and a dashed or dotted name
	// followed by a version ("log4j-core 2.14.1").
	mavenRE    = regexp.MustCompile(`(?i)\b([a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+:[a-z][a-z0-9_.-]*[a-z0-9])`)
	scopedRE   = regexp.MustCompile(`(?i)(?:^|[^\w@])(@[a-z0-9][\w.-]*/[a-z0-9][\w.-]*[a-z0-9])`)
	atVerRE    = regexp.MustCompile(`(?i)(?:^|[^\w@/.-])([a-z][\w.-]*[a-z0-9])(?:@|==|>=|<=|~=|!=)v?\d`)
	spaceVerRE = regexp.MustCompile(`(?i)(?:^|[^\w@/.-])([a-z]\w*(?:[-_.]\w+)+)\s+v?\d+\.\d+`)

	tokenRE = regexp.MustCompile("[^\\s,;()\\[\\]{}<>\"'`]+")

	// Versions: three or more numeric parts, a "v" prefix, a pre-release
	// suffix, or two parts after a word or operator that makes them a
	// version. Bare "9.8" or "TLS 1.2" are left alone: they are scores and
	// protocol names far more often than package versions.
	verRE = regexp.MustCompile(`(?i)(?:^|[^\w.])(v?\d+\.\d+\.\d+(?:\.\d+)*(?:[-+~][0-9a-z][0-9a-z.+~-]*)?|` +
		`v\d+(?:\.\d+)+(?:[-+~][0-9a-z][0-9a-z.+~-]*)?|\d+\.\d+[-~](?:alpha|beta|rc|pre|dev|post|snapshot|final|ga|m)[0-9a-z.]*)`)
	ctxVerRE = regexp.MustCompile(`(?i)(?:\b(?:versions?|releases?|upgrade to|update to|bump to|fixed in|patched in|prior to|before)|>=|<=|==|~>|[<>^~])\s*v?(\d+(?:\.\d+)+)`)
	// looseVerRE collects every version-like string of the finding, so the
	// allowed set is a superset of what the strict patterns can find.
	looseVerRE = regexp.MustCompile(`(?i)v?\d+(?:\.\d+)+(?:[-+~][0-9a-z][0-9a-z.+~-]*)?`)
)

// ground holds what an answer may name for one finding.
type ground struct {
	corpus      string // lower-case finding text and reference entries
	vulnIDs     map[string]bool
	cwes        map[string]bool
	versions    map[string]bool
	urls        map[string]bool
	scannerText []string // normSpace of free scanner text, for copy checks
}

func newGround(f *finding.Finding, refs ReferenceFunc) *ground {
	g := &ground{vulnIDs: map[string]bool{}, cwes: map[string]bool{}, versions: map[string]bool{}, urls: map[string]bool{}}
	text := findingText(f)
	var ref strings.Builder
	for _, id := range f.CWE {
		id = ident.NormCWE(id)
		g.cwes[id] = true
		if n, err := strconv.Atoi(strings.TrimPrefix(id, "CWE-")); err == nil {
			g.urls[ident.NormURL("https://cwe.mitre.org/data/definitions/"+strconv.Itoa(n)+".html")] = true
		}
		if refs == nil {
			continue
		}
		if name, desc, ok := refs(id); ok {
			ref.WriteString(name + "\n" + desc + "\n")
		}
	}
	for _, m := range ident.CWERE.FindAllString(text, -1) {
		g.cwes[ident.NormCWE(m)] = true
	}
	all := text + "\n" + ref.String()
	g.corpus = strings.ToLower(all)
	for _, m := range ident.VulnRE.FindAllString(all, -1) {
		g.vulnIDs[strings.ToUpper(m)] = true
	}
	for _, id := range f.VulnIDs {
		g.vulnIDs[strings.ToUpper(strings.TrimSpace(id))] = true
	}
	for _, m := range looseVerRE.FindAllString(all, -1) {
		g.versions[ident.NormVersion(m)] = true
	}
	// URLs only from the fields that are meant to hold links, never from
	// free text such as the message: a link planted there is the classic
	// way to make a model repeat an attacker's page.
	for _, u := range append(append([]string{f.HelpURI, f.Location.URL}, f.References...), urlRE.FindAllString(ref.String(), -1)...) {
		if u != "" {
			g.urls[ident.NormURL(u)] = true
		}
	}
	for _, l := range append(append([]finding.Location{}, f.Related...), f.Flow...) {
		if l.URL != "" {
			g.urls[ident.NormURL(l.URL)] = true
		}
	}
	for _, s := range []string{f.Title, f.Message, f.Description, f.Location.Snippet} {
		g.scannerText = append(g.scannerText, normSpace(s))
	}
	return g
}

// findingText joins every field of f an answer may draw on. Sources and
// secret material are left out: the model never sees them.
func findingText(f *finding.Finding) string {
	parts := []string{string(f.Kind), string(f.Severity), f.CVSSVector, f.Title, f.Message, f.Description, f.HelpURI}
	if f.Score != 0 {
		parts = append(parts, strconv.FormatFloat(f.Score, 'f', -1, 64))
	}
	parts = append(parts, f.References...)
	parts = append(parts, f.CWE...)
	parts = append(parts, f.VulnIDs...)
	for _, t := range f.Tools {
		parts = append(parts, t.Name, t.Version, t.RuleID)
	}
	for _, l := range append(append([]finding.Location{f.Location}, f.Related...), f.Flow...) {
		parts = append(parts, l.Path, l.URL, l.Method, l.Param, l.Image, l.Snippet)
		parts = append(parts, l.Logical...)
	}
	if p := f.Package; p != nil {
		parts = append(parts, p.Name, p.Ecosystem, p.PURL, p.InstalledVersion)
		parts = append(parts, p.FixedVersions...)
	}
	for _, fx := range f.Fixes {
		parts = append(parts, fx.Description, fx.Path, fx.Replacement)
	}
	for _, v := range f.Properties {
		parts = append(parts, v)
	}
	return strings.Join(parts, "\n")
}

// checkIdentifiers rejects the first identifier in text that g does not
// hold. Classes are checked in a fixed order and each match is blanked
// before the next class runs.
func (g *ground) checkIdentifiers(name, text string) *Rejection {
	b := []byte(text)
	for _, m := range urlRE.FindAllIndex(b, -1) {
		if u := string(b[m[0]:m[1]]); !g.urls[ident.NormURL(u)] {
			return reject(ReasonURL, "%s names %s", name, trimPunct(u))
		}
		blank(b, m[0], m[1])
	}
	for _, m := range ident.VulnRE.FindAllIndex(b, -1) {
		if id := strings.ToUpper(string(b[m[0]:m[1]])); !g.vulnIDs[id] {
			return reject(ReasonVulnID, "%s names %s", name, id)
		}
		blank(b, m[0], m[1])
	}
	for _, m := range ident.CWERE.FindAllIndex(b, -1) {
		if id := ident.NormCWE(string(b[m[0]:m[1]])); !g.cwes[id] {
			return reject(ReasonCWE, "%s names %s", name, id)
		}
		blank(b, m[0], m[1])
	}
	for _, re := range []*regexp.Regexp{mavenRE, scopedRE, atVerRE, spaceVerRE} {
		for _, m := range re.FindAllSubmatchIndex(b, -1) {
			pkg := string(b[m[2]:m[3]])
			if !g.hasPackage(pkg) {
				return reject(ReasonPackage, "%s names %s", name, pkg)
			}
			blank(b, m[2], m[3])
		}
	}
	for _, m := range tokenRE.FindAllIndex(b, -1) {
		tok := trimPunct(string(b[m[0]:m[1]]))
		if !ident.IsPath(tok) {
			continue
		}
		if !ident.ContainsWord(g.corpus, strings.ToLower(strings.TrimPrefix(tok, "./"))) {
			return reject(ReasonPath, "%s names %s", name, tok)
		}
		blank(b, m[0], m[1])
	}
	for _, re := range []*regexp.Regexp{verRE, ctxVerRE} {
		for _, m := range re.FindAllSubmatchIndex(b, -1) {
			if v := string(b[m[2]:m[3]]); !g.hasVersion(v) {
				return reject(ReasonVersion, "%s names version %s", name, trimPunct(v))
			}
		}
	}
	return nil
}

func (g *ground) hasPackage(p string) bool {
	p = strings.ToLower(p)
	return ident.ContainsWord(g.corpus, p) || ident.ContainsWord(g.corpus, strings.Replace(p, ":", "/", 1))
}

// hasVersion accepts a version of the finding, or a range "a-b" whose ends
// both are.
func (g *ground) hasVersion(v string) bool {
	if g.versions[ident.NormVersion(v)] {
		return true
	}
	parts := strings.Split(trimPunct(v), "-")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !looseVerRE.MatchString(p) || !g.versions[ident.NormVersion(p)] {
			return false
		}
	}
	return true
}

func trimPunct(s string) string { return strings.TrimRight(s, ".,;:!?'\")]}>*") }

func blank(b []byte, from, to int) {
	for i := from; i < to; i++ {
		b[i] = ' '
	}
}
