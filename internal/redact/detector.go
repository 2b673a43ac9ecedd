package redact

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Detector is one built-in secret detector, in the style of a Gitleaks rule:
// keywords gate a precompiled regular expression, and every detector carries
// samples it must and must not match, which a table test checks.
type Detector struct {
	// Name is the detector id used in masks and Stats ("github-pat").
	Name string
	// Description says what the detector finds.
	Description string
	// Keywords are lower-case strings one of which must occur in the text
	// (case-insensitively) before the detector's expressions run; this cheap
	// prefilter keeps redaction fast on the common text with no secret.
	Keywords []string
	// MustMatch are texts in which the detector must find a secret.
	MustMatch []string
	// MustNotMatch are texts in which it must find nothing.
	MustNotMatch []string

	patterns []pattern
	// custom, when set, finds spans itself (for formats a single regular
	// expression cannot split, like Cookie headers).
	custom func(s string) [][2]int
	// window, when set, limits matching to the text around each keyword hit
	// at [start, end): it returns the region [a, b) a match involving that
	// hit must lie in, or ok false when the hit cannot be part of a match.
	// When nil the whole text is searched.
	window func(s string, start, end int) (a, b int, ok bool)
}

// pattern is one expression of a detector. The spans to mask are the
// participating capture groups whose names begin with "s" (s1, s2, ...), or
// the whole match when there are none; keep, when set, vetoes a span.
type pattern struct {
	re     *regexp.Regexp
	groups []int
	keep   func(s string, start, end int) bool
	// need, when set, is a lower-case literal the text must contain for
	// the expression to run at all.
	need string
}

// newPattern compiles expr and records its secret groups.
func newPattern(expr string, keep func(s string, start, end int) bool) pattern {
	re := regexp.MustCompile(expr)
	p := pattern{re: re, keep: keep}
	for i, name := range re.SubexpNames() {
		if strings.HasPrefix(name, "s") {
			p.groups = append(p.groups, i)
		}
	}
	if len(p.groups) == 0 {
		p.groups = []int{0}
	}
	return p
}

// find returns the spans of s the detector would mask. lower is
// asciiLower(s), computed once per text for all detectors.
//
// Keywords gate the expressions, as in Gitleaks. A windowed detector runs its
// expressions only on the text around each keyword hit (that near accepts),
// which keeps redaction fast on long text that merely mentions a keyword.
func (d *Detector) find(s, lower string) [][2]int {
	if len(d.Keywords) == 0 {
		return d.run(s, nil)
	}
	if d.window == nil {
		for _, k := range d.Keywords {
			if strings.Contains(lower, k) {
				return d.run(s, nil)
			}
		}
		return nil
	}
	var wins [][2]int
	for _, k := range d.Keywords {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], k)
			if i < 0 {
				break
			}
			i += from
			from = i + len(k)
			if a, b, ok := d.window(s, i, i+len(k)); ok {
				wins = append(wins, [2]int{a, b})
			}
		}
	}
	if len(wins) == 0 {
		return nil
	}
	return d.run(s, mergeWindows(wins))
}

// run matches the detector's expressions on each window of s (all of s when
// wins is nil) and returns the spans to mask.
func (d *Detector) run(s string, wins [][2]int) [][2]int {
	if wins == nil {
		wins = [][2]int{{0, len(s)}}
	}
	var out [][2]int
	for _, w := range wins {
		text := s[w[0]:w[1]]
		if d.custom != nil {
			for _, m := range d.custom(text) {
				out = append(out, [2]int{w[0] + m[0], w[0] + m[1]})
			}
			continue
		}
		for _, p := range d.patterns {
			if p.need != "" && !strings.Contains(asciiLower(text), p.need) {
				continue
			}
			for _, m := range p.re.FindAllStringSubmatchIndex(text, -1) {
				for _, g := range p.groups {
					start, end := m[2*g], m[2*g+1]
					if start < 0 || end <= start {
						continue
					}
					if p.keep != nil && !p.keep(text, start, end) {
						continue
					}
					out = append(out, [2]int{w[0] + start, w[0] + end})
				}
			}
		}
	}
	return out
}

// windowBefore is how far before a keyword hit a token match may start.
const windowBefore = 64

// tokenWindow is the window of detectors whose matches contain whitespace, if
// at all, only within after bytes past the keyword: from windowBefore bytes
// before the hit, moved back to the start of the word there plus one
// separator byte (so boundary tests see the same context as in the whole
// text), to after bytes past it, moved forward to the next whitespace (so no
// secret is cut).
func tokenWindow(after int) func(s string, start, end int) (int, int, bool) {
	return func(s string, start, end int) (int, int, bool) {
		return wordStart(s, start-windowBefore), toSpace(s, end+after), true
	}
}

// wordStart moves a back to the start of the word it falls in, then one more
// byte so the window includes the separator before it.
func wordStart(s string, a int) int {
	a = max(a, 0)
	for a > 0 && isIdent(s[a-1]) {
		a--
	}
	return max(a-1, 0)
}

// toSpace moves b forward to the next whitespace or the end of s.
func toSpace(s string, b int) int {
	b = min(b, len(s))
	for b < len(s) && !isSpace(s[b]) {
		b++
	}
	return b
}

// mergeWindows sorts windows and joins overlapping ones.
func mergeWindows(wins [][2]int) [][2]int {
	sort.Slice(wins, func(i, j int) bool { return wins[i][0] < wins[j][0] })
	out := wins[:1]
	for _, w := range wins[1:] {
		last := &out[len(out)-1]
		if w[0] <= last[1] {
			last[1] = max(last[1], w[1])
			continue
		}
		out = append(out, w)
	}
	return out
}

func isIdent(c byte) bool { return isWord(c) || c == '.' || c == '-' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// asciiLower lower-cases the ASCII letters of s and leaves every other byte
// alone, so offsets in the result are offsets in s (strings.ToLower may
// change byte lengths).
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// Match is one detector hit reported by Scan.
type Match struct {
	// Detector is the name of the detector that matched.
	Detector string
	// Start and End are the byte offsets of the secret, End exclusive.
	Start, End int
}

// Scan reports detector hits in s without masking it, ordered by position,
// for leak checks over files that should already be redacted. Text inside
// masks is not scanned, so redacted output scans clean.
func Scan(s string) []Match {
	dets := builtin()
	var out []Match
	forEachGap(s, func(off int, gap string) {
		lower := asciiLower(gap)
		for i := range dets {
			for _, m := range dets[i].find(gap, lower) {
				out = append(out, Match{Detector: dets[i].Name, Start: off + m[0], End: off + m[1]})
			}
		}
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Detector < b.Detector
	})
	return out
}

// Detectors lists the built-in detectors in priority order: when hits of two
// detectors overlap, the mask is named after the earlier one. The result is a
// copy; changing it does not change redaction.
func Detectors() []Detector {
	return append([]Detector(nil), builtin()...)
}

// builtin compiles the detectors once, on first use, so that importing the
// package costs nothing for commands that never redact.
var builtin = sync.OnceValue(func() []Detector {
	var all []Detector
	all = append(all, tokenDetectors()...)
	all = append(all, webDetectors()...)
	all = append(all, assignmentDetectors()...)
	return all
})

// maskNames is the set of names a mask may carry.
var maskNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{KnownSecret: true}
	for _, d := range builtin() {
		names[d.Name] = true
	}
	return names
})
