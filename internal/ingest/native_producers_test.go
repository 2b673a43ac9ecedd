package ingest_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
)

// nativeProducerCases are small reports in the shapes real producers write,
// each cut down from a corpus report (examples/corpus, named in the case)
// to the fields a reader got wrong. dir names the format as nativeFormats
// does; the cases are also seeds of that format's fuzz target.
var nativeProducerCases = []struct {
	dir, name string
	doc       string
	check     func(t *testing.T, fs []finding.Finding)
}{
	// osv-scanner over a CycloneDX SBOM (mgfeller/naftis osv.json): the
	// package is the artifact id alone, the advisory's affected package is
	// group:artifact, and its only range is of type ECOSYSTEM.
	{"osv", "ecosystem range, maven artifact id", `{"results":[{"source":{"path":"/home/runner/work/naftis/naftis/bom.json","type":"sbom"},"packages":[{
		"package":{"name":"logback-core","version":"1.2.3","ecosystem":"Maven"},
		"vulnerabilities":[{"id":"GHSA-668q-qrv7-99fm","aliases":["CVE-2021-42550"],"summary":"Deserialization of Untrusted Data in logback",
		 "affected":[{"package":{"name":"ch.qos.logback:logback-core","ecosystem":"Maven","purl":"pkg:maven/ch.qos.logback/logback-core"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.9"}]}]}]}],
		"groups":[{"ids":["GHSA-668q-qrv7-99fm"]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; !slices.Equal(p.FixedVersions, []string{"1.2.9"}) || p.Name != "logback-core" {
				t.Errorf("package %+v", p)
			}
			if fs[0].Location.Path != "bom.json" {
				t.Errorf("path %q", fs[0].Location.Path)
			}
		}},
	// An ECOSYSTEM range of a PyPI advisory (PyPI's OSV records use
	// ECOSYSTEM, not SEMVER), the name spelt differently from the lock file.
	{"osv", "ecosystem range, pypi", `{"results":[{"source":{"path":"uv.lock","type":"lockfile"},"packages":[{
		"package":{"name":"H11","version":"0.14.0","ecosystem":"PyPI"},
		"vulnerabilities":[{"id":"GHSA-vqfr-h8mv-ghfj","aliases":["CVE-2025-43859"],
		 "affected":[{"package":{"name":"h11","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0.16.0"}]},{"type":"GIT","repo":"https://github.com/python-hyper/h11","events":[{"introduced":"0"},{"fixed":"114803a29ce50116dc47951c690ad4892b1a36ed"}]}]}]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; !slices.Equal(p.FixedVersions, []string{"0.16.0"}) {
				t.Errorf("fixed versions %v, want the ECOSYSTEM range's 0.16.0 and no GIT commit", p.FixedVersions)
			}
		}},
	// trivy fs over a uv.lock (pab1it0/prometheus-mcp-server
	// trivy-results.json): Type "uv".
	{"trivy", "uv lock file", `{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem","Results":[
		{"Target":"Python","Class":"lang-pkgs","Type":"python-pkg"},
		{"Target":"uv.lock","Class":"lang-pkgs","Type":"uv","Vulnerabilities":[{"VulnerabilityID":"CVE-2025-43859","PkgID":"h11@0.14.0","PkgName":"h11",
		 "PkgIdentifier":{"PURL":"pkg:pypi/h11@0.14.0"},"InstalledVersion":"0.14.0","FixedVersion":"0.16.0","Status":"fixed","SeveritySource":"ghsa",
		 "Title":"h11: h11 accepts some malformed Chunked-Encoding bodies","Severity":"CRITICAL","CweIDs":["CWE-444"]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; p.Ecosystem != "pypi" || p.Name != "h11" || !slices.Equal(p.FixedVersions, []string{"0.16.0"}) || fs[0].Location.Path != "uv.lock" {
				t.Errorf("package %+v at %q", p, fs[0].Location.Path)
			}
		}},
	// Trivy before SchemaVersion (rodrigoandradedm/hello-nodejs-testing
	// trivy-results.json): the report is the Results array, a Node.js
	// security WG advisory's fixed version is the range ">=3.0.2".
	{"trivy", "pre-SchemaVersion array", `[{"Target":"package-lock.json","Type":"npm","Vulnerabilities":[
		{"VulnerabilityID":"CVE-2016-10540","PkgName":"minimatch","InstalledVersion":"0.3.0","FixedVersion":"3.0.2","Layer":{"DiffID":"sha256:9587720c21dfa647e65bdc80af2c53fd9a47a0093df2a0aa17100cba3efef97e"},
		 "SeveritySource":"nvd","PrimaryURL":"https://avd.aquasec.com/nvd/cve-2016-10540","Title":"Regular Expression Denial of Service in minimatch","Severity":"HIGH","CweIDs":["CWE-20"]},
		{"VulnerabilityID":"NSWG-ECO-118","PkgName":"minimatch","InstalledVersion":"0.3.0","FixedVersion":">=3.0.2","Layer":{"DiffID":"sha256:9587720c21dfa647e65bdc80af2c53fd9a47a0093df2a0aa17100cba3efef97e"},
		 "Title":"Regular Expression Denial of Service","Severity":"HIGH"}]},
		{"Target":"yarn.lock","Type":"yarn","Vulnerabilities":null}]`,
		func(t *testing.T, fs []finding.Finding) {
			if len(fs) != 2 {
				t.Fatalf("%d findings, want 2", len(fs))
			}
			for _, f := range fs {
				if p := f.Package; p.Ecosystem != "npm" || !slices.Equal(p.FixedVersions, []string{"3.0.2"}) || f.Location.Path != "package-lock.json" {
					t.Errorf("%s: package %+v at %q", f.Tools[0].RuleID, p, f.Location.Path)
				}
			}
		}},
	// An image scan of that era, as Trivy's README showed it: the OS
	// result's target names the image, and no Class says it is no file.
	{"trivy", "pre-SchemaVersion image", `[{"Target":"alpine:3.10 (alpine 3.10.2)","Type":"alpine","Vulnerabilities":[
		{"VulnerabilityID":"CVE-2019-1549","PkgName":"libssl1.1","InstalledVersion":"1.1.1c-r0","FixedVersion":"1.1.1d-r0","Title":"openssl: information disclosure in fork()","Severity":"MEDIUM"}]},
		{"Target":"app/package-lock.json","Type":"npm","Vulnerabilities":[
		{"VulnerabilityID":"CVE-2016-10540","PkgName":"minimatch","InstalledVersion":"0.3.0","FixedVersion":"3.0.2","Severity":"HIGH"}]}]`,
		func(t *testing.T, fs []finding.Finding) {
			osPkg, npm := fs[0], fs[1]
			if osPkg.Package.Ecosystem != "alpine" || osPkg.Location.Path != "" || osPkg.Location.Image != "alpine:3.10" {
				t.Errorf("os package %+v at %+v", osPkg.Package, osPkg.Location)
			}
			if npm.Location.Path != "app/package-lock.json" || npm.Location.Image != "alpine:3.10" {
				t.Errorf("npm package at %+v", npm.Location)
			}
		}},
	// ZAP 2.14.0 baseline (bcgov/bc-emli-pin-mgmt-fe report_json.json):
	// plugin 10055 raises two alerts on the same URL and header, told apart
	// only by alertRef; an older ZAP writes the plugin id as alertRef, and
	// ZAP before 2.10 no alertRef at all.
	{"zap", "alerts of one plugin by alertRef", `{"@programName":"ZAP","@version":"2.14.0","site":[{"@name":"https://pin.example.test","alerts":[
		{"pluginid":"10055","alertRef":"10055-4","alert":"CSP: Wildcard Directive","name":"CSP: Wildcard Directive","riskcode":"2","confidence":"3","riskdesc":"Medium (High)",
		 "instances":[{"uri":"https://pin.example.test/robots.txt","method":"GET","param":"content-security-policy","attack":"","evidence":"defaultSrc undefined"}],"count":"1","cweid":"693","wascid":"15","sourceid":"23"},
		{"pluginid":"10055","alertRef":"10055-5","alert":"CSP: script-src unsafe-inline","name":"CSP: script-src unsafe-inline","riskcode":"2","confidence":"3","riskdesc":"Medium (High)",
		 "instances":[{"uri":"https://pin.example.test/robots.txt","method":"GET","param":"content-security-policy","attack":"","evidence":"defaultSrc undefined"}],"count":"1","cweid":"693","wascid":"15","sourceid":"23"},
		{"pluginid":"10038","alertRef":"10038","alert":"Content Security Policy (CSP) Header Not Set","riskcode":"2","confidence":"3","riskdesc":"Medium (High)",
		 "instances":[{"uri":"https://pin.example.test/","method":"GET"}],"count":"1","cweid":"693","wascid":"15","sourceid":"1"},
		{"pluginid":"10020","alert":"X-Frame-Options Header Not Set","riskcode":"2","confidence":"2","riskdesc":"Medium (Medium)",
		 "instances":[{"uri":"https://pin.example.test/","method":"GET","param":"X-Frame-Options"}],"count":"1","cweid":"1021","wascid":"15","sourceid":"1"}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if len(fs) != 4 {
				t.Fatalf("%d findings, want 4", len(fs))
			}
			want := []struct{ rule, plugin string }{{"10055-4", "10055"}, {"10055-5", "10055"}, {"10038", "10038"}, {"10020", "10020"}}
			for i, w := range want {
				f := fs[i]
				if f.Tools[0].RuleID != w.rule || f.Properties["plugin_id"] != w.plugin || f.HelpURI != "https://www.zaproxy.org/docs/alerts/"+w.rule+"/" {
					t.Errorf("alert %d: rule %q plugin %q help %q, want rule %s of plugin %s", i, f.Tools[0].RuleID, f.Properties["plugin_id"], f.HelpURI, w.rule, w.plugin)
				}
			}
			if finding.Fingerprint(&fs[0]) == finding.Fingerprint(&fs[1]) {
				t.Error("10055-4 and 10055-5 on one URL and header share a fingerprint, so they merge")
			}
		}},
	// KICS in its documented container (Checkmarx/kics e2e expectations
	// E2E_CLI_032 and E2E_CLI_087): the scanned directory is mounted at
	// /path, written "\path\..." by a Windows run; a relative scan path is
	// kept as it is.
	{"kics", "container mount /path", `{"kics_version":"development","total_counter":3,"paths":["/path/e2e/fixtures/samples/terraform.tf"],"queries":[
		{"query_name":"Passwords And Secrets - Generic Password","query_id":"487f4be7-3fd9-4506-a07a-eae252180c08","query_url":"https://docs.kics.io/latest/secrets/","severity":"HIGH","platform":"Common","cwe":"798","category":"Secret Management",
		 "description":"Query to find passwords and secrets in infrastructure code.","files":[
		 {"file_name":"\\path\\e2e\\fixtures\\samples\\terraform.tf","similarity_id":"9e26d1ce4d2e0f7fa9b77195bd329f18c135b946ba74a13bc05a289dfc3455f1","line":5,"issue_type":"RedundantAttribute","search_key":"","expected_value":"Hardcoded secret key should not appear in source","actual_value":"Hardcoded secret key appears in source"},
		 {"file_name":"/path/e2e/fixtures/samples/positive.yaml","similarity_id":"4c6bd8e3c5c4e4b5d0a9f0e1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6978899aabb","line":7,"issue_type":"RedundantAttribute","search_key":"","expected_value":"Hardcoded secret key should not appear in source","actual_value":"Hardcoded secret key appears in source"},
		 {"file_name":"path/test/fixtures/dockerfile/Dockerfile-example","similarity_id":"0d2a1b5c6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819","line":3,"issue_type":"RedundantAttribute","search_key":"","expected_value":"Hardcoded secret key should not appear in source","actual_value":"Hardcoded secret key appears in source"}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			want := []string{"e2e/fixtures/samples/terraform.tf", "e2e/fixtures/samples/positive.yaml", "path/test/fixtures/dockerfile/Dockerfile-example"}
			for i, f := range fs {
				if f.Location.Path != want[i] || len(f.Fixes) > 0 && f.Fixes[0].Path != want[i] {
					t.Errorf("finding %d: path %q, want %q", i, f.Location.Path, want[i])
				}
			}
		}},
}

func TestNativeProducerCases(t *testing.T) {
	t.Parallel()
	for _, tt := range nativeProducerCases {
		t.Run(tt.dir+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			format := nativeFormats[tt.dir]
			if got := ingest.Detect([]byte(tt.doc)); got == nil || got.Name() != format.Name() {
				t.Errorf("Detect = %v, want %s", got, format.Name())
			}
			in := ingest.Input{Name: "case.json", Size: int64(len(tt.doc))}
			fs, err := format.Parse(context.Background(), in, strings.NewReader(tt.doc))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			for _, f := range fs {
				nativeCheckRequired(t, format.Name(), f)
			}
			tt.check(t, fs)
		})
	}
}

// kicsPaths checks that every finding is at the repo-relative path.
func kicsPaths(path string) func(t *testing.T, fs []finding.Finding) {
	return func(t *testing.T, fs []finding.Finding) {
		for _, f := range fs {
			if f.Location.Path != path {
				t.Errorf("%s: path %q, want %q", f.Tools[0].RuleID, f.Location.Path, path)
			}
		}
	}
}

// TestNativeCorpusFacts checks facts read by hand from real reports of the
// corpus (examples/corpus/SOURCES.tsv), so a reader that drifts from what
// producers write fails here.
func TestNativeCorpusFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir, file string
		check     func(t *testing.T, fs []finding.Finding)
	}{
		{"osv", "osv-scanner/naftis-osv-scanner-sbom-maven-trimmed.json", func(t *testing.T, fs []finding.Finding) {
			f := nativeFind(t, fs, "CVE-2021-42550")
			if !slices.Equal(f.Package.FixedVersions, []string{"1.2.9"}) {
				t.Errorf("logback-core: fixed %v, want 1.2.9 from the ECOSYSTEM range", f.Package.FixedVersions)
			}
		}},
		{"osv", "osv-scanner/osv-scanner-cargo-multiple.json", func(t *testing.T, fs []finding.Finding) {
			// No CVE among the aliases: the GHSA id is the rule, spelt as
			// the advisory spells it, not upper-cased.
			f := nativeFind(t, fs, "GHSA-wfg4-322g-9vqv") // memoffset
			if !slices.Contains(f.VulnIDs, "RUSTSEC-2023-0045") {
				t.Errorf("memoffset ids %v", f.VulnIDs)
			}
		}},
		{"kics", "kics/kics-e2e-032-cloudformation-common.json", kicsPaths("e2e/fixtures/samples/positive.yaml")},
		{"kics", "kics/kics-e2e-087-terraform-windows-paths.json", kicsPaths("e2e/fixtures/samples/terraform.tf")},
		{"trivy", "trivy/prometheus-mcp-server-uv-lock.json", func(t *testing.T, fs []finding.Finding) {
			for _, f := range fs {
				if f.Package == nil || f.Package.Ecosystem != "pypi" {
					t.Errorf("%s: package %+v, want the pypi ecosystem for a uv.lock", f.Tools[0].RuleID, f.Package)
				}
			}
		}},
		{"trivy", "trivy/trivy-0.74-licenses.json", func(t *testing.T, fs []finding.Finding) {
			// Jars' licenses found without a file are grouped under the
			// Target "Java": a label, not a path.
			if len(fs) == 0 {
				t.Fatal("no license findings")
			}
			for _, f := range fs {
				if f.Kind != finding.KindLicense || f.Location.Path != "" || f.Package == nil || f.Package.Ecosystem != "maven" {
					t.Errorf("%s: kind %s at %q, package %+v; want a maven package's license at no file", f.Title, f.Kind, f.Location.Path, f.Package)
				}
			}
		}},
		{"trivy", "trivy/hello-nodejs-testing-legacy-array.json", func(t *testing.T, fs []finding.Finding) {
			if len(fs) != 10 {
				t.Errorf("%d findings, want the 10 vulnerabilities of package-lock.json (2) and yarn.lock (8)", len(fs))
			}
			for _, f := range fs {
				if f.Tools[0].RuleID == "NSWG-ECO-118" && !slices.Equal(f.Package.FixedVersions, []string{"3.0.2"}) {
					t.Errorf("NSWG-ECO-118 fixed %v, want 3.0.2 from >=3.0.2", f.Package.FixedVersions)
				}
				if f.Package.Ecosystem != "npm" || (f.Location.Path != "package-lock.json" && f.Location.Path != "yarn.lock") {
					t.Errorf("%s: package %+v at %q", f.Tools[0].RuleID, f.Package, f.Location.Path)
				}
			}
		}},
		{"zap", "zap/bcgov-pin-mgmt-fe-baseline-2.14.0-trimmed.json", func(t *testing.T, fs []finding.Finding) {
			ids := map[string]bool{}
			for _, f := range fs {
				ids[finding.Fingerprint(&f)] = true
			}
			if len(fs) != 7 || len(ids) != 7 {
				t.Errorf("%d findings with %d fingerprints, want the 7 alerts (four of plugin 10055) kept apart", len(fs), len(ids))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			fs, err := nativeParse(t, nativeFormats[tt.dir], filepath.Join(corpus, filepath.FromSlash(tt.file)))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			tt.check(t, fs)
		})
	}
}
