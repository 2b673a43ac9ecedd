package redact

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// minifiedCSS is n bytes of whitespace-free CSS in which "-webkit-mask-image"
// gives the openai-api-key detector a keyword hit ("sk-") every 60 bytes or
// so: the input that made redaction quadratic.
func minifiedCSS(n int) string {
	const rule = ".a{-webkit-mask-image:url(x.svg);color:#fff;margin:0 0}"
	rule1 := strings.ReplaceAll(rule, " ", "")
	return strings.Repeat(rule1, n/len(rule1)+1)[:n]
}

// naiveWordStart and naiveToSpace are the window edges as first written,
// rescanning from each position.
func naiveWordStart(s string, a int) int {
	a = max(a, 0)
	for a > 0 && isIdent(s[a-1]) {
		a--
	}
	return max(a-1, 0)
}

func naiveToSpace(s string, b int) int {
	b = min(b, len(s))
	for b < len(s) && !isSpace(s[b]) {
		b++
	}
	return b
}

// TestEdgesMatchNaive checks the remembered answers against rescanning, for
// queries in order and out of order.
func TestEdgesMatchNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	const alphabet = "ab-._ \n:="
	for round := 0; round < 300; round++ {
		b := make([]byte, rng.Intn(80))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		s := string(b)
		var n int
		e := newEdges(s, &n)
		pos := 0
		for q := 0; q < 60; q++ {
			if rng.Intn(4) == 0 {
				pos = rng.Intn(len(s) + 1)
			} else {
				pos = min(pos+rng.Intn(6), len(s))
			}
			a := pos - rng.Intn(10)
			if got, want := e.wordStart(a), naiveWordStart(s, a); got != want {
				t.Fatalf("%q: wordStart(%d) = %d, want %d", s, a, got, want)
			}
			if got, want := e.toSpace(pos), naiveToSpace(s, pos); got != want {
				t.Fatalf("%q: toSpace(%d) = %d, want %d", s, pos, got, want)
			}
			ga, gb := e.identRun(pos)
			wa, wb := pos, pos
			for wa > 0 && isIdent(s[wa-1]) {
				wa--
			}
			for wb < len(s) && isIdent(s[wb]) {
				wb++
			}
			if ga != wa || gb != wb {
				t.Fatalf("%q: identRun(%d) = %d,%d, want %d,%d", s, pos, ga, gb, wa, wb)
			}
		}
	}
}

// referenceFind is Detector.find as first written: one strings.Index scan per
// keyword and window edges found afresh for every hit.
func referenceFind(d *Detector, s, lower string) [][2]int {
	p := &pass{}
	if len(d.Keywords) == 0 {
		return d.run(p, s, lower, nil)
	}
	if d.window == nil {
		for _, k := range d.Keywords {
			if strings.Contains(lower, k) {
				return d.run(p, s, lower, nil)
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
			var n int
			if a, b, ok := d.window(newEdges(s, &n), i, i+len(k)); ok {
				wins = append(wins, [2]int{a, b})
			}
		}
	}
	if len(wins) == 0 {
		return nil
	}
	return d.run(p, s, lower, mergeWindows(wins))
}

// TestFindMatchesReference checks that finding keywords in one scan and
// remembering window edges changes no detector's hits: on every sample and
// on texts glued together from samples and keywords.
func TestFindMatchesReference(t *testing.T) {
	t.Parallel()
	dets := builtin()
	var parts []string
	for _, d := range dets {
		parts = append(parts, d.MustMatch...)
		parts = append(parts, d.MustNotMatch...)
		parts = append(parts, d.Keywords...)
		for _, k := range d.Keywords {
			// A keyword overlapping itself: "xox" + "ox".
			for b := 1; b < len(k); b++ {
				if k[:b] == k[len(k)-b:] {
					parts = append(parts, k+k[b:]+k[b:], k+k[b:]+strings.Repeat("A", 60)+" "+k)
				}
			}
		}
	}
	texts := append([]string(nil), parts...)
	rng := rand.New(rand.NewSource(2))
	seps := []string{"", "", " ", "\n", "-", "=", "\"", ";", "x"}
	for i := 0; i < 400; i++ {
		var b strings.Builder
		for n := rng.Intn(8) + 1; n > 0; n-- {
			b.WriteString(parts[rng.Intn(len(parts))])
			b.WriteString(seps[rng.Intn(len(seps))])
		}
		texts = append(texts, b.String())
	}
	texts = append(texts, minifiedCSS(5000))
	for _, s := range texts {
		lower := asciiLower(s)
		hits := keywords().hits(&pass{}, lower, len(dets))
		for i := range dets {
			got := dets[i].find(&pass{}, s, lower, hits[i])
			want := referenceFind(&dets[i], s, lower)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s on %q:\n got %v\nwant %v", dets[i].Name, s, got, want)
			}
		}
	}
}

