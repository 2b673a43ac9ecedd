package redact

import (
	"context"
	"regexp"
	"sort"
	"sync"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
)

// pass is the state of one detection pass over a text: the context that may
// cancel it and counters of the work done, which tests use to check that
// detection stays linear in the input (a timing would be flaky).
type pass struct {
	ctx context.Context
	err error
	// regexBytes counts the bytes given to regular expressions and custom
	// span finders; edgeBytes counts the bytes window functions examined
	// looking for word and whitespace boundaries.
	regexBytes, edgeBytes int
}

// cancelled records and reports whether the pass's context is done.
func (p *pass) cancelled() bool {
	if p.err == nil && p.ctx != nil {
		p.err = p.ctx.Err()
	}
	return p.err != nil
}

// asyncRegex is the window size from which a cancellable pass runs a regular
// expression in a goroutine of its own: Go's regexp cannot be interrupted,
// and on a window of hundreds of MB one expression takes seconds.
const asyncRegex = 1 << 20

// findAll is re.FindAllStringSubmatchIndex(text, -1), except that on a long
// text a cancelled pass returns at once with nothing; the expression then
// finishes in the background (its work is linear in text) and its result is
// dropped.
func (p *pass) findAll(re *regexp.Regexp, text string) [][]int {
	if p.ctx == nil || p.ctx.Done() == nil || len(text) < asyncRegex {
		return re.FindAllStringSubmatchIndex(text, -1)
	}
	done := make(chan [][]int, 1)
	go func() { done <- re.FindAllStringSubmatchIndex(text, -1) }()
	select {
	case m := <-done:
		return m
	case <-p.ctx.Done():
		p.err = p.ctx.Err()
		return nil
	}
}

// keywordIndex finds the keywords of every detector in one scan of a text.
type keywordIndex struct {
	ac ahocorasick.AhoCorasick
	// dets lists, for each distinct keyword (the automaton's pattern index),
	// the detectors that have it.
	dets [][]int
	// longest is the length of the longest keyword.
	longest int
}

// keywordChunk is how much text one automaton run covers; the pass checks
// for cancellation between runs.
const keywordChunk = 1 << 20

var keywords = sync.OnceValue(func() *keywordIndex {
	idx := map[string]int{}
	var words []string
	k := &keywordIndex{}
	for i, d := range builtin() {
		for _, w := range d.Keywords {
			j, ok := idx[w]
			if !ok {
				j = len(words)
				idx[w] = j
				words = append(words, w)
				k.dets = append(k.dets, nil)
				k.longest = max(k.longest, len(w))
			}
			if n := len(k.dets[j]); n == 0 || k.dets[j][n-1] != i {
				k.dets[j] = append(k.dets[j], i)
			}
		}
	}
	b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{MatchKind: ahocorasick.StandardMatch})
	k.ac = b.Build(words)
	return k
})

// hits returns, for each detector (by index in builtin()), the [start, end)
// of the occurrences of its keywords in lower, sorted by start. Long texts are scanned in chunks that overlap by the
// longest keyword, each occurrence counted in the chunk it starts in, so
// that a cancelled pass stops within one chunk.
func (k *keywordIndex) hits(p *pass, lower string, n int) [][][2]int {
	out := make([][][2]int, n)
	// An occurrence of a keyword that overlaps the previous occurrence of
	// the same keyword is not a hit ("xoxox" holds one "xox"), as when
	// each keyword was searched with strings.Index from the end of the
	// last.
	next := make([]int, len(k.dets))
	for from := 0; from < len(lower); from += keywordChunk {
		if p.cancelled() {
			return out
		}
		chunk := lower[from:min(len(lower), from+keywordChunk+k.longest-1)]
		it := k.ac.IterOverlapping(chunk)
		for m := it.Next(); m != nil; m = it.Next() {
			if m.Start() >= keywordChunk || from+m.Start() < next[m.Pattern()] {
				continue
			}
			next[m.Pattern()] = from + m.End()
			for _, d := range k.dets[m.Pattern()] {
				out[d] = append(out[d], [2]int{from + m.Start(), from + m.End()})
			}
		}
	}
	for _, h := range out {
		if !sort.SliceIsSorted(h, func(i, j int) bool { return h[i][0] < h[j][0] }) {
			sort.SliceStable(h, func(i, j int) bool { return h[i][0] < h[j][0] })
		}
	}
	return out
}

