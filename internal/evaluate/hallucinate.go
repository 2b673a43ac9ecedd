package evaluate

import (
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/ident"

	"github.com/vulntune/vulntune/internal/dataset"
)

// Ungrounded returns the identifiers answer names — vulnerability ids (CVE,
// GHSA, GO-, PYSEC-, RUSTSEC-, OSV-), CWE ids, versions and file paths —
// that appear neither in prompt nor among facts, sorted and deduplicated.
// The facts count as ground because they are the finding's own data (the
// CWE of a ZAP alert is in the finding though not in the prompt text):
// naming them is what cwe_accuracy rewards, not an invention. URLs and
// package names are left out: an answer may legitimately cite a CWE page or
// a build tool, and neither is what a small model typically invents.
func Ungrounded(answer, prompt string, facts dataset.Facts) []string {
	ground := prompt + "\n" + facts.Package + "\n" + facts.FixedVersion + "\n" +
		strings.Join(facts.CWE, "\n") + "\n" + facts.Location
	lowGround := strings.ToLower(ground)
	vulnIDs, cwes, versions := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range vulnRE.FindAllString(ground, -1) {
		vulnIDs[strings.ToUpper(m)] = true
	}
	for _, m := range ident.CWERE.FindAllString(ground, -1) {
		cwes[ident.NormCWE(m)] = true
	}
	for _, m := range looseVerRE.FindAllString(ground, -1) {
		versions[ident.NormVersion(m)] = true
	}

	bad := map[string]bool{}
	b := []byte(answer)
	// URLs are blanked first so their path parts and versions are not
	// judged as paths and versions of their own.
	for _, m := range urlRE.FindAllIndex(b, -1) {
		blank(b, m[0], m[1])
	}
	for _, m := range vulnRE.FindAllIndex(b, -1) {
		if id := strings.ToUpper(string(b[m[0]:m[1]])); !vulnIDs[id] {
			bad[id] = true
		}
		blank(b, m[0], m[1])
	}
	for _, m := range ident.CWERE.FindAllIndex(b, -1) {
		if id := ident.NormCWE(string(b[m[0]:m[1]])); !cwes[id] {
			bad[id] = true
		}
		blank(b, m[0], m[1])
	}
	for _, m := range tokenRE.FindAllIndex(b, -1) {
		tok := strings.TrimRight(string(b[m[0]:m[1]]), ".,;:!?")
		if !ident.IsPath(tok) {
			continue
		}
		if !ident.ContainsWord(lowGround, strings.ToLower(strings.TrimPrefix(tok, "./"))) {
			bad[tok] = true
		}
		blank(b, m[0], m[1])
	}
	for _, m := range strictVerRE.FindAllSubmatchIndex(b, -1) {
		if v := strings.TrimRight(string(b[m[2]:m[3]]), ".,;:"); !versions[ident.NormVersion(v)] {
			bad[v] = true
		}
	}
	out := make([]string, 0, len(bad))
	for k := range bad {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func blank(b []byte, from, to int) {
	for i := from; i < to; i++ {
		b[i] = ' '
	}
}
