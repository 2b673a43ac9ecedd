package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
)

// nativeFind returns the first finding whose first tool's rule id is rule.
func nativeFind(t *testing.T, fs []finding.Finding, rule string) finding.Finding {
	t.Helper()
	for _, f := range fs {
		if f.Tools[0].RuleID == rule {
			return f
		}
	}
	t.Fatalf("no finding with rule %q among %d", rule, len(fs))
	return finding.Finding{}
}

func nativeParseOK(t *testing.T, dir, file string) []finding.Finding {
	t.Helper()
	fs, err := nativeParse(t, nativeFormats[dir], "testdata/"+dir+"/"+file)
	if err != nil && !strings.Contains(err.Error(), "element skipped") && !strings.Contains(err.Error(), "skipped:") {
		t.Fatalf("parse %s/%s: %v", dir, file, err)
	}
	return fs
}

// TestNativeFactsFromRealSamples checks facts read by hand from the raw
// sample files, independent of the golden files.
func TestNativeFactsFromRealSamples(t *testing.T) {
	t.Parallel()
	osv := nativeParseOK(t, "osv", "osv-results.json")
	if len(osv) != 46 { // 46 groups across the 32 packages of 4 lockfiles
		t.Errorf("osv: %d findings, want 46 (one per group)", len(osv))
	}
	f := nativeFind(t, osv, "CVE-2025-52999")
	if f.Package.Name != "com.fasterxml.jackson.core:jackson-core" || f.Package.InstalledVersion != "2.14.0-rc2" ||
		f.Package.PURL != "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.14.0-rc2" ||
		!slices.Equal(f.Package.FixedVersions, []string{"2.15.0"}) || f.Location.Path != "android-test-client/app/gradle.lockfile" {
		t.Errorf("osv jackson-core: package %+v at %q", f.Package, f.Location.Path)
	}
	if f.Score != 8.7 || f.Severity != finding.SeverityHigh || !slices.Equal(f.CWE, []string{"CWE-121"}) ||
		!slices.Equal(f.VulnIDs, []string{"GHSA-h46c-h94j-95f3", "CVE-2025-52999"}) {
		t.Errorf("osv jackson-core: score %v severity %s cwe %v ids %v", f.Score, f.Severity, f.CWE, f.VulnIDs)
	}

	zap := nativeParseOK(t, "zap", "full-scan-2.16.json")
	cors := nativeFind(t, zap, "40040-2")
	if cors.Severity != finding.SeverityMedium || cors.Occurrences != 4 || len(cors.Related) != 3 ||
		cors.Location.URL != "http://localhost:8080" || !slices.Equal(cors.CWE, []string{"CWE-942"}) {
		t.Errorf("zap CORS: %s, %d occurrences, %d related, url %q, cwe %v", cors.Severity, cors.Occurrences, len(cors.Related), cors.Location.URL, cors.CWE)
	}
	if strings.Contains(cors.Description, "<p>") || !strings.Contains(cors.Description, "domain. Even") ||
		!strings.Contains(cors.Description, "websites).\n\nA malicious page") {
		t.Errorf("zap CORS description not readable text: %q", cors.Description)
	}

	sg := nativeParseOK(t, "semgrep", "semgrep-results.json")
	if len(sg) != 107 {
		t.Errorf("semgrep: %d findings, want 107", len(sg))
	}
	e := sg[0]
	if e.Tools[0] != (finding.Tool{Name: "semgrep", Version: "1.135.0", RuleID: "java.android.security.exported_activity.exported_activity"}) ||
		e.Location.StartLine != 21 || e.Location.Snippet != "" || e.PartialFingerprint != "" || !slices.Equal(e.CWE, []string{"CWE-926"}) {
		t.Errorf("semgrep first result: %+v %+v cwe %v", e.Tools, e.Location, e.CWE)
	}
}

