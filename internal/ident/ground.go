package ident

import (
	"regexp"
	"sort"
	"strings"
)

// Identifier shapes shared by the dataset's grounding guarantee (narrate)
// and the hallucination measure (evaluate), so the data is held to exactly
// the rule its model is scored by.
var (
	// URLRE matches an http(s) or ftp URL, one written with backslashes
	// for its slashes too ("https:\\host\path", "https:/\host"): a browser
	// reads them as slashes, and the engine's grounded decoding holds them
	// to the URL rules (grounded.py's BACKSLASH_URL_RE), so evaluation
	// counts them as URLs. NormURL reads them as slashes.
	URLRE = regexp.MustCompile(`(?i)\b(?:https?|ftp)(?:://[^\s<>"'\x60)\]]+|:/*\\[^\s<>"'\x60)\]]*)`)
	// VulnRE matches a vulnerability id of every family a scanner reports:
	// CVE, GHSA, GO-, PYSEC-, RUSTSEC-, OSV-, GSD-, MAL-, Debian DSA/DLA,
	// Ubuntu USN, Red Hat RHSA, Amazon ALAS, Oracle ELSA and Snyk ids. The
	// one list for the dataset's grounding guarantee, the hallucination
	// measure and the analysis's grounding check.
	VulnRE = regexp.MustCompile(`(?i)\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}|GO-\d{4}-\d{4,}|PYSEC-\d{4}-\d+|` +
		`RUSTSEC-\d{4}-\d{4,}|OSV-\d{4}-\d+|GSD-\d{4}-\d+|MAL-\d{4}-\d+|DSA-\d{3,}(?:-\d+)?|DLA-\d{3,}-\d+|` +
		`USN-\d+-\d+|RHSA-\d{4}:\d+|ALAS\d*-\d{4}-\d+|ELSA-\d{4}-\d+|SNYK-[A-Z]+-[A-Z0-9]+-\d+)\b`)
	// LooseVerRE matches anything version-like, "1.2" included: what a
	// ground may contain. A qualifier follows a dash, plus or tilde, or a
	// dot when it starts with a letter (Maven's "4.1.124.Final"), so that
	// "4.1.124" is not taken for "4.1.124.Final".
	LooseVerRE = regexp.MustCompile(`(?i)v?\d+(?:\.\d+)+(?:[-+~][0-9a-z][0-9a-z.+~-]*|\.[a-z][0-9a-z.+~-]*)?`)
	// strictVerRE: three or more numeric parts, or a "v" prefix, so that
	// "9.8" (a score) and "TLS 1.2" are not taken for package versions.
	strictVerRE = regexp.MustCompile(`(?i)(?:^|[^\w.])(v?\d+\.\d+\.\d+(?:\.\d+)*(?:[-+~][0-9a-z][0-9a-z.+~-]*|\.[a-z][0-9a-z.+~-]*)?|v\d+(?:\.\d+)+)`)
	tokenRE     = regexp.MustCompile("[^\\s,;()\\[\\]{}<>\"'`*]+")
)

// Kinds of identifier an answer can name.
const (
	KindVulnID  = "vulnerability id"
	KindCWE     = "CWE"
	KindPath    = "path"
	KindVersion = "version"
	KindURL     = "URL"
)

// Kinds lists the kinds of identifier in the order reports show them.
var Kinds = []string{KindVersion, KindCWE, KindVulnID, KindPath, KindURL}

// Ident is one identifier found in a text, with its kind.
type Ident struct {
	Kind string
	Text string
}

// slashName matches a name, a slash and a name: a path's or a module's
// shape, "and/or" too.
var slashName = regexp.MustCompile(`[0-9A-Za-z_.-]/[0-9A-Za-z_.-]`)

