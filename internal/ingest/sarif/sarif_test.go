package sarif_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/report"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

func parseString(t *testing.T, doc string) ([]finding.Finding, error) {
	t.Helper()
	return sarif.Format{}.Parse(context.Background(), report.Input{Name: "t.sarif", Size: int64(len(doc))}, strings.NewReader(doc))
}

func find(t *testing.T, fs []finding.Finding, pred func(finding.Finding) bool) finding.Finding {
	t.Helper()
	for _, f := range fs {
		if pred(f) {
			return f
		}
	}
	t.Fatalf("no matching finding among %d", len(fs))
	return finding.Finding{}
}

func byPath(p string) func(finding.Finding) bool {
	return func(f finding.Finding) bool { return f.Location.Path == p }
}

// TestSARIFFacts checks, case by case, the facts each handcrafted fixture
// exists to pin down (the goldens hold the full output).
func TestSARIFFacts(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, fs []finding.Finding)
	}{
		{"megalinter-multirun.sarif", func(t *testing.T, fs []finding.Finding) {
			var tools []string
			for _, f := range fs {
				tools = append(tools, f.Tools[0].Name)
			}
			if want := []string{"eslint", "eslint", "gosec", "gosec", "bandit", "kics"}; !slices.Equal(tools, want) {
				t.Errorf("tools %v, want %v (one run per linter)", tools, want)
			}
			// ruleIndex lookup; level missing → rule default level.
			f := find(t, fs, func(f finding.Finding) bool { return f.Tools[0].RuleID == "no-eval" })
			if f.Severity != finding.SeverityHigh || f.Location.Path != "web/app.js" || f.HelpURI == "" {
				t.Errorf("no-eval: %+v", f)
			}
			// rule without defaultConfiguration, result without level → warning.
			f = find(t, fs, func(f finding.Finding) bool { return f.Tools[0].RuleID == "no-unused-vars" })
			if f.Severity != finding.SeverityMedium {
				t.Errorf("default level: severity %s, want medium", f.Severity)
			}
			// gosec: CWE through relationships to the CWE taxonomy (by id, and by index).
			if f := find(t, fs, byPath("cmd/server/main.go")); !slices.Equal(f.CWE, []string{"CWE-798"}) {
				t.Errorf("G101 CWE %v", f.CWE)
			}
			if f := find(t, fs, byPath("internal/token/token.go")); !slices.Equal(f.CWE, []string{"CWE-338"}) {
				t.Errorf("G404 CWE by taxon index %v", f.CWE)
			}
			f = find(t, fs, byPath("app/models.py"))
			if f.Severity != finding.SeverityMedium || f.Properties["confidence"] != "low" {
				t.Errorf("bandit issue_severity/confidence: %s %v", f.Severity, f.Properties)
			}
			f = find(t, fs, byPath("Dockerfile"))
			if f.Kind != finding.KindConfig || f.Severity != finding.SeverityLow || !slices.Equal(f.CWE, []string{"CWE-710"}) {
				t.Errorf("kics: %s %s %v", f.Kind, f.Severity, f.CWE)
			}
		}},
		{"codeql-extensions.sarif", func(t *testing.T, fs []finding.Finding) {
			if len(fs) != 2 {
				t.Fatalf("%d findings, want 2", len(fs))
			}
			sql, xss := fs[0], fs[1]
			if sql.Title != "Database query built from user-controlled sources" || sql.Score != 8.8 || sql.Severity != finding.SeverityHigh {
				t.Errorf("toolComponent index lookup: %q %v %s", sql.Title, sql.Score, sql.Severity)
			}
			if !slices.Equal(sql.CWE, []string{"CWE-89", "CWE-90"}) {
				t.Errorf("external/cwe/cwe-089 tags → %v", sql.CWE)
			}
			if want := "This query string depends on a user-provided value (src/routes/search.js:12)."; sql.Message != want {
				t.Errorf("message link: %q", sql.Message)
			}
			if len(sql.Flow) != 3 || sql.Flow[0].Snippet != "req.query.id" || sql.Flow[2].Path != "src/db/users.js" {
				t.Errorf("code flow: %+v", sql.Flow)
			}
			if !slices.Equal(sql.Location.Logical, []string{"users.findUser"}) || sql.Location.StartCol != 17 {
				t.Errorf("location: %+v", sql.Location)
			}
			if sql.PartialFingerprint != "primaryLocationLineHash=5e2b0a1c9d4f7e31:1" {
				t.Errorf("fingerprint %q", sql.PartialFingerprint)
			}
			if xss.Title != "Reflected cross-site scripting" || !slices.Equal(xss.CWE, []string{"CWE-79", "CWE-116"}) {
				t.Errorf("toolComponent guid lookup: %q %v", xss.Title, xss.CWE)
			}
			if want := "Cross-site scripting vulnerability due to a user-provided value (src/routes/search.js:18)."; xss.Message != want {
				t.Errorf("messageStrings + arguments + link: %q", xss.Message)
			}
			if xss.Location.Path != "src/routes/search.js" {
				t.Errorf("absolute file URI under SRCROOT → %q", xss.Location.Path)
			}
		}},
		{"generic-kinds-suppressions.sarif", func(t *testing.T, fs []finding.Finding) {
			for _, f := range fs {
				if strings.Contains(f.Message, "no weak hash") || strings.Contains(f.Message, "not applicable") || f.Location.Path == "src/gone.py" {
					t.Errorf("pass/notApplicable/absent result kept: %q", f.Message)
				}
			}
			f := find(t, fs, byPath("src/crypto utils/hash.py"))
			if f.Score != 5 || f.Severity != finding.SeverityMedium {
				t.Errorf("numeric security-severity: %v %s", f.Score, f.Severity)
			}
			if len(f.Fixes) != 2 || f.Fixes[0].Replacement != "hashlib.sha256(" || f.Fixes[0].Path != "src/crypto utils/hash.py" || f.Fixes[1].Description != "Remove the hash entirely" {
				t.Errorf("fixes (incl. artifactChanges null): %+v", f.Fixes)
			}
			f = find(t, fs, byPath("docs/README.md"))
			if f.Severity != finding.SeverityInfo || f.Properties["sarif_kind"] != "informational" {
				t.Errorf("informational: %s %v", f.Severity, f.Properties)
			}
			if want := "An insecure URL http://example.test was found; use https. Literal {braces} stay."; f.Message != want {
				t.Errorf("message id + arguments: %q", f.Message)
			}
			if f := find(t, fs, byPath("docs/INSTALL.md")); f.Properties["sarif_kind"] != "review" || f.Severity != finding.SeverityMedium {
				t.Errorf("review: %s %v", f.Severity, f.Properties)
			}
			if f := find(t, fs, byPath("main.c")); f.Severity != finding.SeverityMedium || !strings.Contains(f.Location.Snippet, "gets(buf)") {
				t.Errorf("default warning / contextRegion snippet: %s %q", f.Severity, f.Location.Snippet)
			}
			f = find(t, fs, byPath("lib/x.c"))
			if f.Title != "DS999999" || f.Severity != finding.SeverityCritical || f.Score != 9.8 {
				t.Errorf("missing rule with result security-severity: %q %s %v", f.Title, f.Severity, f.Score)
			}
			f = find(t, fs, byPath("src/legacy.py"))
			if !f.Suppressed || f.Suppression == nil || f.Suppression.Kind != "inSource" || f.Suppression.Status != "accepted" || f.Suppression.Justification == "" {
				t.Errorf("suppression without status: %v %+v", f.Suppressed, f.Suppression)
			}
			f = find(t, fs, byPath("src/legacy2.py"))
			if f.Suppressed || f.Suppression != nil || f.Properties["suppression_status"] != "underReview" {
				t.Errorf("underReview: %v %+v %v", f.Suppressed, f.Suppression, f.Properties)
			}
			if f := find(t, fs, byPath("src/legacy3.py")); !f.Suppressed || f.Suppression.Justification != "false positive" {
				t.Errorf("accepted after rejected: %+v", f.Suppression)
			}
			if f := find(t, fs, byPath("src/fp.py")); f.PartialFingerprint != "alpha/v1=a" {
				t.Errorf("fingerprints key order: %q", f.PartialFingerprint)
			}
		}},
		{"trivy-kinds.sarif", func(t *testing.T, fs []finding.Finding) {
			kinds := map[finding.Kind]finding.Finding{}
			for _, f := range fs {
				kinds[f.Kind] = f
			}
			dep := kinds[finding.KindDependency]
			if dep.Package == nil || dep.Package.Ecosystem != "npm" || dep.Package.InstalledVersion != "4.17.20" || !slices.Equal(dep.Package.FixedVersions, []string{"4.17.21"}) || !slices.Equal(dep.VulnIDs, []string{"GHSA-jfh8-c2jp-5v3q"}) {
				t.Errorf("vulnerability: %+v %v", dep.Package, dep.VulnIDs)
			}
			if dep.Location.StartLine != 0 {
				t.Errorf("placeholder region kept: %+v", dep.Location)
			}
			if c := kinds[finding.KindConfig]; c.Tools[0].RuleID != "DS002" || c.Severity != finding.SeverityHigh {
				t.Errorf("misconfiguration: %+v", c)
			}
			if l := kinds[finding.KindLicense]; l.Package == nil || l.Package.Name != "readline" || l.Location.Path != "" || l.Location.Image != "library/ubuntu:24.04" {
				t.Errorf("license / image location: %+v %+v", l.Package, l.Location)
			}
			for _, f := range fs {
				if f.Kind == finding.KindSecret && f.Tools[0].RuleID == "aws-access-key-id" && (len(f.Secrets) != 0 || f.SecretHash == "") {
					t.Errorf("masked secret: %v %q", f.Secrets, f.SecretHash)
				}
				if f.Kind == finding.KindSecret && f.Tools[0].RuleID == "github-pat" && !slices.Equal(f.Secrets, []string{"ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"}) {
					t.Errorf("unmasked secret: %v", f.Secrets)
				}
			}
		}},
		{"trivy-webauthn.sarif", func(t *testing.T, fs []finding.Finding) {
			// Checked by hand against the raw file: logback-core 1.4.14,
			// CVE-2024-12798, "Fixed Version: 1.5.13, 1.3.15", app/app.jar.
			f := find(t, fs, func(f finding.Finding) bool { return f.Tools[0].RuleID == "CVE-2024-12798" })
			p := f.Package
			if p == nil || p.Name != "ch.qos.logback:logback-core" || p.InstalledVersion != "1.4.14" || p.Ecosystem != "maven" || !slices.Equal(p.FixedVersions, []string{"1.5.13", "1.3.15"}) {
				t.Errorf("package %+v", p)
			}
			if f.Location.Path != "app/app.jar" || f.Severity != finding.SeverityMedium || f.Kind != finding.KindDependency {
				t.Errorf("location/severity/kind: %+v %s %s", f.Location, f.Severity, f.Kind)
			}
		}},
		{"grype.sarif", func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if !slices.Equal(f.VulnIDs, []string{"CVE-2023-45853"}) || f.Package.Name != "zlib1g" || f.Package.InstalledVersion != "1:1.2.13.dfsg-1" || f.Package.Ecosystem != "debian" {
				t.Errorf("grype rule id split / help fields: %v %+v", f.VulnIDs, f.Package)
			}
			f = fs[1]
			if !slices.Equal(f.VulnIDs, []string{"GHSA-4374-p667-p6c8"}) || f.Package.Ecosystem != "pypi" || !slices.Equal(f.Package.FixedVersions, []string{"2.31.0"}) || f.Severity != finding.SeverityMedium {
				t.Errorf("grype GHSA: %v %+v %s", f.VulnIDs, f.Package, f.Severity)
			}
		}},
		{"snyk.sarif", func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if f.Severity != finding.SeverityHigh || f.Kind != finding.KindDependency || f.Package.Name != "lodash" || f.Package.InstalledVersion != "4.17.20" {
				t.Errorf("snyk open source: %s %s %+v", f.Severity, f.Kind, f.Package)
			}
			if !slices.Contains(f.VulnIDs, "CVE-2021-23337") {
				t.Errorf("snyk CVE from description: %v", f.VulnIDs)
			}
			if fs[1].Kind != finding.KindCode || !slices.Equal(fs[1].CWE, []string{"CWE-89"}) {
				t.Errorf("snyk code: %s %v", fs[1].Kind, fs[1].CWE)
			}
		}},
		{"gitleaks-leak.sarif", func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			secret := "FAKE-api-key-0123456789abcdef0123456789"
			if f.Kind != finding.KindSecret || !slices.Equal(f.Secrets, []string{secret}) {
				t.Errorf("secret: %s %v", f.Kind, f.Secrets)
			}
			if f.SecretHash != "ad0d0c8d864e77e9a2d530c1628b0f952f3a22e284a6d38b1433027338e76c57" {
				t.Errorf("secret hash %q (sha256 of the secret)", f.SecretHash)
			}
			if f.Properties["commit"] != "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c" || f.PartialFingerprint != "" {
				t.Errorf("commit / fingerprint: %v %q", f.Properties, f.PartialFingerprint)
			}
			var all bytes.Buffer
			all.WriteString(goldenString(f))
			for _, pii := range []string{"Jane", "jane.doe@example.com", "add config", "2024-05-01"} {
				if strings.Contains(all.String(), pii) {
					t.Errorf("commit metadata %q leaked into the finding", pii)
				}
			}
		}},
		{"checkov-guideline.sarif", func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if f.Kind != finding.KindConfig || !strings.HasPrefix(f.HelpURI, "https://docs.prismacloud.io/") || f.Location.Path != "Dockerfile" {
				t.Errorf("checkov: %s %q %q", f.Kind, f.HelpURI, f.Location.Path)
			}
		}},
		{"semgrep-results-first.sarif", func(t *testing.T, fs []finding.Finding) {
			if len(fs) != 2 {
				t.Fatalf("%d findings (results before tool), want 2", len(fs))
			}
			f := fs[0]
			if f.Tools[0] != (finding.Tool{Name: "semgrep", Version: "1.135.0", RuleID: "python.django.security.injection.sql.sql-injection-using-raw.sql-injection-db-cursor-execute"}) {
				t.Errorf("tool %+v", f.Tools[0])
			}
			if f.PartialFingerprint != "" || !slices.Equal(f.CWE, []string{"CWE-89"}) || f.Severity != finding.SeverityHigh || len(f.Fixes) != 1 {
				t.Errorf("semgrep: fp %q cwe %v sev %s fixes %v", f.PartialFingerprint, f.CWE, f.Severity, f.Fixes)
			}
			if strings.Contains(f.Description, "sg.run") || slices.ContainsFunc(f.References, func(u string) bool { return strings.Contains(u, "sg.run") }) {
				t.Errorf("advert kept: %q %v", f.Description, f.References)
			}
			if fs[1].Severity != finding.SeverityInfo {
				t.Errorf("semgrep note → %s, want info as in Semgrep JSON", fs[1].Severity)
			}
		}},
		{"gitleaks-clean.sarif", func(t *testing.T, fs []finding.Finding) {
			if len(fs) != 0 {
				t.Errorf("clean scan gave %d findings", len(fs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			fs, err := parseFile(t, filepath.Join("testdata", "sarif", tt.file))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, f := range fs {
				if f.Severity.Rank() < 0 || !f.Kind.Valid() || f.Title == "" || len(f.Tools) != 1 || f.References == nil || f.CWE == nil || f.VulnIDs == nil {
					t.Errorf("required fields missing: %+v", f)
				}
			}
			tt.check(t, fs)
		})
	}
}

func goldenString(f finding.Finding) string {
	return string(render([]finding.Finding{f}, nil, 0))
}

// TestSARIFErrors checks that problems name the file, the byte offset and
// the JSON path, and that the rest of the file is still read.
func TestSARIFErrors(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		file      string
		wantN     int
		wantErr   []string
		wantNoErr bool
	}{
		{name: "bad result skipped", file: "bad-result.sarif", wantN: 2,
			wantErr: []string{"bad-result.sarif: byte 770: at $.runs[0].results[1].locations[0].physicalLocation.region.startLine: expected a number, found a string", "at $.runs[0].results[2]: expected an object, found a string"}},
		{name: "truncated keeps earlier results", file: "truncated.sarif", wantN: 1, wantErr: []string{"byte 523", "truncated JSON"}},
		{name: "malformed", file: "malformed.sarif", wantN: 0, wantErr: []string{"byte 95: at $.runs[0].results[0]: invalid JSON"}},
		{name: "version 2.0.0", file: "version-2.0.0.sarif", wantErr: []string{`unsupported SARIF version "2.0.0": supported versions are 2.1.0`}},
		{name: "version 1.0", file: "version-1.0.sarif", wantErr: []string{`unsupported SARIF version "1.0"`}},
		{name: "version after runs", doc: `{"runs":[{"tool":{"driver":{"name":"X"}},"results":[{"ruleId":"a","message":{"text":"m"}}]}],"version":"2.2.0"}`, wantErr: []string{`unsupported SARIF version "2.2.0"`}},
		{name: "schema names old version", doc: `{"$schema":"https://example.test/sarif-schema-2.0.0.json","runs":[]}`, wantErr: []string{`unsupported SARIF version "2.0.0"`}},
		{name: "deep nesting capped", file: "deep-nesting.sarif", wantN: 1, wantErr: []string{"exceeded max depth", "[…]"}},
		{name: "BOM", file: "bom.sarif", wantN: 1, wantNoErr: true},
		{name: "invalid UTF-8 replaced", file: "invalid-utf8.sarif", wantN: 1, wantNoErr: true},
		{name: "empty runs", file: "empty.sarif", wantNoErr: true},
		{name: "empty input", doc: "", wantErr: []string{"empty file"}},
		{name: "not an object", doc: `[1,2]`, wantErr: []string{"byte 0", "expected a SARIF log object, found an array"}},
		{name: "runs not an array", doc: `{"version":"2.1.0","runs":{}}`, wantErr: []string{"at $.runs: expected an array of runs"}},
		{name: "run without tool", doc: `{"version":"2.1.0","runs":[{"results":[{"ruleId":"a","message":{"text":"m"}}]}]}`, wantErr: []string{"at $.runs[0].tool: results of this run skipped"}},
		{name: "bad rule reported, result kept", doc: `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"X","rules":[{"id":"a","helpUri":5}]}},"results":[{"ruleId":"a","ruleIndex":0,"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.c"}}}]}]}]}`,
			wantN: 1, wantErr: []string{"at $.runs[0].tool.driver.rules[0].helpUri: invalid rule: expected a string, found a number"}},
		{name: "trailing data", doc: `{"version":"2.1.0","runs":[]} {}`, wantErr: []string{"unexpected data after the SARIF log object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fs []finding.Finding
			var err error
			if tt.file != "" {
				fs, err = parseFile(t, filepath.Join("testdata", "sarif", tt.file))
			} else {
				fs, err = parseString(t, tt.doc)
			}
			if len(fs) != tt.wantN {
				t.Errorf("%d findings, want %d", len(fs), tt.wantN)
			}
			if tt.wantNoErr {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var ie *report.Error
			if !errors.As(err, &ie) {
				t.Errorf("error is not an *report.Error: %T", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// TestSARIFReaders checks that a reader that cannot seek, a file opened at
// an offset, and a byte slice all give the same findings.
func TestSARIFReaders(t *testing.T) {
	path := filepath.Join("testdata", "sarif", "semgrep-results-first.sarif")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := report.Input{Name: "x.sarif", Size: int64(len(data))}
	want, err := sarif.Format{}.Parse(context.Background(), in, bytes.NewReader(data))
	if err != nil || len(want) == 0 {
		t.Fatalf("parse: %d, %v", len(want), err)
	}
	got, err := sarif.Format{}.Parse(context.Background(), in, struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("plain reader differs: %v", err)
	}
	padded := append([]byte("JUNK"), data...)
	r := bytes.NewReader(padded)
	if _, err := r.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err = sarif.Format{}.Parse(context.Background(), in, r)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("reader at offset differs: %v", err)
	}
}

func TestSARIFEach(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "sarif", "trivy-webauthn.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	in := report.Input{Name: "x"}
	all, err := sarif.Format{}.Parse(context.Background(), in, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []finding.Finding
	if err := (sarif.Format{}).Each(context.Background(), in, bytes.NewReader(data), func(f finding.Finding) error {
		got = append(got, f)
		return nil
	}); err != nil || !reflect.DeepEqual(got, all) {
		t.Errorf("Each gave %d findings (%v), Parse %d", len(got), err, len(all))
	}
	stop := errors.New("enough")
	n := 0
	err = sarif.Format{}.Each(context.Background(), in, bytes.NewReader(data), func(finding.Finding) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("yield error: got %v after %d findings, want %v after 3", err, n, stop)
	}
}

func TestSARIFCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data, err := os.ReadFile(filepath.Join("testdata", "sarif", "trivy-webauthn.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = sarif.Format{}.Parse(ctx, report.Input{Name: "x"}, bytes.NewReader(data))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// sniffSize is ingest.SniffSize, how much of a file Sniff sees.
const sniffSize = 64 << 10

func TestSARIFSniff(t *testing.T) {
	big := `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"results":[` + strings.Repeat(`{"ruleId":"x"},`, 5000)
	tests := []struct {
		name string
		head string
		want bool
	}{
		{"version and runs", `{"version":"2.1.0","runs":[]}`, true},
		{"schema first, version at the end past the head", big, true},
		{"unknown version still sniffed", `{"version":"1.0","runs":[{"tool":{}}]}`, true},
		{"runs with a tool, no version", `{"runs":[{"tool":{"driver":{"name":"x"}}}]}`, true},
		{"semgrep json", `{"version":"1.135.0","results":[],"errors":[],"paths":{"scanned":[]}}`, false},
		{"trivy json", `{"SchemaVersion":2,"ArtifactName":".","Results":[]}`, false},
		{"runs is not an array", `{"version":"2.1.0","runs":{}}`, false},
		{"runs without any marker", `{"runs":[1,2]}`, false},
		{"array", `[{"runs":[]}]`, false},
		{"not json", `version: 2.1.0`, false},
		{"nested runs key", `{"data":{"version":"2.1.0","runs":[]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			head := []byte(tt.head)
			if len(head) > sniffSize {
				head = head[:sniffSize]
			}
			if got := (sarif.Format{}).Sniff(head); got != tt.want {
				t.Errorf("Sniff = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSARIFLocationNotAFile: an artifact URI that is neither a URI
// reference nor a file path (codeql-action's test input "not a valid URI")
// leaves its result without a file, with a warning naming the place, while
// a path that breaks the URI syntax with a space but names a file is kept
// as it is, without one.
func TestSARIFLocationNotAFile(t *testing.T) {
	doc := func(uri string) string {
		return `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"lgtm.com"}},"results":[` +
			`{"ruleId":"js/unused-local-variable","message":{"text":"Unused variable foo."},` +
			`"locations":[{"physicalLocation":{"artifactLocation":{"uri":` + strconv.Quote(uri) + `},"region":{"startLine":2}}}]}]}]}`
	}
	tests := []struct {
		uri, wantPath, wantWarning string
	}{
		{"not a valid URI", "", `t.sarif: at $.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri: "not a valid URI" is neither a URI reference nor a file path: the result is kept without a file`},
		{"My Documents/App.java", "My Documents/App.java", ""},
		{"Read Me.md", "Read Me.md", ""},
		{"src/app.js", "src/app.js", ""},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			t.Parallel()
			fs, err := parseString(t, doc(tt.uri))
			if len(fs) != 1 {
				t.Fatalf("%d findings, want 1 (err %v)", len(fs), err)
			}
			f := fs[0]
			if f.Location.Path != tt.wantPath || f.Location.StartLine != 2 || f.Kind != finding.KindCode {
				t.Errorf("location %+v, kind %s; want path %q at line 2, kind code", f.Location, f.Kind, tt.wantPath)
			}
			if tt.wantWarning == "" {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			var ie *report.Error
			if !errors.As(err, &ie) || !ie.Warning || err.Error() != tt.wantWarning {
				t.Errorf("error %v (warning %v), want the warning %q", err, ie != nil && ie.Warning, tt.wantWarning)
			}
		})
	}
}
