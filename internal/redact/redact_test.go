package redact_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/redact"
)

func TestString(t *testing.T) {
	t.Parallel()
	ghp := "ghp_" + "xK9mQ2vL8nR4tY6wZ1aB3cD5eF7gH0jN2pS4"
	tests := []struct {
		name      string
		known     []string
		in        string
		want      string
		wantStats redact.Stats
	}{
		{
			name:      "no secret",
			in:        "Upgrade lodash to 4.17.21",
			want:      "Upgrade lodash to 4.17.21",
			wantStats: nil,
		},
		{
			name:      "token keeps its key",
			in:        `token = "` + ghp + `"`,
			want:      `token = "[REDACTED:github-pat]"`,
			wantStats: redact.Stats{"github-pat": 1},
		},
		{
			name:      "password value only",
			in:        `DB_PASSWORD=Tr0ub4dor3 ./run.sh`,
			want:      `DB_PASSWORD=[REDACTED:password-assignment] ./run.sh`,
			wantStats: redact.Stats{"password-assignment": 1},
		},
		{
			name:      "url password only",
			in:        "clone https://ci:" + "s3cr3tP4ss@git.example.com/r.git",
			want:      "clone https://ci:[REDACTED:url-password]@git.example.com/r.git",
			wantStats: redact.Stats{"url-password": 1},
		},
		{
			name:      "authorization scheme kept",
			in:        "Authorization: Bearer " + "abcDEF123.ghiJKL456-mnoPQR789",
			want:      "Authorization: Bearer [REDACTED:authorization-header]",
			wantStats: redact.Stats{"authorization-header": 1},
		},
		{
			name:      "set-cookie attributes kept",
			in:        "Set-Cookie: JSESSIONID=" + "8F2A9C1B7E44; Path=/; HttpOnly",
			want:      "Set-Cookie: JSESSIONID=[REDACTED:cookie]; Path=/; HttpOnly",
			wantStats: redact.Stats{"cookie": 1},
		},
		{
			name:      "whole private key block",
			in:        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMx\n-----END RSA PRIVATE KEY-----\nend",
			want:      "key:\n[REDACTED:private-key]\nend",
			wantStats: redact.Stats{"private-key": 1},
		},
		{
			name:      "known secret everywhere",
			known:     []string{"Vq3xL9pZ2mK8"},
			in:        "found Vq3xL9pZ2mK8 in a.txt; also Vq3xL9pZ2mK8",
			want:      "found [REDACTED:known-secret] in a.txt; also [REDACTED:known-secret]",
			wantStats: redact.Stats{redact.KnownSecret: 2},
		},
		{
			name:      "known secret json escaped",
			known:     []string{`a"b\c<d>e&f`},
			in:        `{"v":"a\"b\\c\u003cd\u003ee\u0026f","w":"a\"b\\c<d>e&f"}`,
			want:      `{"v":"[REDACTED:known-secret]","w":"[REDACTED:known-secret]"}`,
			wantStats: redact.Stats{redact.KnownSecret: 2},
		},
		{
			name:      "known secret url encoded",
			known:     []string{"p@ss w/rd"},
			in:        "https://h/?x=" + url.QueryEscape("p@ss w/rd") + "&y=" + url.PathEscape("p@ss w/rd"),
			want:      "https://h/?x=[REDACTED:known-secret]&y=[REDACTED:known-secret]",
			wantStats: redact.Stats{redact.KnownSecret: 2},
		},
		{
			name:      "known secret base64",
			known:     []string{"Vq3xL9pZ2mK8"},
			in:        "data: " + base64.StdEncoding.EncodeToString([]byte("Vq3xL9pZ2mK8")),
			want:      "data: [REDACTED:known-secret]",
			wantStats: redact.Stats{redact.KnownSecret: 1},
		},
		{
			name:      "short known secret only in assignment",
			known:     []string{"test"},
			in:        "run test suite; api_pin=test; pin: 'test'",
			want:      "run test suite; api_pin=[REDACTED:known-secret]; pin: '[REDACTED:known-secret]'",
			wantStats: redact.Stats{redact.KnownSecret: 2},
		},
		{
			name:      "scanner masks are not secrets",
			known:     []string{"********", "REDACTED", ""},
			in:        "secret ******** was REDACTED",
			want:      "secret ******** was REDACTED",
			wantStats: nil,
		},
		{
			name:      "overlapping known secrets masked as one",
			known:     []string{"123456ab", "ab7890123"},
			in:        "x 123456ab7890123 y",
			want:      "x [REDACTED:known-secret] y",
			wantStats: redact.Stats{redact.KnownSecret: 1},
		},
		{
			name:      "detector name wins over known",
			known:     []string{ghp},
			in:        "GITHUB_TOKEN is " + ghp,
			want:      "GITHUB_TOKEN is [REDACTED:github-pat]",
			wantStats: redact.Stats{"github-pat": 1},
		},
		{
			name:      "foreign mask text does not hide a secret",
			known:     []string{"Vq3xL9pZ2mK8"},
			in:        "[REDACTED:Vq3xL9pZ2mK8]",
			want:      "[REDACTED:[REDACTED:known-secret]]",
			wantStats: redact.Stats{redact.KnownSecret: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := redact.New(tt.known)
			got, stats := r.String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if !equalStats(stats, tt.wantStats) {
				t.Errorf("String(%q) stats = %v, want %v", tt.in, stats, tt.wantStats)
			}
			again, st2 := r.String(got)
			if again != got || st2.Total() != 0 {
				t.Errorf("not idempotent: %q -> %q (%v)", got, again, st2)
			}
		})
	}
}

func equalStats(a, b redact.Stats) bool {
	if a.Total() != b.Total() || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestManyKnown exercises the automaton path used for large known sets.
func TestManyKnown(t *testing.T) {
	t.Parallel()
	var known []string
	var text strings.Builder
	for i := range 500 {
		v := "S3cr" + strings.Repeat(string(rune('a'+i%26)), 3) + base64.RawURLEncoding.EncodeToString([]byte{byte(i), byte(i >> 8), 7})
		known = append(known, v)
		text.WriteString("k" + v + " ")
	}
	out, stats := redact.New(known).String(text.String())
	for _, v := range known {
		if strings.Contains(out, v) {
			t.Fatalf("output still contains %q", v)
		}
	}
	if stats[redact.KnownSecret] != len(known) {
		t.Errorf("masked %d known secrets, want %d", stats[redact.KnownSecret], len(known))
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := redact.Stats{"a": 1}
	s.Add(redact.Stats{"a": 2, "b": 3})
	s.Add(nil)
	if s["a"] != 3 || s["b"] != 3 || s.Total() != 6 {
		t.Errorf("Stats after Add = %v, total %d", s, s.Total())
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	// sha256("abc"), from FIPS 180-2.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := redact.Hash("abc"); got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
}

// TestConcurrent checks one Redactor is safe to share (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	var known []string
	for i := range 50 {
		known = append(known, redact.Hash(string(rune(i)))[:20])
	}
	r := redact.New(known)
	text := "x " + known[7] + " password=hunter22 " + known[42]
	done := make(chan string)
	for range 8 {
		go func() {
			out, _ := r.String(text)
			done <- out
		}()
	}
	want := "x [REDACTED:known-secret] password=[REDACTED:password-assignment] [REDACTED:known-secret]"
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
