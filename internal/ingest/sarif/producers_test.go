package sarif_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
)

// corpusDir holds real reports of other projects (examples/corpus,
// SOURCES.tsv records where each came from and under which licence).
const corpusDir = "../../../examples/corpus"

// producerCases are small logs in the shapes real producers write, each
// cut down from a corpus report (named in the case) to the fields a reader
// got wrong. They are also seeds of FuzzParseSARIF.
var producerCases = []struct {
	name  string
	doc   string
	check func(t *testing.T, fs []finding.Finding)
}{
	// Snyk Container 1.1297.1 (langfuse/langfuse snyk.sarif): the package
	// only as the logical location, fixed versions only in the help
	// markdown's remediation line, the package manager as the last tag.
	{"snyk container", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Snyk Container","version":"1.1297.1","rules":[
		{"id":"SNYK-JS-BRACEEXPANSION-9789073","shortDescription":{"text":"Low severity - Regular Expression Denial of Service (ReDoS) vulnerability in brace-expansion"},
		 "fullDescription":{"text":"(CVE-2025-5889) brace-expansion@2.0.1"},
		 "help":{"text":"","markdown":"## Overview\nReDoS.\n## Remediation\nUpgrade ` + "`brace-expansion`" + ` to version 1.1.12, 2.0.2, 3.0.1, 4.0.1 or higher.\n## References\n- [GitHub Advisory](https://github.com/advisories/GHSA-v6h2-p8h4-qcjw)\n"},
		 "properties":{"tags":["security","CWE-1333","npm"],"security-severity":"2.3"}}]}},
		"results":[{"ruleId":"SNYK-JS-BRACEEXPANSION-9789073","level":"note","message":{"text":"This file introduces a vulnerable brace-expansion package with a low severity vulnerability."},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"/usr/local/lib/node_modules"},"region":{"startLine":1}},"logicalLocations":[{"fullyQualifiedName":"brace-expansion@2.0.1"}]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			p := fs[0].Package
			if fs[0].Kind != finding.KindDependency || p == nil || p.Name != "brace-expansion" || p.InstalledVersion != "2.0.1" || p.Ecosystem != "npm" ||
				!slices.Equal(p.FixedVersions, []string{"1.1.12", "2.0.2", "3.0.1", "4.0.1"}) {
				t.Errorf("package %+v (kind %s)", p, fs[0].Kind)
			}
			if !slices.Contains(fs[0].VulnIDs, "CVE-2025-5889") {
				t.Errorf("vuln ids %v", fs[0].VulnIDs)
			}
		}},
	// Snyk Open Source as the CLI writes it since 2023 (snyk/cli
	// open-source-sarif-output.ts): the upgrade as a SARIF fix. A fix that
	// upgrades another (direct) package is no fixed version of this one.
	{"snyk open source fixes", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Snyk Open Source","rules":[
		{"id":"SNYK-JS-LODASH-1018905","shortDescription":{"text":"Medium severity - ReDoS vulnerability in lodash"},"help":{"text":"","markdown":"* Package Manager: npm\n* Vulnerable module: lodash\n"},"properties":{"tags":["security","CWE-400","npm"]}},
		{"id":"SNYK-JS-HOEK-548452","shortDescription":{"text":"Medium severity - Prototype Pollution vulnerability in hoek"},"help":{"text":"","markdown":"* Package Manager: npm\n* Vulnerable module: hoek\n"},"properties":{"tags":["security","CWE-1321","npm"]}}]}},
		"results":[
		 {"ruleId":"SNYK-JS-LODASH-1018905","level":"warning","message":{"text":"This file introduces a vulnerable lodash package with a medium severity vulnerability."},
		  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"package.json"},"region":{"startLine":1}},"logicalLocations":[{"fullyQualifiedName":"lodash@4.17.15"}]}],
		  "fixes":[{"description":{"text":"Upgrade to lodash@4.17.21"},"artifactChanges":[{"artifactLocation":{"uri":"package.json"},"replacements":[{"deletedRegion":{"startLine":1},"insertedContent":{"text":"lodash@4.17.21"}}]}]}]},
		 {"ruleId":"SNYK-JS-HOEK-548452","level":"warning","message":{"text":"This file introduces a vulnerable hoek package with a medium severity vulnerability."},
		  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"package.json"},"region":{"startLine":1}},"logicalLocations":[{"fullyQualifiedName":"hoek@2.16.3"}]}],
		  "fixes":[{"description":{"text":"Upgrade to twilio@3.0.0"},"artifactChanges":[{"artifactLocation":{"uri":"package.json"},"replacements":[{"deletedRegion":{"startLine":1},"insertedContent":{"text":"twilio@3.0.0"}}]}]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; p.Name != "lodash" || p.InstalledVersion != "4.17.15" || !slices.Equal(p.FixedVersions, []string{"4.17.21"}) {
				t.Errorf("lodash: %+v", p)
			}
			if p := fs[1].Package; p.Name != "hoek" || p.InstalledVersion != "2.16.3" || len(p.FixedVersions) != 0 {
				t.Errorf("hoek (fixed only through twilio): %+v", p)
			}
		}},
	// An OS package in Snyk Container, in the form Snyk's advisories use
	// for them: the package "source/binary", the remediation naming the
	// distribution and the source package.
	{"snyk container os package", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Snyk Container","rules":[
		{"id":"SNYK-ALPINE318-OPENSSL-6032386","shortDescription":{"text":"High severity - Out-of-bounds Write vulnerability in openssl"},
		 "help":{"text":"","markdown":"## Remediation\nUpgrade ` + "`Alpine:3.18` `openssl`" + ` to version 3.1.4-r1 or higher.\n"},"properties":{"tags":["security","CWE-787","apk"]}}]}},
		"results":[{"ruleId":"SNYK-ALPINE318-OPENSSL-6032386","level":"error","message":{"text":"This file introduces a vulnerable openssl package with a high severity vulnerability."},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"Dockerfile"},"region":{"startLine":1}},"logicalLocations":[{"fullyQualifiedName":"openssl/libcrypto3@3.1.2-r0"}]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			p := fs[0].Package
			if p.Name != "openssl/libcrypto3" || p.InstalledVersion != "3.1.2-r0" || p.Ecosystem != "alpine" || !slices.Equal(p.FixedVersions, []string{"3.1.4-r1"}) {
				t.Errorf("package %+v", p)
			}
		}},
	// Trivy 0.38.1 image scan (ortelius/ms-validate-user
	// trivy-results.sarif): no run properties, the URI is the image
	// repository, the package type only in the apk version.
	{"trivy os package without image name", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy","version":"0.38.1","rules":[
		{"id":"CVE-2023-0464","name":"OsPackageVulnerability","shortDescription":{"text":"openssl: Denial of service by excessive resource usage in verifying X509 policy constraints"},
		 "help":{"text":"Vulnerability CVE-2023-0464\nSeverity: MEDIUM\nPackage: libssl3\nFixed Version: 3.1.0-r1\nLink: [CVE-2023-0464](https://avd.aquasec.com/nvd/cve-2023-0464)"},
		 "properties":{"precision":"very-high","security-severity":"5.9","tags":["vulnerability","security","MEDIUM"]}}]}},
		"results":[{"ruleId":"CVE-2023-0464","ruleIndex":0,"level":"warning","message":{"text":"Package: libcrypto3\nInstalled Version: 3.1.0-r0\nVulnerability CVE-2023-0464\nSeverity: MEDIUM\nFixed Version: 3.1.0-r1\nLink: [CVE-2023-0464](https://avd.aquasec.com/nvd/cve-2023-0464)"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"ortelius/ms-validate-user","uriBaseId":"ROOTPATH"},"region":{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1}},"message":{"text":"ortelius/ms-validate-user: libcrypto3@3.1.0-r0"}}]}],
		"originalUriBaseIds":{"ROOTPATH":{"uri":"file:///"}}}]}`,
		func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if p := f.Package; p.Name != "libcrypto3" || p.Ecosystem != "alpine" || !slices.Equal(p.FixedVersions, []string{"3.1.0-r1"}) {
				t.Errorf("package %+v", p)
			}
			if f.Location.Path != "" || f.Location.Image != "ortelius/ms-validate-user" {
				t.Errorf("location %+v, want the image and no path", f.Location)
			}
		}},
	// Trivy's old SARIF template: the URI is the JSON report's target
	// "image (os version)", the rule name carries the OS family.
	{"trivy os package as image (os version)", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy","rules":[
		{"id":"CVE-2019-1549","name":"OS Package Vulnerability (Alpine)","shortDescription":{"text":"CVE-2019-1549"},
		 "help":{"text":"Vulnerability CVE-2019-1549\nSeverity: MEDIUM\nPackage: libssl1.1\nInstalled Version: 1.1.1c-r0\nFixed Version: 1.1.1d-r0\nLink: [CVE-2019-1549](https://avd.aquasec.com/nvd/cve-2019-1549)"},
		 "properties":{"tags":["vulnerability","MEDIUM"]}}]}},
		"results":[{"ruleId":"CVE-2019-1549","ruleIndex":0,"level":"warning","message":{"text":"OpenSSL 1.1.1 introduced a rewritten random number generator."},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"library/alpine:3.10 (alpine 3.10.2)","uriBaseId":"ROOTPATH"},"region":{"startLine":1}}}]}],
		"originalUriBaseIds":{"ROOTPATH":{"uri":"file:///"}}}]}`,
		func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if p := f.Package; p.Name != "libssl1.1" || p.InstalledVersion != "1.1.1c-r0" || p.Ecosystem != "alpine" {
				t.Errorf("package %+v", p)
			}
			if f.Location.Path != "" || f.Location.Image != "library/alpine:3.10" {
				t.Errorf("location %+v, want image library/alpine:3.10 and no path", f.Location)
			}
		}},
	// A language package inside an image (Trivy 0.50.2,
	// ministryofjustice/james-typescript-test): the in-image path stays
	// the path and the image comes from the run, as in Trivy's JSON.
	{"trivy language package in an image", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy","version":"0.50.2","rules":[
		{"id":"CVE-2024-45590","name":"LanguageSpecificPackageVulnerability","shortDescription":{"text":"body-parser: Denial of Service"},
		 "help":{"text":"Vulnerability CVE-2024-45590\nSeverity: HIGH\nPackage: body-parser\nFixed Version: 1.20.3"},"properties":{"tags":["vulnerability","security","HIGH"]}}]}},
		"results":[{"ruleId":"CVE-2024-45590","ruleIndex":0,"level":"error","message":{"text":"Package: body-parser\nInstalled Version: 1.20.2\nVulnerability CVE-2024-45590\nSeverity: HIGH\nFixed Version: 1.20.3"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"usr/local/lib/node_modules/body-parser/package.json","uriBaseId":"ROOTPATH"},"region":{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1}}}]}],
		"originalUriBaseIds":{"ROOTPATH":{"uri":"file:///"}},"properties":{"imageName":"quay.io/hmpps/james-typescript-test:latest"}}]}`,
		func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if f.Package.Ecosystem != "npm" || f.Location.Path != "usr/local/lib/node_modules/body-parser/package.json" || f.Location.Image != "quay.io/hmpps/james-typescript-test:latest" {
				t.Errorf("package %+v at %+v", f.Package, f.Location)
			}
		}},
	// Gitleaks v7.4.0 (DefectDojo's unittests/scans/sarif/gitleaks_7.5.0.sarif):
	// no ruleId, the rule named in the message, the whole line as the
	// snippet and the secret as properties.offender, next to commit
	// metadata (here made up) that must not reach the finding.
	{"gitleaks v7 without ruleId", `{"$schema":"https://schemastore.azurewebsites.net/schemas/json/sarif-2.1.0-rtm.5.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"Gitleaks","semanticVersion":"v7.4.0",
		"rules":[{"id":"AWS Access Key","name":"AWS Access Key"},{"id":"Asymmetric Private Key","name":"Asymmetric Private Key"}]}},
		"results":[{"message":{"text":"AWS Access Key secret detected"},
		 "properties":{"commit":"6d127980966808f7413935678e079dcd7fedf9c2","offender":"AKIAIOSFODNN7EXAMPLE","date":"2021-07-15T22:00:32+07:00","author":"Jane Example","email":"jane@example.test","commitMessage":"add fixtures\r\n","repo":"."},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"unittests/scans/report.json"},"region":{"startLine":13,"snippet":{"text":"      \"raw_source_code_extract\": \"AKIAIOSFODNN7EXAMPLE\","}}}}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			f := fs[0]
			if f.Tools[0].RuleID != "AWS Access Key" || f.Title != "AWS Access Key" || f.Kind != finding.KindSecret {
				t.Errorf("rule %q title %q kind %s", f.Tools[0].RuleID, f.Title, f.Kind)
			}
			if !slices.Equal(f.Secrets, []string{"AKIAIOSFODNN7EXAMPLE"}) || f.Properties["commit"] != "6d127980966808f7413935678e079dcd7fedf9c2" {
				t.Errorf("secrets %v properties %v", f.Secrets, f.Properties)
			}
			if out := goldenString(f); strings.Contains(out, "Jane Example") || strings.Contains(out, "jane@example.test") || strings.Contains(out, "add fixtures") {
				t.Errorf("commit metadata leaked: %s", out)
			}
		}},
	// Dockle 0.3.15 (DefectDojo's unittests/scans/sarif/dockle_0_3_15.sarif):
	// CIS-DI checkpoints without locations; they are image configuration,
	// not code and not "other".
	{"dockle", `{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0-rtm.5.json","runs":[{"tool":{"driver":{"informationUri":"https://github.com/goodwithtech/dockle","name":"Dockle",
		"rules":[{"id":"CIS-DI-0010","shortDescription":{"text":"Do not store credential in ENVIRONMENT vars/files"},"help":{"text":"https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#CIS-DI-0010"}},
		 {"id":"CIS-DI-0006","shortDescription":{"text":"Add HEALTHCHECK instruction to the container image"},"help":{"text":"https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#CIS-DI-0006"}}]}},
		"results":[{"ruleId":"CIS-DI-0010","level":"error","message":{"text":"Suspicious ENV key found : DD_ADMIN_PASSWORD"}},
		 {"ruleId":"CIS-DI-0006","level":"note","message":{"text":"not found HEALTHCHECK statement"}}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			for _, f := range fs {
				if f.Kind != finding.KindConfig || f.Tools[0].Name != "dockle" {
					t.Errorf("%s: kind %s tool %q, want config from dockle", f.Tools[0].RuleID, f.Kind, f.Tools[0].Name)
				}
			}
		}},
	// KICS SARIF from its documented container run, which mounts the
	// scanned directory at /path (the e2e expectations of Checkmarx/kics
	// show the same in their JSON).
	{"kics container mount", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"KICS","version":"development","rules":[
		{"id":"487f4be7-3fd9-4506-a07a-eae252180c08","name":"Passwords And Secrets - Generic Password","shortDescription":{"text":"Passwords And Secrets - Generic Password"},"defaultConfiguration":{"level":"error"},"properties":{"cwe":"798"}}]}},
		"results":[{"ruleId":"487f4be7-3fd9-4506-a07a-eae252180c08","ruleIndex":0,"kind":"fail","message":{"text":"Hardcoded secret key appears in source"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"/path/e2e/fixtures/samples/positive.yaml"},"region":{"startLine":7}}}]},
		 {"ruleId":"487f4be7-3fd9-4506-a07a-eae252180c08","ruleIndex":0,"kind":"fail","message":{"text":"Hardcoded secret key appears in source"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"\\path\\e2e\\fixtures\\samples\\terraform.tf"},"region":{"startLine":5}}}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			for i, want := range []string{"e2e/fixtures/samples/positive.yaml", "e2e/fixtures/samples/terraform.tf"} {
				if fs[i].Location.Path != want || fs[i].Kind != finding.KindConfig {
					t.Errorf("result %d: %s at %q, want config at %q", i, fs[i].Kind, fs[i].Location.Path, want)
				}
			}
		}},
}

func TestSARIFProducerCases(t *testing.T) {
	for _, tt := range producerCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, err := parseString(t, tt.doc)
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

// osAlpine checks that every finding is an Alpine package of image.
func osAlpine(image string) func(t *testing.T, fs []finding.Finding) {
	return func(t *testing.T, fs []finding.Finding) {
		for _, f := range fs {
			if f.Package == nil || f.Package.Ecosystem != "alpine" || f.Location.Path != "" || f.Location.Image != image {
				t.Errorf("%s: package %+v at %+v, want an alpine package of %s", f.Tools[0].RuleID, f.Package, f.Location, image)
			}
		}
	}
}

// TestSARIFCorpusFacts checks facts read by hand from real reports of the
// corpus, so a reader that drifts from what producers write fails here.
func TestSARIFCorpusFacts(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, fs []finding.Finding)
	}{
		{"snyk/langfuse-snyk-container-1.1297.1-trimmed.sarif", func(t *testing.T, fs []finding.Finding) {
			want := map[string][]string{"brace-expansion@2.0.1": {"1.1.12", "2.0.2", "3.0.1", "4.0.1"}, "cross-spawn@7.0.3": {"6.0.6", "7.0.5"}}
			for _, f := range fs {
				p := f.Package
				if p == nil || p.Ecosystem != "npm" || !slices.Equal(p.FixedVersions, want[p.Name+"@"+p.InstalledVersion]) {
					t.Errorf("%s: package %+v", f.Tools[0].RuleID, p)
				}
			}
		}},
		{"snyk/snyk-fixtures-npm-two-vuln-deps.sarif", func(t *testing.T, fs []finding.Finding) {
			f := find(t, fs, func(f finding.Finding) bool { return f.Tools[0].RuleID == "SNYK-JS-BL-608877" })
			if p := f.Package; p.Name != "bl" || !slices.Equal(p.FixedVersions, []string{"2.2.1", "3.0.1", "4.0.3", "1.2.3"}) {
				t.Errorf("bl: %+v", p)
			}
		}},
		{"trivy/ortelius-ms-validate-user-0.38.1.sarif", osAlpine("ortelius/ms-validate-user")},
		{"dockle/defectdojo-dockle-0.3.15.sarif", func(t *testing.T, fs []finding.Finding) {
			for _, f := range fs {
				if f.Kind != finding.KindConfig {
					t.Errorf("%s: kind %s, want config", f.Tools[0].RuleID, f.Kind)
				}
			}
		}},
		{"gitleaks/defectdojo-gitleaks-7.4.0.sarif", func(t *testing.T, fs []finding.Finding) {
			for _, f := range fs {
				if r := f.Tools[0].RuleID; (r != "AWS Access Key" && r != "Asymmetric Private Key") || len(f.Secrets) != 1 || strings.Contains(f.Secrets[0], "raw_source_code_extract") {
					t.Errorf("rule %q secrets %q: want the rule from the message and the offender as the secret", f.Tools[0].RuleID, f.Secrets)
				}
			}
		}},
		{"trivy/trivy-0.40-alpine-3.10.sarif", osAlpine("testdata/fixtures/images/alpine-310.tar.gz")},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			fs, err := parseFile(t, filepath.Join(corpusDir, filepath.FromSlash(tt.file)))
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
