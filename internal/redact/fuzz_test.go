package redact_test

import (
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/redact"
)

// FuzzRedact plants secret in text and checks that redaction never panics,
// never leaves the secret outside a mask, and is idempotent.
func FuzzRedact(f *testing.F) {
	for _, d := range redact.Detectors() {
		for _, s := range append(d.MustMatch, d.MustNotMatch...) {
			f.Add(s, "Vq3xL9pZ2mK8")
		}
	}
	f.Add(`{"password": "hunter2"} and hunter2`, "hunter2")
	f.Add("x 123456ab7890123 y", "ab7890123")
	f.Add("[REDACTED:known-secret]", "REDACTED")
	f.Add("a=test b: 'test' c", "test")
	f.Fuzz(func(t *testing.T, text, secret string) {
		r := redact.New([]string{secret})
		planted := text + " " + secret + "\n" + text
		out, stats := r.String(planted)
		again, st2 := r.String(out)
		if again != out || st2.Total() != 0 {
			t.Fatalf("not idempotent:\n in %q\nout %q\nagain %q", planted, out, again)
		}
		if stats.Total() < strings.Count(out, "[REDACTED:")-strings.Count(planted, "[REDACTED:") {
			t.Fatalf("stats %v undercount masks in %q", stats, out)
		}
		v := strings.TrimSpace(secret)
		if len(v) < redact.MinKnownLen || strings.Trim(v, "*•") == "" || strings.EqualFold(v, "redacted") ||
			strings.Contains(v, "\x00") || strings.Trim(v, v[:1]) == "" {
			return
		}
		// Masks are opaque; the secret must not survive in the text between them.
		if strings.Contains(stripMasks(out), v) {
			t.Fatalf("secret %q survives in %q", v, out)
		}
	})
}

// stripMasks replaces every mask this package emits with NUL, so a secret
// that happens to spell part of a mask does not count as leaked.
func stripMasks(s string) string {
	names := []string{redact.KnownSecret}
	for _, d := range redact.Detectors() {
		names = append(names, d.Name)
	}
	for _, n := range names {
		s = strings.ReplaceAll(s, "[REDACTED:"+n+"]", "\x00")
	}
	return s
}
