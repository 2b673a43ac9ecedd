package augment

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/ident"
)

// textRep is one entry of the replacer's table.
type textRep struct {
	old, new string
	// fold matches old in any case and writes new in the case it found
	// ("GUAVA", "Guava", "guava"; a vulnerability id in a lower-cased URL).
	fold bool
	// cwe matches every spelling of the CWE id old ("CWE-79", "cwe 079").
	cwe bool
}

// replacer rewrites text in one pass, longest match first at each
// position, never inside a longer name (ident.ContainsWord's boundaries),
// so "1.2.3" is not replaced inside "11.2.3" and no replacement is
// replaced again.
type replacer struct {
	lits []textRep
	cwes map[string]string // "CWE-79" -> "CWE-89"
}

func newReplacer(reps []textRep) *replacer {
	r := &replacer{cwes: map[string]string{}}
	seen := map[string]bool{}
	for _, t := range reps {
		switch {
		case t.cwe:
			r.cwes[t.old] = t.new
		case t.old != "" && !seen[t.old]:
			seen[t.old] = true
			r.lits = append(r.lits, t)
		}
	}
	sort.SliceStable(r.lits, func(a, b int) bool { return len(r.lits[a].old) > len(r.lits[b].old) })
	return r
}

func (r *replacer) replace(s string) string {
	if s == "" {
		return s
	}
	if len(r.cwes) > 0 {
		s = ident.CWERE.ReplaceAllStringFunc(s, func(m string) string {
			if n, ok := r.cwes[ident.NormCWE(m)]; ok {
				return n
			}
			return m
		})
	}
	var b strings.Builder
	low := strings.ToLower(s)
	for i := 0; i < len(s); {
		matched := false
		if i == 0 || !nameByte(s[i-1]) {
			for _, t := range r.lits {
				end := i + len(t.old)
				if end > len(s) {
					continue
				}
				if t.fold {
					if low[i:end] != strings.ToLower(t.old) {
						continue
					}
				} else if s[i:end] != t.old {
					continue
				}
				if end < len(s) && nameByte(s[end]) && !(s[end] == '.' && (end+1 == len(s) || !isAlnum(s[end+1]))) {
					continue
				}
				n := t.new
				if t.fold {
					n = matchCase(s[i:end], t.old, t.new)
				}
				b.WriteString(n)
				i, matched = end, true
				break
			}
		}
		if !matched {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func nameByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// matchCase writes new in the case of found, a spelling of old: character
// by character when old and new have one shape (a vulnerability id), else
// all lower, all upper or capitalised as found is.
func matchCase(found, old, new string) string {
	switch {
	case len(old) == len(new) && strings.Contains(old, "-"):
		// An id: its prefix and its body each take found's case.
		fp, fb, _ := strings.Cut(found, "-")
		np, nb, _ := strings.Cut(new, "-")
		return caseAs(fp, np) + "-" + caseAs(fb, nb)
	case found == old:
		return new
	case found == strings.ToLower(found):
		return strings.ToLower(new)
	case found == strings.ToUpper(found):
		return strings.ToUpper(new)
	case found[0] >= 'A' && found[0] <= 'Z':
		return strings.ToUpper(new[:1]) + new[1:]
	}
	return new
}

// versionRE splits a version into an optional "v" and epoch ("1:"), its
// numeric release parts and the rest, kept as written ("-jre", ".Final",
// "d-r2", "-19.el7").
var versionRE = regexp.MustCompile(`^(v?(?:\d+:)?)(\d+(?:\.\d+)*)(.*)$`)

// parsed is a version split by versionRE.
type parsed struct {
	pre   string
	parts []int
	width []int // zero-padded width of each part, or 0
	rest  string
}

func versionKey(parts []int) string { return fmt.Sprint(parts) }

// mapVersions maps every version of vs to a new one, keeping what the
// fix depends on: the order of any two versions (compared part by part),
// which versions share a release line (the same leading parts), a zero
// part staying zero (x.0.0 opens a release line) and each version's
// qualifier. It maps each node of the tree of release parts: the values
// under one prefix, sorted, get new increasing values with random gaps.
func mapVersions(rng *rand.Rand, vs []string) (map[string]string, error) {
	ps := map[string]parsed{}
	for _, v := range vs {
		if v == "" {
			continue
		}
		m := versionRE.FindStringSubmatch(v)
		if m == nil {
			return nil, fmt.Errorf("version %q has no numeric release to keep in order", v)
		}
		p := parsed{pre: m[1], rest: m[3]}
		for _, s := range strings.Split(m[2], ".") {
			n, err := strconv.Atoi(s)
			if err != nil || len(s) > 9 {
				return nil, fmt.Errorf("version %q: part %q is not a number", v, s)
			}
			p.parts = append(p.parts, n)
			w := 0 // zero-padded only where the original is ("2023.01.05")
			if len(s) > 1 && s[0] == '0' {
				w = len(s)
			}
			p.width = append(p.width, w)
		}
		ps[v] = p
	}
	// children[prefix] = the distinct values found right after prefix.
	children := map[string]map[int]bool{}
	key := versionKey
	for _, p := range ps {
		for k := range p.parts {
			pk := key(p.parts[:k])
			if children[pk] == nil {
				children[pk] = map[int]bool{}
			}
			children[pk][p.parts[k]] = true
		}
	}
	prefixes := make([]string, 0, len(children))
	for pk := range children {
		prefixes = append(prefixes, pk)
	}
	sort.Strings(prefixes) // map iteration order must not reach the random source
	// A draw that gives a version one of the originals had (0.16.0 ->
	// 0.14.0 beside an installed 0.14.0) would keep an original's name in
	// the copy: draw again.
	for try := 0; try < 20; try++ {
		out := drawVersions(rng, ps, prefixes, children)
		clash := false
		for _, n := range out {
			if _, ok := ps[n]; ok {
				clash = true
			}
		}
		if !clash {
			return out, nil
		}
	}
	return nil, fmt.Errorf("versions %q: no draw differs from all of them", vs)
}

func drawVersions(rng *rand.Rand, ps map[string]parsed, prefixes []string, children map[string]map[int]bool) map[string]string {
	newVal := map[string]map[int]int{}
	for _, pk := range prefixes {
		vals := make([]int, 0, len(children[pk]))
		for v := range children[pk] {
			vals = append(vals, v)
		}
		sort.Ints(vals)
		m := map[int]int{}
		next := 0
		for i, v := range vals {
			switch {
			case v == 0:
				next = 0
			case i == 0 && pk == "[]":
				next = 1 + rng.IntN(24) // a major version
			case i == 0:
				next = 1 + rng.IntN(12)
			default:
				next += 1 + rng.IntN(3)
			}
			m[v] = next
		}
		newVal[pk] = m
	}
	out := map[string]string{}
	vs := make([]string, 0, len(ps))
	for v := range ps {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	for _, v := range vs {
		p := ps[v]
		var b strings.Builder
		b.WriteString(p.pre)
		for k, n := range p.parts {
			if k > 0 {
				b.WriteByte('.')
			}
			fmt.Fprintf(&b, "%0*d", p.width[k], newVal[versionKey(p.parts[:k])][n])
		}
		rest := p.rest
		if !slices.ContainsFunc(p.parts, func(n int) bool { return n != 0 }) {
			// 0.0.0 keeps its zeros, so a Go pseudo-version
			// (v0.0.0-20221104162952-702349b0e862) changes in its
			// timestamp and commit instead.
			rest = redraw(rng, rest, false)
		}
		b.WriteString(rest)
		out[v] = b.String()
	}
	return out
}

// caseAs writes s lower-case where like has lower-case letters and no
// upper-case ones, upper-case in the opposite case, else as it is.
func caseAs(like, s string) string {
	lower, upper := strings.ToUpper(like) != like, strings.ToLower(like) != like
	switch {
	case lower && !upper:
		return strings.ToLower(s)
	case upper && !lower:
		return strings.ToUpper(s)
	}
	return s
}
