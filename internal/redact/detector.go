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
	// It asks e about the text, which keeps the work linear in the text
	// however many hits there are.
	window func(e *edges, start, end int) (a, b int, ok bool)
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
// asciiLower(s) and hits the detector's keyword occurrences in it (see
// keywordIndex), both computed once per text for all detectors.
//
// Keywords gate the expressions, as in Gitleaks. A windowed detector runs its
// expressions only on the text around each keyword hit (that near accepts),
// which keeps redaction fast on long text that merely mentions a keyword.
func (d *Detector) find(p *pass, s, lower string, hits [][2]int) [][2]int {
	if len(d.Keywords) == 0 {
		return d.run(p, s, lower, nil)
	}
	if len(hits) == 0 {
		return nil
	}
	if d.window == nil {
		return d.run(p, s, lower, nil)
	}
	e := newEdges(s, &p.edgeBytes)
	var wins [][2]int
	for i, h := range hits {
		if i%(1<<14) == 0 && p.cancelled() {
			return nil
		}
		if a, b, ok := d.window(e, h[0], h[1]); ok {
			wins = append(wins, [2]int{a, b})
		}
	}
	if len(wins) == 0 {
		return nil
	}
	return d.run(p, s, lower, mergeWindows(wins))
}

// run matches the detector's expressions on each window of s (all of s when
// wins is nil) and returns the spans to mask. It stops early, with what it
// found so far, when the pass is cancelled.
func (d *Detector) run(p *pass, s, lower string, wins [][2]int) [][2]int {
	if wins == nil {
		wins = [][2]int{{0, len(s)}}
	}
	var out [][2]int
	for _, w := range wins {
		if p.cancelled() {
			return out
		}
		text := s[w[0]:w[1]]
		if d.custom != nil {
			p.regexBytes += len(text)
			for _, m := range d.custom(text) {
				out = append(out, [2]int{w[0] + m[0], w[0] + m[1]})
			}
			continue
		}
		for _, pt := range d.patterns {
			if pt.need != "" && !strings.Contains(lower[w[0]:w[1]], pt.need) {
				continue
			}
			p.regexBytes += len(text)
			for _, m := range p.findAll(pt.re, text) {
				for _, g := range pt.groups {
					start, end := m[2*g], m[2*g+1]
					if start < 0 || end <= start {
						continue
					}
					if pt.keep != nil && !pt.keep(text, start, end) {
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
func tokenWindow(after int) func(e *edges, start, end int) (int, int, bool) {
	return func(e *edges, start, end int) (int, int, bool) {
		return e.wordStart(start - windowBefore), e.toSpace(end + after), true
	}
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
	p := &pass{}
	forEachGap(s, func(off int, gap string) {
		lower := asciiLower(gap)
		hits := keywords().hits(p, lower, len(dets))
		for i := range dets {
			for _, m := range dets[i].find(p, gap, lower, hits[i]) {
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

// maxMaskName is the length of the longest name a mask may carry.
var maxMaskName = sync.OnceValue(func() int {
	n := 0
	for name := range maskNames() {
		n = max(n, len(name))
	}
	return n
})

// maskNames is the set of names a mask may carry.
var maskNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{KnownSecret: true}
	for _, d := range builtin() {
		names[d.Name] = true
	}
	return names
})