// cutPath reports whether tok, lower-cased, is a path of the ground cut
// short: it occurs there only glued to a longer name. IsPath does not
// know it (a file name cut before its extension, "usr/bin/gpassw" for
// usr/bin/gpasswd, "images/alpine" for images/alpine-39.tar.gz), and a
// substring of the ground would pass for grounded, yet it names a file
// the finding does not. A directory written with its slash ("usr/bin/")
// names one of the path's directories, as "usr/bin" does.
func cutPath(ground, tok string) bool {
	return slashName.MatchString(tok) && !strings.HasSuffix(tok, "/") && strings.Contains(ground, tok) && !ContainsWord(ground, tok)
}

// Ungrounded returns the identifiers text names — vulnerability ids, CWE
// ids, versions and file paths — that do not occur in ground, sorted and
// deduplicated. URLs and package names are left out: text may cite a CWE
// page or a build tool, and neither is what a small model typically
// invents; URLs (backslash ones too, URLRE) are blanked first so their
// path parts and versions are not judged as paths and versions of their
// own. A well-known build file named
// bare ("package.json", "build.gradle.kts") names a kind of file, the one
// every project of its ecosystem has, not a location: it is judged only
// with a directory ("web/package.json").
func Ungrounded(text, ground string) []string {
	ids := UngroundedIdents(text, ground)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.Text
	}
	return out
}

