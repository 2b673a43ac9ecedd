package evaluate_test

import (
	"reflect"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
)

func bp(b bool) *bool { return &b }

func TestScoreFacts(t *testing.T) {
	t.Parallel()
	dep := dataset.Facts{Package: "com.google.guava:guava", FixedVersion: "32.0.0-android", CWE: []string{"CWE-379", "CWE-552"}, Location: "webauthn-server/gradle.lockfile"}
	code := dataset.Facts{CWE: []string{"CWE-285"}, Location: "webauthn-server/src/main/kotlin/com/x/OpenTelemetryTracer.kt"}
	web := dataset.Facts{CWE: []string{"CWE-693"}, Location: "http://localhost:8080"}
	tests := []struct {
		name        string
		facts       dataset.Facts
		answer      string
		fv, cwe, lo *bool
	}{
		{"dependency all named", dep, "Upgrade com.google.guava:guava to 32.0.0-android in webauthn-server/gradle.lockfile (CWE-379).", bp(true), bp(true), bp(true)},
		{"artifact id and file name suffice", dep, "Bump guava to 32.0.0-android; see gradle.lockfile. cwe 552", bp(true), bp(true), bp(true)},
		{"wrong version", dep, "Upgrade guava to 31.1 in gradle.lockfile.", bp(false), bp(false), bp(true)},
		{"version without package", dep, "Upgrade to 32.0.0-android.", bp(false), bp(false), bp(false)},
		{"version prefix v and padded cwe", dataset.Facts{Package: "lodash", FixedVersion: "4.17.21", CWE: []string{"CWE-79"}}, "Update lodash to v4.17.21 (CWE-079).", bp(true), bp(true), nil},
		{"trailing zero version", dataset.Facts{Package: "x", FixedVersion: "2.15.0"}, "upgrade x to 2.15", bp(true), nil, nil},
		{"version is a prefix of another", dataset.Facts{Package: "x", FixedVersion: "2.1"}, "upgrade x to 2.10", bp(false), nil, nil},
		{"code path by file name", code, "In OpenTelemetryTracer.kt the check is missing; this is CWE-285.", nil, bp(true), bp(true)},
		{"code path by partial dirs", code, "See com/x/OpenTelemetryTracer.kt", nil, bp(false), bp(true)},
		{"file name glued to a longer name", code, "See MyOpenTelemetryTracer.kt", nil, bp(false), bp(false)},
		{"other cwe", code, "This is CWE-2850.", nil, bp(false), bp(false)},
		{"url scheme and slash ignored", web, "Set the header on https://localhost:8080/ (CWE 693).", nil, bp(true), bp(true)},
		{"other url", web, "See http://localhost:8081", nil, bp(false), bp(false)},
		{"maven qualifier after a dot", dataset.Facts{Package: "io.netty:netty-codec-http2", FixedVersion: "4.1.124.Final"}, "Upgrade io.netty:netty-codec-http2 from 4.1.106.Final to 4.1.124.Final.", bp(true), nil, nil},
		{"maven qualifier, other version", dataset.Facts{Package: "io.netty:netty-codec-http2", FixedVersion: "4.1.124.Final"}, "Upgrade netty-codec-http2 to 4.2.4.Final.", bp(false), nil, nil},
		{"maven qualifier left out", dataset.Facts{Package: "io.netty:netty-codec-http2", FixedVersion: "4.1.124.Final"}, "Upgrade netty-codec-http2 to 4.1.124.", bp(false), nil, nil},
		{"no facts", dataset.Facts{}, "anything", nil, nil, nil},
		// A fix that says no release fixes it contradicts the version.
		{"right version, then no fixed release", dataset.Facts{Package: "ascii", FixedVersion: "0.9.3"},
			"ascii: upgrade from 0.8.7 to 0.9.3.\n1. Until a fixed release exists, limit exposure.", bp(false), nil, nil},
		{"right version, no fixed version known", dataset.Facts{Package: "ascii", FixedVersion: "0.9.3"},
			"GHSA-x in ascii: no fixed version is known. Upgrade ascii to 0.9.3.", bp(false), nil, nil},
		// The upgrade sentence's release line must be the fix's.
		{"later major called the installed line", dataset.Facts{Package: "hoek", FixedVersion: "4.2.1", FixLine: "other-line"},
			"Upgrade hoek from 2.16.3 to 4.2.1, the lowest fixed version on the installed release line; it fixes CVE-2018-3728.", bp(false), nil, nil},
		{"later major said so", dataset.Facts{Package: "hoek", FixedVersion: "4.2.1", FixLine: "other-line"},
			"Upgrade hoek from 2.16.3 to 4.2.1, the lowest fixed version above the installed one; it fixes CVE-2018-3728. No fix exists on the installed release line.", bp(true), nil, nil},
		{"patch called a later line", dataset.Facts{Package: "braces", FixedVersion: "3.0.3", FixLine: "same-line"},
			"Upgrade braces from 3.0.2 to 3.0.3. No fix exists on the installed release line, so this moves to a later minor or major release.", bp(false), nil, nil},
		{"patch called the lowest above, true of a patch too", dataset.Facts{Package: "braces", FixedVersion: "3.0.3", FixLine: "same-line"},
			"Upgrade braces from 3.0.2 to 3.0.3, the lowest fixed version above the installed one.", bp(true), nil, nil},
		{"later major on another word for the installed line", dataset.Facts{Package: "hoek", FixedVersion: "4.2.1", FixLine: "other-line"},
			"Upgrade hoek from 2.16.3 to 4.2.1, the lowest fixed version on the installed release track.", bp(false), nil, nil},
		{"later major on its release line", dataset.Facts{Package: "hoek", FixedVersion: "4.2.1", FixLine: "other-line"},
			"4.2.1 is the lowest fixed version on its release line.", bp(false), nil, nil},
		{"patch with no fixed build", dataset.Facts{Package: "libssl3", FixedVersion: "3.0.2-0ubuntu1.15", FixLine: "same-line"},
			"Upgrade libssl3 to 3.0.2-0ubuntu1.15. No fixed build of the installed version exists.", bp(false), nil, nil},
		{"patch said so", dataset.Facts{Package: "braces", FixedVersion: "3.0.3", FixLine: "same-line"},
			"Upgrade braces from 3.0.2 to 3.0.3, the lowest fixed version on the installed release line.", bp(true), nil, nil},
		{"no line claim", dataset.Facts{Package: "braces", FixedVersion: "3.0.3", FixLine: "same-line"},
			"Upgrade braces to 3.0.3.", bp(true), nil, nil},
		{"OS package called the installed build", dataset.Facts{Package: "libcrypto3", FixedVersion: "3.1.4-r1", FixLine: "other-line"},
			"Upgrade libcrypto3 from 3.1.3-r0 to 3.1.4-r1, the lowest fixed version on the installed release line.", bp(false), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := evaluate.Score(tt.answer, "", tt.facts)
			for _, c := range []struct {
				name      string
				got, want *bool
			}{{"fixed_version", s.FixedVersion, tt.fv}, {"cwe", s.CWE, tt.cwe}, {"location", s.Location, tt.lo}} {
				if (c.got == nil) != (c.want == nil) || c.got != nil && *c.got != *c.want {
					t.Errorf("%s = %v, want %v", c.name, show(c.got), show(c.want))
				}
			}
		})
	}
}

