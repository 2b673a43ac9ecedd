package ingest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// jsonHead is what the native-JSON sniffers look at: the object keys seen in
// the (possibly cut off) head of a document, by depth. Matching keys rather
// than substrings keeps a message that merely mentions "results" from
// making a file look like a report.
type jsonHead struct {
	// array is true when the document is a top-level array.
	array bool
	// top holds the keys of the top-level object, or of the first element
	// when the document is an array of objects.
	top map[string]bool
	// all holds every object key seen at any depth.
	all map[string]bool
	// elems counts the elements of a top-level array seen in head.
	elems int
}

// jsonSniffHead tokenises head until it ends or stops being JSON. It never
// fails: a cut-off or broken head simply yields fewer keys.
func jsonSniffHead(head []byte) jsonHead {
	h := jsonHead{top: map[string]bool{}, all: map[string]bool{}}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, jsonBOM), " \t\r\n")
	if len(head) == 0 || (head[0] != '{' && head[0] != '[') {
		return h
	}
	h.array = head[0] == '['
	dec := json.NewDecoder(bytes.NewReader(head))
	// stack holds, per open container, whether it is an object and whether
	// the next token in it is a key.
	type frame struct{ object, wantKey bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return h
		}
		depth := len(stack)
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if depth == 1 && h.array {
					h.elems++
				}
				if depth > 0 && stack[depth-1].object {
					stack[depth-1].wantKey = true
				}
				stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:depth-1]
			}
			continue
		}
		if depth == 0 {
			return h
		}
		top := &stack[depth-1]
		if !top.object {
			if depth == 1 && h.array {
				h.elems++
			}
			continue
		}
		if !top.wantKey {
			top.wantKey = true
			continue
		}
		top.wantKey = false
		key, _ := tok.(string)
		h.all[key] = true
		if (depth == 1 && !h.array) || (depth == 2 && h.array && h.elems == 1) {
			h.top[key] = true
		}
	}
}

// isSARIF reports whether the head looks like SARIF, which every native
// sniffer must leave to the SARIF format.
func (h jsonHead) isSARIF() bool { return !h.array && h.top["runs"] }

// jsonCWEPattern finds a CWE number in the forms tools write: "CWE-89",
// "CWE-89: Improper ...", "cwe_89", or a bare "89".
var jsonCWEPattern = regexp.MustCompile(`(?i)^\s*(?:cwe[-_: ]?)?(\d{1,5})\b`)

// jsonCWE normalises one CWE reference to "CWE-<n>", or "" when it names
// none (ZAP writes "-1" or "0" for no CWE).
func jsonCWE(s string) string {
	m := jsonCWEPattern.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	n := strings.TrimLeft(m[1], "0")
	if n == "" {
		return ""
	}
	return "CWE-" + n
}

// jsonCWEs normalises a list of CWE references, dropping empty ones.
func jsonCWEs(list []string) []string {
	var out []string
	for _, s := range list {
		if c := jsonCWE(s); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// jsonCIRoots are checkout roots of CI runners: scanners that print absolute
// paths print them under these, and the repo-relative path is what follows.
var jsonCIRoots = []*regexp.Regexp{
	regexp.MustCompile(`^/home/runner/work/[^/]+/[^/]+/`), // GitHub-hosted runners
	regexp.MustCompile(`^/github/workspace/`),             // GitHub container actions
	regexp.MustCompile(`^/builds/[^/]+/[^/]+/`),           // GitLab runners
	regexp.MustCompile(`^/__w/[^/]+/[^/]+/`),              // GitHub jobs in containers
}

// jsonRepoPath makes a scanner's file path repo-relative: CI checkout roots
// removed, forward slashes, cleaned.
func jsonRepoPath(p string) string {
	p = finding.CleanPath(p)
	for _, re := range jsonCIRoots {
		if loc := re.FindStringIndex(p); loc != nil {
			return p[loc[1]:]
		}
	}
	return p
}

// jsonTitle derives a one-line title from a longer message: its first
// sentence or line, at most 160 bytes, cut at a word boundary.
func jsonTitle(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	if i := strings.Index(msg, ". "); i >= 0 {
		msg = msg[:i+1]
	}
	const limit = 160
	if len(msg) <= limit {
		return msg
	}
	cut := strings.LastIndexByte(msg[:limit], ' ')
	if cut < limit/2 {
		cut = limit
		for cut > 0 && !isRuneStart(msg[cut]) {
			cut--
		}
	}
	return strings.TrimSpace(msg[:cut]) + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// jsonProps builds a Properties map from key/value pairs, leaving out empty
// values; it returns nil when nothing is left.
func jsonProps(kv ...string) map[string]string {
	var m map[string]string
	for i := 0; i+1 < len(kv); i += 2 {
		if v := strings.TrimSpace(kv[i+1]); v != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[kv[i]] = v
		}
	}
	return m
}

// jsonSeverity maps a tool's severity word through finding.SeverityMapping
// ("words"), falling back to def for words the table does not know.
func jsonSeverity(word string, def finding.Severity) finding.Severity {
	if s, ok := finding.SeverityFromWord(word); ok {
		return s
	}
	return def
}

// jsonTidy removes repeats from the list fields of parsed findings,
// keeping first-seen order, and turns nil lists into empty ones, so every
// parser hands ingest the same shape.
func jsonTidy(fs []finding.Finding) []finding.Finding {
	for i := range fs {
		f := &fs[i]
		f.VulnIDs = jsonUniq(f.VulnIDs)
		f.References = jsonUniq(f.References)
		f.CWE = jsonUniq(f.CWE)
		f.Secrets = jsonUniq(f.Secrets)
		if len(f.Secrets) == 0 {
			f.Secrets = nil
		}
		if f.Package != nil {
			f.Package.FixedVersions = jsonUniq(f.Package.FixedVersions)
		}
	}
	return fs
}

func jsonUniq(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
