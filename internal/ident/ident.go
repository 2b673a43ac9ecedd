// Package ident recognises and normalises the identifiers that free text
// about a finding can name — CWE ids, versions, URLs, file paths — so that
// the grounding check (analyze) and the hallucination measure (evaluate)
// agree on what counts as naming the same thing.
package ident

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

var (
	// CWERE matches a CWE id in text ("CWE-79", "cwe 079", "CWE_79").
	CWERE = regexp.MustCompile(`(?i)\bCWE[\s_:-]?(\d+)\b`)
	extRE = regexp.MustCompile(`(?i)\.[a-z][a-z0-9]{0,9}$`)
	// schemeRE is a scheme URLRE matches, lower-cased.
	schemeRE = regexp.MustCompile(`^(?:https?|ftp)$`)
)

// configFiles are config and CI file names text may name without a
// directory, lower-cased; with the build and lock files of
// finding.ManifestNames they make the files a bare name may be.
var configFiles = []string{
	".npmrc", "docker-compose.yml", "docker-compose.yaml", ".env", "web.xml",
	"application.properties", "application.yml", "application.yaml",
	".gitlab-ci.yml", "jenkinsfile", "makefile", "main.tf", "values.yaml",
}

// KnownFiles are build, lock and config file names text may name without a
// directory, lower-cased.
var KnownFiles = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range append(finding.ManifestNames(), configFiles...) {
		m[strings.ToLower(n)] = true
	}
	return m
}()

// SourceExts are extensions that make a bare "name.ext" token a file name.
// "js" is left out: "Node.js" and "Express.js" are product names.
var SourceExts = map[string]bool{
	"java": true, "kt": true, "kts": true, "scala": true, "groovy": true, "go": true, "py": true, "rb": true,
	"php": true, "cs": true, "ts": true, "tsx": true, "jsx": true, "mjs": true, "cjs": true, "rs": true,
	"c": true, "h": true, "cpp": true, "hpp": true, "swift": true, "m": true, "sh": true, "bash": true,
	"ps1": true, "yml": true, "yaml": true, "json": true, "xml": true, "toml": true, "ini": true, "cfg": true,
	"conf": true, "properties": true, "gradle": true, "tf": true, "tfvars": true, "hcl": true, "sql": true,
	"html": true, "htm": true, "jsp": true, "vue": true, "lock": true, "lockfile": true, "pem": true, "key": true, "env": true,
}

// NormCWE turns "cwe-079", "CWE 79" or "CWE_79" into "CWE-79"; anything
// else is returned trimmed and upper-cased.
func NormCWE(id string) string {
	m := CWERE.FindStringSubmatch(id)
	if m == nil {
		return strings.ToUpper(strings.TrimSpace(id))
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return strings.ToUpper(strings.TrimSpace(id))
	}
	return fmt.Sprintf("CWE-%d", n)
}

// NormVersion compares versions without a leading "v", trailing
// punctuation or trailing ".0" segments, so v2.15.0 == 2.15 == 2.15.0.
func NormVersion(v string) string {
	v = strings.ToLower(strings.TrimRight(v, ".-+~,;:"))
	v = strings.TrimPrefix(v, "v")
	if !strings.ContainsAny(v, "-+~") {
		for strings.HasSuffix(v, ".0") && strings.Count(v, ".") > 0 {
			v = strings.TrimSuffix(v, ".0")
		}
	}
	return v
}

// NormURL compares URLs without scheme, "www.", fragment, trailing slash,
// trailing punctuation or the case of scheme and host: rewriting http to
// https names the same page. The path keeps its case, as servers read it:
// `osv.dev/vuLNEraBilItY/rUStSEc-2023-0015` is no page of osv.dev.
// Backslashes are read as slashes, a scheme's separator as "//" whatever
// its length ("https:\\host\a", "https:/\host\a": host/a), as a browser
// and grounded decoding (grounded.py's backslash_url_ok) read them.
func NormURL(u string) string {
	u = strings.TrimRight(u, ".,;:!?'\")]}>")
	if strings.Contains(u, `\`) {
		u = strings.ReplaceAll(u, `\`, "/")
		if i := strings.IndexByte(u, ':'); i > 0 && schemeRE.MatchString(strings.ToLower(u[:i])) {
			u = u[:i] + "://" + strings.TrimLeft(u[i+1:], "/")
		}
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	host := strings.IndexAny(u, "/?#")
	if host < 0 {
		host = len(u)
	}
	u = strings.TrimPrefix(strings.ToLower(u[:host]), "www.") + u[host:]
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	return strings.TrimRight(u, "/")
}

// IsPath reports whether tok looks like a file path or a file name.
func IsPath(tok string) bool {
	if tok == "" || strings.Contains(tok, "://") || strings.HasPrefix(tok, "@") {
		return false
	}
	base := strings.ToLower(tok[strings.LastIndexByte(tok, '/')+1:])
	if KnownFiles[base] {
		return true
	}
	if strings.Contains(tok, "/") {
		if extRE.MatchString(base) && !strings.HasPrefix(base, ".") {
			return true
		}
		if strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, "~/") {
			segs := 0
			for _, s := range strings.Split(tok, "/") {
				if s != "" && s != "~" {
					segs++
				}
			}
			return segs >= 2
		}
		return false
	}
	i := strings.LastIndexByte(base, '.')
	return i > 0 && SourceExts[base[i+1:]]
}

// ContainsWord reports whether needle occurs in hay not glued to a longer
// name: the characters around it must not continue a name.
func ContainsWord(hay, needle string) bool {
	if needle == "" {
		return false
	}
	for off := 0; ; {
		i := strings.Index(hay[off:], needle)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(needle)
		before := start == 0 || !nameByte(hay[start-1])
		after := end == len(hay) || !nameByte(hay[end]) ||
			(hay[end] == '.' && (end+1 == len(hay) || !alnum(hay[end+1])))
		if before && after {
			return true
		}
		off = start + 1
	}
}

func nameByte(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' }

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
