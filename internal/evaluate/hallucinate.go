package evaluate

import (
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/dataset"
)

// knownFiles are file names an answer may name without a directory.
var knownFiles = map[string]bool{
	"pom.xml": true, "build.gradle": true, "build.gradle.kts": true, "package.json": true,
	"package-lock.json": true, "yarn.lock": true, "go.mod": true, "go.sum": true,
	"requirements.txt": true, "pyproject.toml": true, "cargo.toml": true, "gemfile": true,
	"dockerfile": true, "docker-compose.yml": true, "gradle.lockfile": true, "main.tf": true,
}

// sourceExts make a bare "name.ext" token a file name. "js" is left out:
// "Node.js" is a product, not a file.
var sourceExts = map[string]bool{
	"java": true, "kt": true, "kts": true, "go": true, "py": true, "rb": true, "php": true, "cs": true,
	"ts": true, "tsx": true, "jsx": true, "rs": true, "c": true, "h": true, "cpp": true, "sh": true,
	"yml": true, "yaml": true, "json": true, "xml": true, "toml": true, "ini": true, "conf": true,
	"properties": true, "gradle": true, "tf": true, "sql": true, "html": true, "lockfile": true,
}

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
	for _, m := range cweRE.FindAllString(ground, -1) {
		cwes[normCWE(m)] = true
	}
	for _, m := range looseVerRE.FindAllString(ground, -1) {
		versions[normVersion(m)] = true
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
	for _, m := range cweRE.FindAllIndex(b, -1) {
		if id := normCWE(string(b[m[0]:m[1]])); !cwes[id] {
			bad[id] = true
		}
		blank(b, m[0], m[1])
	}
	for _, m := range tokenRE.FindAllIndex(b, -1) {
		tok := strings.TrimRight(string(b[m[0]:m[1]]), ".,;:!?")
		if !isPath(tok) {
			continue
		}
		if !containsWord(lowGround, strings.ToLower(strings.TrimPrefix(tok, "./"))) {
			bad[tok] = true
		}
		blank(b, m[0], m[1])
	}
	for _, m := range strictVerRE.FindAllSubmatchIndex(b, -1) {
		if v := strings.TrimRight(string(b[m[2]:m[3]]), ".,;:"); !versions[normVersion(v)] {
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

// isPath reports whether tok looks like a file path or a file name.
func isPath(tok string) bool {
	if tok == "" || strings.Contains(tok, "://") || strings.HasPrefix(tok, "@") {
		return false
	}
	base := strings.ToLower(tok[strings.LastIndexByte(tok, '/')+1:])
	if knownFiles[base] {
		return true
	}
	if strings.Contains(tok, "/") {
		return extRE.MatchString(base) && !strings.HasPrefix(base, ".")
	}
	i := strings.LastIndexByte(base, '.')
	return i > 0 && sourceExts[base[i+1:]]
}

func blank(b []byte, from, to int) {
	for i := from; i < to; i++ {
		b[i] = ' '
	}
}
