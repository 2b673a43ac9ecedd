package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
)

// MinKnownLen is the shortest known secret value masked wherever it occurs.
// Shorter values ("test", "1234", "admin") appear in ordinary text, so they are
// masked only in assignment context (see assignedAt).
const MinKnownLen = 6

// acThreshold is the number of strong patterns above which an Aho-Corasick
// automaton beats one strings.Index scan per pattern.
const acThreshold = 8

// knownSet matches known secret values and their encoded forms.
type knownSet struct {
	// strong are values (and encodings) masked at every occurrence.
	strong []string
	// weak are short values masked only where assignedAt holds.
	weak []string
	// ac matches strong when there are many; nil otherwise.
	ac *ahocorasick.AhoCorasick
}

// newKnownSet classifies values into strong and weak patterns, dropping
// scanner masks and duplicates. automaton builds an Aho-Corasick matcher when
// there are enough patterns to pay for it (the global set; a finding's own few
// secrets are matched with strings.Index).
func newKnownSet(values []string, automaton bool) *knownSet {
	k := &knownSet{}
	seen := map[string]bool{}
	add := func(list *[]string, v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, raw := range values {
		v := strings.TrimSpace(raw)
		if isScannerMask(v) {
			continue
		}
		if len(v) < MinKnownLen || distinct(v) < 2 {
			add(&k.weak, v)
			continue
		}
		for _, e := range encodings(v) {
			add(&k.strong, e)
		}
	}
	if automaton && len(k.strong) > acThreshold {
		b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{MatchKind: ahocorasick.StandardMatch})
		ac := b.Build(k.strong)
		k.ac = &ac
	}
	return k
}

// empty reports whether k matches nothing.
func (k *knownSet) empty() bool {
	return k == nil || len(k.strong)+len(k.weak) == 0
}

// find returns the [start, end) of every occurrence in s, overlapping ones
// included, so that merging masks the union of two overlapping secrets.
func (k *knownSet) find(s string) [][2]int {
	if k.empty() {
		return nil
	}
	var out [][2]int
	if k.ac != nil {
		it := k.ac.IterOverlapping(s)
		for m := it.Next(); m != nil; m = it.Next() {
			out = append(out, [2]int{m.Start(), m.End()})
		}
	} else {
		for _, v := range k.strong {
			out = appendIndexes(out, s, v, nil)
		}
	}
	for _, v := range k.weak {
		out = appendIndexes(out, s, v, assignedAt)
	}
	return out
}

// appendIndexes appends every occurrence of v in s (overlapping ones too) for
// which ok, when given, holds.
func appendIndexes(out [][2]int, s, v string, ok func(s string, start, end int) bool) [][2]int {
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], v)
		if i < 0 {
			break
		}
		i += from
		if ok == nil || ok(s, i, i+len(v)) {
			out = append(out, [2]int{i, i + len(v)})
		}
		from = i + 1
	}
	return out
}

// assignedAt reports whether s[start:end] stands as a whole value assigned to
// something: preceded by `=`, `:` or `=>` (with optional spaces and an opening
// quote) and followed by a non-word character. This covers `pw=test`,
// `"pw": "test"`, `pw: test` and `user:test@host`.
func assignedAt(s string, start, end int) bool {
	if end < len(s) && isWord(s[end]) {
		return false
	}
	i := start
	if i > 0 && strings.IndexByte("\"'`", s[i-1]) >= 0 {
		i--
	}
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	if i == 0 {
		return false
	}
	switch s[i-1] {
	case '=', ':':
		return true
	case '>':
		return i > 1 && s[i-2] == '='
	}
	return false
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// encodings lists v and the escaped forms it is likely to appear in: inside a
// JSON string (with and without HTML escaping), URL query and path encoding,
// and base64 (as in Kubernetes Secret data and Basic auth).
func encodings(v string) []string {
	out := []string{v}
	var buf bytes.Buffer
	for _, html := range []bool{false, true} {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			js := strings.TrimSuffix(buf.String(), "\n")
			out = append(out, js[1:len(js)-1])
		}
	}
	out = append(out,
		url.QueryEscape(v),
		url.PathEscape(v),
		// Unpadded, so the pattern also matches the padded form.
		base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v)),
	)
	return out
}

// isScannerMask reports whether v is not a secret but a scanner's mask of one
// (Trivy's "*****", Gitleaks' "REDACTED", or one of ours).
func isScannerMask(v string) bool {
	if v == "" || strings.EqualFold(v, "redacted") {
		return true
	}
	if strings.HasPrefix(v, maskPrefix) && strings.HasSuffix(v, maskSuffix) {
		return true
	}
	return strings.Trim(v, "*•") == ""
}

// distinct counts the different bytes in v, up to 2.
func distinct(v string) int {
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			return 2
		}
	}
	return 1
}
