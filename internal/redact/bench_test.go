package redact_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/redact"
)

// scannerMessage is a typical 2 KB scanner text: a Trivy/Semgrep-style
// description with URLs, versions, hashes and code, and no secret.
var scannerMessage = strings.Repeat(`The package lodash before 4.17.21 is vulnerable to Command Injection via the template function (CVE-2021-23337, GHSA-35jh-r3h4-6jhm).
Installed version 4.17.20 at /app/node_modules/lodash/package.json; fixed in 4.17.21. See https://nvd.nist.gov/vuln/detail/CVE-2021-23337
and https://github.com/lodash/lodash/commit/3469357cff396a26c363f8c1b5a91dde28ba4b1c. Image alpine@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.
Code: const compiled = _.template(userInput, { sourceURL: opts.url }); // Key: template injection
`, 4)[:2048]

func BenchmarkString(b *testing.B) {
	r := redact.New(nil)
	b.SetBytes(int64(len(scannerMessage)))
	for b.Loop() {
		r.String(scannerMessage)
	}
}

// BenchmarkStringKnown measures the same text against 5,000 known secrets.
func BenchmarkStringKnown(b *testing.B) {
	known := make([]string, 5000)
	for i := range known {
		known[i] = redact.Hash(string(rune(i)))[:24]
	}
	r := redact.New(known)
	b.SetBytes(int64(len(scannerMessage)))
	for b.Loop() {
		r.String(scannerMessage)
	}
}

func BenchmarkStringSecrets(b *testing.B) {
	text := scannerMessage[:1500] + "\nAuthorization: Bearer abcDEF123.ghiJKL456-mnoPQR789\npassword = \"hunter2\"\ntoken: ghp_xK9mQ2vL8nR4tY6wZ1aB3cD5eF7gH0jN2pS4\n"
	r := redact.New(nil)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r.String(text)
	}
}

// TestAdversarialInputsStayFast guards against inputs that make redaction
// quadratic: repeated assignments, unterminated key blocks, many masks.
func TestAdversarialInputsStayFast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
	}{
		{"repeated assignments", strings.Repeat("password=hunter2;token=ghp_x ", 4000)},
		{"unterminated key blocks", strings.Repeat("-----BEGIN RSA PRIVATE KEY-----\nMIIE ", 3000)},
		{"many masks", strings.Repeat("[REDACTED:jwt]x", 10000)},
		{"chained urls", strings.Repeat("https://a:b@", 5000)},
		{"cookies", "Cookie: " + strings.Repeat("a=bbbbbbbb; ", 8000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			redact.New([]string{"hunter2", "bbbbbbbb"}).String(tt.text)
			// Generous for a loaded CI machine; quadratic behaviour takes minutes.
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%d bytes took %v", len(tt.text), d)
			}
		})
	}
}