func TestNativeFactsFixtures(t *testing.T) {
	t.Parallel()
	gl := nativeParseOK(t, "gitleaks", "canary.json")
	const canary = "ghp_CanaryCanaryCanaryCanaryCanary012345"
	sum := sha256.Sum256([]byte(canary))
	g := nativeFind(t, gl, "github-pat")
	if g.SecretHash != hex.EncodeToString(sum[:]) || !slices.Contains(g.Secrets, canary) || g.Properties["commit"] == "" {
		t.Errorf("gitleaks: hash %q secrets %q props %v", g.SecretHash, g.Secrets, g.Properties)
	}
	out, _ := json.Marshal(gl)
	for _, personal := range []string{"Jane Canary", "jane.canary@example.test", "add release script", "Fingerprint", "2025-09-01"} {
		if strings.Contains(string(out), personal) {
			t.Errorf("gitleaks findings keep %q; author, email, message, date and fingerprint must be dropped", personal)
		}
	}
	if r := nativeFind(t, gl, "generic-api-key"); r.SecretHash != "" || len(r.Secrets) != 0 {
		t.Errorf("gitleaks --redact output: hash %q secrets %q, want none for REDACTED", r.SecretHash, r.Secrets)
	}

	zp := nativeParseOK(t, "zap", "json-plus-2.12.json")
	zout, _ := json.Marshal(zp)
	if strings.Contains(string(zout), "zap-canary") {
		t.Errorf("zap findings carry request/response header or body content: %s", zout)
	}
	if len(zp) != 1 || zp[0].Severity != finding.SeverityLow || zp[0].Location.Param != "session" || !slices.Equal(zp[0].CWE, []string{"CWE-1004"}) {
		t.Errorf("zap json-plus: %+v", zp)
	}

	sg := nativeParseOK(t, "semgrep", "fix-ignored.json")
	sql := sg[0]
	if len(sql.Fixes) != 1 || !strings.Contains(sql.Fixes[0].Replacement, "(uid,)") || sql.Location.Path != "app/db.py" || sql.Suppressed {
		t.Errorf("semgrep autofix: %+v at %q suppressed %v", sql.Fixes, sql.Location.Path, sql.Suppressed)
	}
	if !sg[1].Suppressed || sg[1].Location.Snippet != "" {
		t.Errorf("semgrep is_ignored / requires login: suppressed %v snippet %q", sg[1].Suppressed, sg[1].Location.Snippet)
	}

	ck := nativeParseOK(t, "checkov", "object.json")
	if len(ck) != 3 || ck[0].Severity != finding.SeverityLow || ck[1].Severity != finding.SeverityHigh ||
		!ck[2].Suppressed || ck[2].Suppression.Justification != "logs go to the central trail bucket" || ck[0].Location.Path != "infra/s3.tf" {
		t.Errorf("checkov object: %d findings; severities %s %s; skipped %+v", len(ck), ck[0].Severity, ck[1].Severity, ck[len(ck)-1].Suppression)
	}

	kics := nativeParseOK(t, "kics", "dockerfile-terraform.json")
	if k := kics[0]; k.PartialFingerprint == "" || k.Location.Path != "Dockerfile" || !slices.Equal(k.CWE, []string{"CWE-250"}) {
		t.Errorf("kics: fingerprint %q path %q cwe %v", k.PartialFingerprint, k.Location.Path, k.CWE)
	}

	tv := nativeParseOK(t, "trivy", "all-classes.json")
	kinds := map[finding.Kind]int{}
	suppressed := 0
	for _, f := range tv {
		kinds[f.Kind]++
		if f.Suppressed {
			suppressed++
		}
	}
	if kinds[finding.KindDependency] != 3 || kinds[finding.KindConfig] != 2 || kinds[finding.KindSecret] != 1 ||
		kinds[finding.KindLicense] != 1 || suppressed != 2 {
		t.Errorf("trivy: kinds %v, %d suppressed; want 3 dependency, 2 config (PASS skipped), 1 secret, 1 license, 2 suppressed", kinds, suppressed)
	}
	if glibc := nativeFind(t, tv, "CVE-2024-2961"); glibc.Score != 9.1 || glibc.Severity != finding.SeverityHigh {
		t.Errorf("trivy: score %v severity %s; want the nvd (severity source) vector's 9.1 and Trivy's HIGH", glibc.Score, glibc.Severity)
	}
}