// UngroundedIdents is Ungrounded with each identifier's kind, sorted by
// text.
func UngroundedIdents(text, ground string) []Ident {
	lowGround := strings.ToLower(ground)
	vulnIDs, cwes, versions := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range VulnRE.FindAllString(ground, -1) {
		vulnIDs[strings.ToUpper(m)] = true
	}
	for _, m := range CWERE.FindAllString(ground, -1) {
		cwes[NormCWE(m)] = true
	}
	for _, m := range LooseVerRE.FindAllString(ground, -1) {
		versions[NormVersion(m)] = true
	}

	bad := map[string]string{} // text -> kind
	b := []byte(text)
	for _, m := range URLRE.FindAllIndex(b, -1) {
		blank(b, m[0], m[1])
	}
	for _, m := range VulnRE.FindAllIndex(b, -1) {
		if id := strings.ToUpper(string(b[m[0]:m[1]])); !vulnIDs[id] {
			bad[id] = KindVulnID
		}
		blank(b, m[0], m[1])
	}
	for _, m := range CWERE.FindAllIndex(b, -1) {
		if id := NormCWE(string(b[m[0]:m[1]])); !cwes[id] {
			bad[id] = KindCWE
		}
		blank(b, m[0], m[1])
	}
	for _, m := range tokenRE.FindAllIndex(b, -1) {
		tok := strings.TrimRight(string(b[m[0]:m[1]]), ".,;:!?")
		low := strings.ToLower(strings.TrimPrefix(tok, "./"))
		switch {
		case IsPath(tok) && !KnownFiles[strings.ToLower(tok)]:
			if !ContainsWord(lowGround, low) {
				bad[tok] = KindPath
			}
		case cutPath(lowGround, low):
			bad[tok] = KindPath
		default:
			continue
		}
		blank(b, m[0], m[1])
	}
	for _, m := range strictVerRE.FindAllSubmatchIndex(b, -1) {
		if v := strings.TrimRight(string(b[m[2]:m[3]]), ".,;:"); !versions[NormVersion(v)] {
			bad[v] = KindVersion
		}
	}
	out := make([]Ident, 0, len(bad))
	for t, k := range bad {
		out = append(out, Ident{Kind: k, Text: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Text < out[j].Text })
	return out
}

func blank(b []byte, from, to int) {
	for i := from; i < to; i++ {
		b[i] = ' '
	}
}

// canonicalPages are the pages an identifier has at its authority: naming
// one is citing the identifier, not recalling a link. Each pattern is
// matched against a NormURL'd URL, whose path keeps its case: the page's
// path as its site writes it, the identifier (the group) as CanonicalID
// writes it.
var canonicalPages = []struct {
	re   *regexp.Regexp
	kind string
}{
	{regexp.MustCompile(`^cwe\.mitre\.org/data/definitions/([1-9]\d*)\.html$`), KindCWE},
	{regexp.MustCompile(`^nvd\.nist\.gov/vuln/detail/(CVE-\d{4}-\d{4,})$`), KindVulnID},
	{regexp.MustCompile(`^github\.com/advisories/(GHSA(?:-[0-9a-z]{4}){3})$`), KindVulnID},
	{regexp.MustCompile(`^osv\.dev/vulnerability/([^/?#]+)$`), KindVulnID},
}

// CanonicalID is vulnerability id as its databases write it in their
// pages' paths: upper case ("CVE-2024-12801", "RUSTSEC-2023-0015"), but
// for a GitHub advisory's lower-case segments ("GHSA-36p3-wjmg-h94x").
func CanonicalID(id string) string {
	id = strings.ToUpper(id)
	if rest, ok := strings.CutPrefix(id, "GHSA-"); ok {
		return "GHSA-" + strings.ToLower(rest)
	}
	return id
}

// UngroundedURLs returns the URLs text names that ground does not carry,
// sorted and deduplicated, each as written (without trailing punctuation).
// A URL is grounded when ground names the same page (NormURL: scheme, host
// case, "www.", fragment, trailing slash and backslashes for slashes
// aside; the path's case counts) or when it is the
// canonical page of an identifier ground names: the CWE entry of a CWE id
// (cwe.mitre.org/data/definitions/N.html), the NVD page of a CVE, the
// GitHub advisory of a GHSA id, the OSV page of any vulnerability id.
//
// It is not part of UngroundedIdents, the dataset's grounding rule: the
// dataset's reference answers list the finding's own reference links that
// name its ids (an advisory mirror, a vendor tracker) without their prompt
// showing them, and that rule would drop those examples.
func UngroundedURLs(text, ground string) []Ident {
	pages := shownPages(ground)
	ids := map[string]bool{}
	for _, m := range VulnRE.FindAllString(ground, -1) {
		ids[strings.ToUpper(m)] = true
	}
	for _, m := range CWERE.FindAllString(ground, -1) {
		ids[NormCWE(m)] = true
	}
	bad := map[string]bool{}
	for _, m := range URLRE.FindAllString(text, -1) {
		m = trimURL(m)
		u := NormURL(m)
		if u == "" || pages[u] || canonicalGrounded(u, ids) {
			continue
		}
		bad[m] = true
	}
	out := make([]Ident, 0, len(bad))
	for m := range bad {
		out = append(out, Ident{Kind: KindURL, Text: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Text < out[j].Text })
	return out
}

// PagesShown returns a check that text's URLs all name pages ground shows
// itself, by UngroundedURLs' rule without its canonical pages of ids.
func PagesShown(ground string) func(text string) bool {
	pages := shownPages(ground)
	return func(text string) bool {
		for _, m := range URLRE.FindAllString(text, -1) {
			if !pages[NormURL(trimURL(m))] {
				return false
			}
		}
		return true
	}
}

// shownPages are the pages (NormURL'd) ground's URLs name.
func shownPages(ground string) map[string]bool {
	pages := map[string]bool{}
	for _, m := range URLRE.FindAllString(ground, -1) {
		pages[NormURL(strings.TrimRight(m, "*_"))] = true
	}
	return pages
}

// trimURL drops the punctuation prose puts after a link in text.
func trimURL(u string) string { return strings.TrimRight(u, ".,;:!?'\")]}>*_") }

// canonicalGrounded reports whether u (NormURL'd) is the canonical page of
// an identifier in ids.
func canonicalGrounded(u string, ids map[string]bool) bool {
	for _, p := range canonicalPages {
		m := p.re.FindStringSubmatch(u)
		if m == nil {
			continue
		}
		if p.kind == KindCWE {
			return ids[NormCWE("CWE-"+m[1])]
		}
		return m[1] == CanonicalID(m[1]) && ids[strings.ToUpper(m[1])]
	}
	return false
}