func show(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestUngrounded(t *testing.T) {
	t.Parallel()
	prompt := "[HIGH] trivy CVE-2022-22965 in org.springframework:spring-beans 5.3.17 (fixed in 5.3.18; netty 4.1.118.Final)\n" +
		"at webauthn-server/build.gradle.kts line 12. See https://nvd.nist.gov/vuln/detail/CVE-2022-22965"
	facts := dataset.Facts{CWE: []string{"CWE-94"}, FixedVersion: "5.3.18", Location: "webauthn-server/build.gradle.kts"}
	tests := []struct {
		name, answer string
		want         []string
	}{
		{"all grounded", "CVE-2022-22965 (CWE-94) affects spring-beans 5.3.17; upgrade to 5.3.18 in webauthn-server/build.gradle.kts.", []string{}},
		{"cwe from facts only", "This is CWE-094.", []string{}},
		{"invented cve", "Also see CVE-2021-44228.", []string{"CVE-2021-44228"}},
		{"invented ghsa and cwe", "GHSA-abcd-efgh-ijkl, CWE-79", []string{"CWE-79", "GHSA-ABCD-EFGH-IJKL"}},
		{"invented version", "Upgrade to 5.4.0 or v6.1.", []string{"5.4.0", "v6.1"}},
		{"score and protocol are not versions", "CVSS 9.8; use TLS 1.2.", []string{}},
		{"invented path", "Edit src/main/resources/application.yml and app/pom.xml.", []string{"app/pom.xml", "src/main/resources/application.yml"}},
		{"a bare build file name is a kind of file", "Edit pom.xml or build.gradle.kts.", []string{}},
		{"invented source file", "See Main.kt.", []string{"Main.kt"}},
		{"url parts are not judged as paths, the url is", "Read https://example.com/a/b.html about 7.7.7.", []string{"7.7.7", "https://example.com/a/b.html"}},
		{"url from the prompt, other scheme and slash", "See http://NVD.nist.gov/vuln/detail/CVE-2022-22965/.", []string{}},
		{"canonical pages of grounded ids", "https://cwe.mitre.org/data/definitions/94.html https://github.com/advisories/GHSA-36p3-wjmg-h94x", []string{"https://github.com/advisories/GHSA-36p3-wjmg-h94x"}},
		{"canonical page of a fact's cwe", "https://cwe.mitre.org/data/definitions/94.html", []string{}},
		{"invented advisory url", "Advisory: https://spring.io/security/cve-2022-22965", []string{"https://spring.io/security/cve-2022-22965"}},
		{"version equal modulo trailing zero", "Upgrade to 5.3.18.0", []string{}},
		{"maven qualifier grounded", "Netty 4.1.118.Final is fixed; so is 4.1.118.Final.", []string{}},
		{"maven qualifier invented", "Upgrade to 4.1.119.Final.", []string{"4.1.119.Final"}},
		{"duplicates once", "CVE-2020-0001 and CVE-2020-0001", []string{"CVE-2020-0001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := evaluate.Ungrounded(tt.answer, prompt, facts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Ungrounded(%q) = %q, want %q", tt.answer, got, tt.want)
			}
		})
	}
}
