// Package redact finds secrets in finding text and masks them before a
// finding leaves ingest (DESIGN.md §3, STYLE.md rule 18).
//
// Two sources of secrets are masked. Known secrets are the raw values secret
// scanners (Gitleaks, Trivy) reported; every occurrence is masked in every
// string field, together with the JSON-escaped, URL-encoded and base64 forms
// of the value. Detectors (see Detectors) then find common credential shapes
// in every field: provider tokens, private keys, JWTs, passwords in URLs,
// Authorization and Cookie headers, and secret assignments in code and config.
//
// A masked secret becomes "[REDACTED:<detector>]", or
// "[REDACTED:known-secret]" for a known value no detector named. No part of
// the value is kept, not even a short hash: eight hex digits of SHA-256 of a
// low-entropy password can be reversed by brute force, and the dataset has no
// use for telling two masked secrets apart. Identity lives in
// Finding.SecretHash (see Hash) instead.
//
// Masking is idempotent: mask text is never scanned again, and a pass repeats
// until it finds nothing new, so String(String(s)) == String(s).
package redact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// KnownSecret is the detector name used for masks of known secret values that
// no built-in detector recognised.
const KnownSecret = "known-secret"

const (
	maskPrefix = "[REDACTED:"
	maskSuffix = "]"
)

// Stats counts masked occurrences by detector name (KnownSecret for known
// values).
type Stats map[string]int

// Add adds the counts in o to s. s must not be nil unless o is empty.
func (s Stats) Add(o Stats) {
	for k, v := range o {
		s[k] += v
	}
}

// Total is the number of masked occurrences over all detectors.
func (s Stats) Total() int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// Hash returns the hex SHA-256 of a secret, the identity that may be kept in
// place of its value.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Redactor masks known secret values and detector hits. It is read-only after
// New and safe for concurrent use.
type Redactor struct {
	known *knownSet
}

// New returns a Redactor that masks every occurrence of each known secret value
// (the raw values collected from all findings' Finding.Secrets across all
// input files) plus whatever the detectors find.
//
// Values shorter than MinKnownLen bytes, or made of one repeated character,
// would shred ordinary text if masked everywhere ("test", "1234"); they are
// masked only where they stand as the value of an assignment (`key=test`,
// `"pw": "test"`, `user:test@host`). Values that are themselves scanner masks
// ("****", "REDACTED") are ignored.
func New(known []string) *Redactor {
	return &Redactor{known: newKnownSet(known, true)}
}

// String masks every secret in s and reports what it masked.
func (r *Redactor) String(s string) (string, Stats) {
	out, stats, _ := r.redact(&pass{}, s, nil)
	return out, stats
}

// StringContext is String that gives up when ctx is done, returning ctx's
// error and no text: a half-redacted text must not be used. Redaction takes
// time linear in len(s), but a text of hundreds of MB still takes seconds,
// which a SIGTERM should not have to wait for.
func (r *Redactor) StringContext(ctx context.Context, s string) (string, Stats, error) {
	out, stats, err := r.redact(&pass{ctx: ctx}, s, nil)
	if err != nil {
		return "", nil, err
	}
	return out, stats, nil
}

// redact masks s with the Redactor's known values, the finding-local extra
// values, and the detectors, repeating until a pass finds nothing. Each pass
// only turns unmasked text into masks, so the loop ends; and the result is a
// fixed point, which is what makes redaction idempotent. It stops with p's
// error when p is cancelled, and the text it returns then is not redacted.
func (r *Redactor) redact(p *pass, s string, extra *knownSet) (string, Stats, error) {
	var stats Stats
	for {
		spans := collect(p, s, r.known, extra)
		if p.cancelled() {
			return s, stats, p.err
		}
		if len(spans) == 0 {
			return s, stats, nil
		}
		if stats == nil {
			stats = Stats{}
		}
		s = apply(s, spans, stats)
	}
}

// span is a region [start, end) of text to mask; rank orders detectors by
// priority (the index in builtin(), or len(builtin()) for known values).
type span struct {
	start, end, rank int
}

// collect finds every span to mask in the unmasked gaps of s, merged so that
// overlapping hits become one mask named after the highest-priority detector.
// The keywords of all detectors are found in one scan of each gap.
func collect(p *pass, s string, sets ...*knownSet) []span {
	dets := builtin()
	var spans []span
	forEachGap(s, func(off int, gap string) {
		if p.cancelled() {
			return
		}
		lower := asciiLower(gap)
		hits := keywords().hits(p, lower, len(dets))
		for i := range dets {
			for _, m := range dets[i].find(p, gap, lower, hits[i]) {
				spans = append(spans, span{off + m[0], off + m[1], i})
			}
		}
		for _, k := range sets {
			for _, m := range k.find(gap) {
				spans = append(spans, span{off + m[0], off + m[1], len(dets)})
			}
		}
	})
	return merge(spans)
}

// merge sorts spans and joins overlapping ones, keeping the lowest rank.
func merge(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			last.rank = min(last.rank, sp.rank)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// apply replaces each span of s with its mask and counts it in stats.
func apply(s string, spans []span, stats Stats) string {
	dets := builtin()
	var b strings.Builder
	b.Grow(len(s))
	prev := 0
	for _, sp := range spans {
		name := KnownSecret
		if sp.rank < len(dets) {
			name = dets[sp.rank].Name
		}
		b.WriteString(s[prev:sp.start])
		b.WriteString(mask(name))
		stats[name]++
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// mask is the text that replaces a secret found by the named detector.
func mask(name string) string {
	return maskPrefix + name + maskSuffix
}

// forEachGap calls fn for every maximal run of s that is not a mask, with its
// offset. Masks are opaque: nothing inside them is ever matched again, and
// matches never span them.
func forEachGap(s string, fn func(off int, gap string)) {
	pos := 0
	for pos <= len(s) {
		start, end := nextMask(s, pos)
		if start < 0 {
			if pos < len(s) {
				fn(pos, s[pos:])
			}
			return
		}
		if start > pos {
			fn(pos, s[pos:start])
		}
		pos = end
	}
}

// nextMask finds the first mask at or after from, returning -1 when there is
// none. Only names this package emits count, so "[REDACTED:<value>]" written
// by someone else cannot hide a secret from the detectors.
func nextMask(s string, from int) (start, end int) {
	for from < len(s) {
		i := strings.Index(s[from:], maskPrefix)
		if i < 0 {
			return -1, -1
		}
		i += from
		rest := s[i+len(maskPrefix):]
		// Look for the ']' only as far as the longest name could reach, so
		// many unclosed "[REDACTED:" do not each scan the rest of s.
		rest = rest[:min(len(rest), maxMaskName()+1)]
		if j := strings.IndexByte(rest, ']'); j > 0 && maskNames()[rest[:j]] {
			return i, i + len(maskPrefix) + j + 1
		}
		from = i + 1
	}
	return -1, -1
}
