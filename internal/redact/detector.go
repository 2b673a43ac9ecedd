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
}

// pattern is one expression of a detector. The spans to mask are the
// participating capture groups whose names begin with "s" (s1, s2, ...), or
// the whole match when there are none; keep, when set, vetoes a span.
type pattern struct {
	re     *regexp.Regexp
	groups []int
	keep   func(s string, start, end int) bool
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
// strings.ToLower(s), computed once per text for all detectors.
func (d *Detector) find(s, lower string) [][2]int {
	if len(d.Keywords) > 0 {
		hit := false
		for _, k := range d.Keywords {
			if strings.Contains(lower, k) {
				hit = true
				break
			}
		}
		if !hit {
			return nil
		}
	}
	if d.custom != nil {
		return d.custom(s)
	}
	var out [][2]int
	for _, p := range d.patterns {
		for _, m := range p.re.FindAllStringSubmatchIndex(s, -1) {
			for _, g := range p.groups {
				start, end := m[2*g], m[2*g+1]
				if start < 0 || end <= start {
					continue
				}
				if p.keep != nil && !p.keep(s, start, end) {
					continue
				}
				out = append(out, [2]int{start, end})
			}
		}
	}
	return out
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
		lower := strings.ToLower(gap)
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