func TestNativeBOMAndLoneObject(t *testing.T) {
	t.Parallel()
	doc := "\xEF\xBB\xBF" + `[{"RuleID": "aws-access-token", "Secret": "AKIAIOSFODNN7EXAMPLE", "File": "a.env", "StartLine": 1}]`
	fs, err := ingest.Gitleaks{}.Parse(context.Background(), ingest.Input{Name: "bom.json"}, strings.NewReader(doc))
	if err != nil || len(fs) != 1 {
		t.Errorf("BOM-prefixed report: %d findings, error %v", len(fs), err)
	}
	// Reports converted from XML hold a lone object where a list has one entry.
	zap := `{"@version": "2.8.0", "site": {"@name": "http://a.test", "alerts": {"pluginid": "1", "riskcode": "3", "alert": "X"}}}`
	fs, err = ingest.ZAP{}.Parse(context.Background(), ingest.Input{Name: "zap.json"}, strings.NewReader(zap))
	if err != nil || len(fs) != 1 || fs[0].Severity != finding.SeverityHigh || fs[0].Location.URL != "http://a.test" {
		t.Errorf("lone-object site and alerts: %+v, error %v", fs, err)
	}
}

// TestNativeCrossToolFingerprint checks the merge contract: the same CVE in
// the same package, reported by OSV-Scanner, Trivy and Grype, gets one id.
func TestNativeCrossToolFingerprint(t *testing.T) {
	t.Parallel()
	parse := func(f ingest.Format, doc string) finding.Finding {
		t.Helper()
		fs, err := f.Parse(context.Background(), ingest.Input{Name: f.Name()}, strings.NewReader(doc))
		if err != nil || len(fs) != 1 {
			t.Fatalf("%s: %d findings, error %v", f.Name(), len(fs), err)
		}
		return fs[0]
	}
	osv := parse(ingest.OSVScanner{}, `{"results": [{"source": {"path": "/github/workspace/app/pom.xml", "type": "lockfile"}, "packages": [{
		"package": {"name": "org.apache.logging.log4j:log4j-core", "version": "2.14.1", "ecosystem": "Maven"},
		"vulnerabilities": [{"id": "GHSA-jfh8-c2jp-5v3q", "aliases": ["CVE-2021-44228"]}],
		"groups": [{"ids": ["GHSA-jfh8-c2jp-5v3q"], "aliases": ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]}]}]}]}`)
	trivy := parse(ingest.Trivy{}, `{"SchemaVersion": 2, "Results": [{"Target": "app/pom.xml", "Class": "lang-pkgs", "Type": "pom",
		"Vulnerabilities": [{"VulnerabilityID": "CVE-2021-44228", "PkgName": "org.apache.logging.log4j:log4j-core", "InstalledVersion": "2.14.1", "Severity": "CRITICAL"}]}]}`)
	grype := parse(ingest.Grype{}, `{"matches": [{"vulnerability": {"id": "GHSA-jfh8-c2jp-5v3q"},
		"relatedVulnerabilities": [{"id": "CVE-2021-44228"}],
		"artifact": {"name": "log4j-core", "version": "2.14.1", "type": "java-archive", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}}],
		"descriptor": {"name": "grype"}}`)
	want := finding.Fingerprint(&osv)
	for _, f := range []finding.Finding{trivy, grype} {
		if got := finding.Fingerprint(&f); got != want {
			t.Errorf("%s fingerprint %s, want OSV-Scanner's %s (package %+v, ids %v)", f.Tools[0].Name, got, want, f.Package, f.VulnIDs)
		}
	}
}
