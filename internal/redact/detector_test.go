package redact_test

import (
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/redact"
)

// TestDetectorSamples checks every detector against its own must-match and
// must-not-match samples, and that masking a must-match sample removes the
// matched text.
func TestDetectorSamples(t *testing.T) {
	t.Parallel()
	for _, d := range redact.Detectors() {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			if d.Description == "" || len(d.MustMatch) == 0 || len(d.MustNotMatch) == 0 {
				t.Fatalf("detector %s lacks a description or samples", d.Name)
			}
			for _, s := range d.MustMatch {
				hits := hitsOf(d.Name, redact.Scan(s))
				if len(hits) == 0 {
					t.Errorf("must match, found nothing: %q", s)
					continue
				}
				out, _ := redact.New(nil).String(s)
				for _, h := range hits {
					if secret := s[h.Start:h.End]; strings.Contains(out, secret) {
						t.Errorf("String(%q) = %q still contains %q", s, out, secret)
					}
				}
			}
			for _, s := range d.MustNotMatch {
				if hits := hitsOf(d.Name, redact.Scan(s)); len(hits) > 0 {
					t.Errorf("must not match %q, found %q", s, s[hits[0].Start:hits[0].End])
				}
			}
		})
	}
}

func hitsOf(name string, ms []redact.Match) []redact.Match {
	var out []redact.Match
	for _, m := range ms {
		if m.Detector == name {
			out = append(out, m)
		}
	}
	return out
}

// TestDetectorNames checks names are unique and usable in masks.
func TestDetectorNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{redact.KnownSecret: true}
	for _, d := range redact.Detectors() {
		if seen[d.Name] {
			t.Errorf("duplicate detector name %q", d.Name)
		}
		seen[d.Name] = true
		for _, c := range d.Name {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Errorf("detector name %q: want lower-case letters, digits and dashes", d.Name)
			}
		}
		for _, k := range d.Keywords {
			if k != strings.ToLower(k) {
				t.Errorf("detector %s keyword %q must be lower-case", d.Name, k)
			}
		}
	}
}

// TestNeverMasked lists ordinary scanner text no detector may touch: hashes,
// ids, versions, paths and prose.
func TestNeverMasked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
	}{
		{"git commit sha", "commit 3f786850e387550fdab836ed7e6dc881de23001b"},
		{"sha256 digest", "image: alpine@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"digest assignment", `digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`},
		{"cve ids", "CVE-2024-3094, GHSA-xvch-5gv4-984h, GO-2024-2687, PYSEC-2023-74"},
		{"versions", "Upgrade lodash from 4.17.20 to 4.17.21; fixed in 1.2.3-beta.4+build.567"},
		{"uuid", "run_id: 550e8400-e29b-41d4-a716-446655440000"},
		{"purl", "pkg:npm/%40babel/traverse@7.23.0?repository_url=https://registry.npmjs.org"},
		{"path", "src/main/resources/application-prod.properties"},
		{"url", "https://nvd.nist.gov/vuln/detail/CVE-2024-3094"},
		{"prose password", "The password is hashed with a weak algorithm (MD5). Use bcrypt."},
		{"prose token", "Tokens should be rotated; the token is stored in plain text."},
		{"checkov", "Ensure that the S3 bucket has a secret key rotation policy"},
		{"rule id", "generic-api-key"},
		{"semgrep message", "Detected a hardcoded password in 'password' parameter of connect()."},
		{"zap", "The Anti-CSRF token was not found in the form on https://example.com/login"},
		{"trivy masked", "AWS_SECRET_ACCESS_KEY=****************************************"},
		{"gitleaks redacted", `secret = "REDACTED"`},
		{"placeholders", "password: ${DB_PASSWORD}\ntoken: {{ .Values.token }}\napi_key: <your-api-key>"},
		{"sarif fingerprint", "primaryLocationLineHash: 39fa2ee980eb94b0:1"},
		{"go sum", "h1:xHWCNGjB5oqiDr8zfno3MHue2Ht5sIBksp03qcyfWMU="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if hits := redact.Scan(tt.text); len(hits) > 0 {
				h := hits[0]
				t.Errorf("Scan(%q): %s matched %q", tt.text, h.Detector, tt.text[h.Start:h.End])
			}
		})
	}
}