// TestKeywordHitsAcrossChunks checks that scanning long text in chunks finds
// every keyword occurrence once, those straddling a chunk boundary included.
func TestKeywordHitsAcrossChunks(t *testing.T) {
	t.Parallel()
	b := []byte(strings.Repeat(".", 3*keywordChunk+100))
	for i, at := range []int{0, keywordChunk - 2, keywordChunk - 1, keywordChunk, 2*keywordChunk - 6, 3*keywordChunk + 90} {
		w := []string{"sk-", "sk-ant-", "hooks.slack.com", "xoxox"}[i%4]
		copy(b[at:], w)
	}
	lower := string(b)
	dets := builtin()
	got := keywords().hits(&pass{}, lower, len(dets))
	for i, d := range dets {
		var want [][2]int
		for _, k := range d.Keywords {
			for from := 0; ; {
				j := strings.Index(lower[from:], k)
				if j < 0 {
					break
				}
				want = append(want, [2]int{from + j, from + j + len(k)})
				from += j + len(k)
			}
		}
		sortHits(want)
		g := append([][2]int(nil), got[i]...)
		sortHits(g)
		if !reflect.DeepEqual(g, want) && (len(g) > 0 || len(want) > 0) {
			t.Errorf("%s: hits %v, want %v", d.Name, g, want)
		}
	}
}

func sortHits(h [][2]int) {
	sort.Slice(h, func(i, j int) bool {
		if h[i][0] != h[j][0] {
			return h[i][0] < h[j][0]
		}
		return h[i][1] < h[j][1]
	})
}

// TestRedactionWorkIsLinear redacts 4 MB of minified CSS, a keyword hit
// every few dozen bytes and no whitespace, and checks the work done: window
// edges examine each byte a few times, and every detector's expressions see
// each byte at most once per pass, where finding each hit's window afresh
// examined the rest of the text for every hit (some 10^11 bytes here).
func TestRedactionWorkIsLinear(t *testing.T) {
	t.Parallel()
	s := minifiedCSS(4 << 20)
	r := New(nil)
	p := &pass{}
	out, stats, err := r.redact(p, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out != s || stats.Total() != 0 {
		t.Fatalf("masked %v in CSS", stats)
	}
	n := len(s)
	if p.edgeBytes > 4*n {
		t.Errorf("window edges examined %d bytes of a %d-byte text", p.edgeBytes, n)
	}
	if limit := len(builtin()) * n; p.regexBytes > limit {
		t.Errorf("expressions read %d bytes of a %d-byte text, want at most %d", p.regexBytes, n, limit)
	}
}

// TestStringContextCancelled checks that a cancelled redaction stops and
// returns no text.
func TestStringContextCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, _, err := New(nil).StringContext(ctx, "password=hunter2 "+minifiedCSS(1<<16))
	if !errors.Is(err, context.Canceled) || out != "" {
		t.Fatalf("got %q, %v; want no text and context.Canceled", out[:min(len(out), 40)], err)
	}
	out, stats, err := New(nil).StringContext(context.Background(), "password=hunter2 x")
	if err != nil || out != "password=[REDACTED:password-assignment] x" || stats.Total() != 1 {
		t.Fatalf("got %q, %v, %v", out, stats, err)
	}
}

// BenchmarkStringMinifiedCSS reports, besides time, the bytes window edges
// and expressions examined per input byte: flat in the input size when
// redaction is linear.
func BenchmarkStringMinifiedCSS(b *testing.B) {
	for _, size := range []int{1 << 20, 4 << 20} {
		s := minifiedCSS(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			r := New(nil)
			b.SetBytes(int64(size))
			var p *pass
			for b.Loop() {
				p = &pass{}
				r.redact(p, s, nil)
			}
			b.ReportMetric(float64(p.edgeBytes)/float64(size), "edge-B/B")
			b.ReportMetric(float64(p.regexBytes)/float64(size), "regex-B/B")
		})
	}
}