// edges answers a window function's questions about one text: where the
// word around a position starts and ends, and where the next whitespace is.
// Each answer is remembered as a run of bytes it holds for, so the keyword
// hits of a detector, which come in order, examine every byte a bounded
// number of times however many hits fall in one long run (minified CSS,
// base64) instead of once per hit.
type edges struct {
	s string
	// run is the last ident run found by identRun, maximal on both sides.
	runA, runB int
	runOK      bool
	// ws is the last run found by wordStart: s[wsA:wsB] are ident bytes
	// and wsA is the start of their run.
	wsA, wsB int
	wsOK     bool
	// sp: s[spA:spB] holds no whitespace and spB is whitespace or len(s).
	spA, spB int
	spOK     bool
	// word caches a window function's verdict on the last word it tested.
	wordA, wordB int
	wordOK, word bool
	examined     *int
}

func newEdges(s string, examined *int) *edges {
	return &edges{s: s, examined: examined}
}

// identRun returns the maximal run [a, b) of ident bytes around p: a moves
// back from p while the byte before is ident, b forward while the byte at it
// is.
func (e *edges) identRun(p int) (a, b int) {
	if e.runOK && e.runA <= p && p <= e.runB {
		return e.runA, e.runB
	}
	s := e.s
	a, b = p, p
	for a > 0 && isIdent(s[a-1]) {
		a--
	}
	for b < len(s) && isIdent(s[b]) {
		b++
	}
	*e.examined += b - a + 1
	e.runA, e.runB, e.runOK = a, b, true
	return a, b
}

// wordStart moves a back to the start of the word it falls in, then one more
// byte so the window includes the separator before it.
func (e *edges) wordStart(a int) int {
	a = max(a, 0)
	s := e.s
	var start int
	switch {
	case e.wsOK && e.wsA <= a && a <= e.wsB:
		start = e.wsA
	case e.wsOK && a > e.wsB:
		// Scan back only to the end of the remembered run; if the bytes
		// in between are all ident, a is in that run.
		i := a
		for i > e.wsB && isIdent(s[i-1]) {
			i--
		}
		*e.examined += a - i + 1
		start = i
		if i == e.wsB {
			start = e.wsA
		}
	default:
		i := a
		for i > 0 && isIdent(s[i-1]) {
			i--
		}
		*e.examined += a - i + 1
		start = i
	}
	e.wsA, e.wsB, e.wsOK = start, a, true
	return max(start-1, 0)
}

// toSpace moves b forward to the next whitespace or the end of s.
func (e *edges) toSpace(b int) int {
	s := e.s
	b = min(b, len(s))
	if e.spOK && e.spA <= b && b <= e.spB {
		return e.spB
	}
	i := b
	for i < len(s) && !isSpace(s[i]) {
		if e.spOK && i == e.spA {
			// The rest of the run is known.
			*e.examined += i - b + 1
			e.spA = b
			return e.spB
		}
		i++
	}
	*e.examined += i - b + 1
	e.spA, e.spB, e.spOK = b, i, true
	return i
}

// wordIs reports test(s[a:b]), remembering the answer for the last word so
// that many hits in one long word test it once.
func (e *edges) wordIs(a, b int, test func(string) bool) bool {
	if e.wordOK && e.wordA == a && e.wordB == b {
		return e.word
	}
	*e.examined += b - a
	e.wordA, e.wordB, e.wordOK, e.word = a, b, true, test(e.s[a:b])
	return e.word
}
