package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// canaries are planted in every field of testdata/canary that can carry a
// secret: snippets, messages, properties, commit messages, URLs, headers.
var canaries = []string{
	"Xq9vCanaryKnownSecret7Lm2",                // gitleaks SARIF secret, reused in a semgrep message
	"ghp_Canary0123456789abcdefghijABCDEFGHIJ", // gitleaks JSON secret, in a ZAP URL query
	"AKIACANARYQ2MZ7T3KXW",                     // detector only: in a semgrep message and snippet
	"Sup3rCanaryPassw0rd!",                     // password assignment in a snippet
	"CanaryUrlPass99",                          // basic-auth password in a URL
	"c2lnbmF0dXJlQ2FuYXJ5",                     // JWT signature in an Authorization header
	"CanarySessionValue1234",                   // session cookie
	"jane.canary@example.com",                  // commit author e-mail
	"Jane Canary-Author",                       // commit author name
}

func TestParseRedactsCanaries(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "findings.jsonl")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"parse", "-v", "-o", out, "testdata/canary"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range canaries {
		for name, text := range map[string]string{"findings.jsonl": string(data), "stdout": stdout.String(), "stderr": stderr.String()} {
			if strings.Contains(text, c) {
				t.Errorf("canary %q leaked into %s", c, name)
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 4 {
		t.Fatalf("want at least 4 findings, got %d", len(lines))
	}
	if !strings.Contains(string(data), "[REDACTED:") {
		t.Error("no mask in the output: were the secrets dropped rather than masked?")
	}
	if !strings.Contains(stdout.String(), "secrets redacted") {
		t.Errorf("summary does not report redactions:\n%s", stdout.String())
	}
}

func TestParseExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"runs": [`), 0o644)
	tests := []struct {
		name string
		args []string
		want int
		out  string // substring of stdout
	}{
		{"samples", []string{"parse", "-o", filepath.Join(dir, "a.jsonl"), "../../examples/artifacts"}, exitOK, "10 files read"},
		{"bad file still writes the rest", []string{"parse", "-o", filepath.Join(dir, "b.jsonl"), bad, "testdata/canary/zap.json"}, exitInput, "1 errors"},
		{"missing path", []string{"parse", "-o", filepath.Join(dir, "c.jsonl"), filepath.Join(dir, "nope")}, exitInput, ""},
		{"no args", []string{"parse"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d\n%s%s", got, tt.want, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("stdout lacks %q:\n%s", tt.out, stdout.String())
			}
		})
	}
}

func TestParseJSONSummary(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "f.jsonl")
	if code := run(context.Background(), []string{"parse", "--json", "-o", out, "../../examples/artifacts"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var s struct {
		FilesRead int `json:"files_read"`
		Findings  int `json:"findings"`
		Merged    int `json:"merged_duplicates"`
		Breakdown []struct {
			Tool string `json:"tool"`
			N    int    `json:"n"`
		} `json:"breakdown"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout.String())
	}
	if s.FilesRead != 10 || s.Findings == 0 || s.Merged == 0 || len(s.Breakdown) == 0 {
		t.Errorf("summary = %+v", s)
	}
}
