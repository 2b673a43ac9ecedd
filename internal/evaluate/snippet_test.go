package evaluate_test

import (
	"reflect"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// The answers below have the shape of the dataset's reference answers and
// of what the tuned model wrote in issue 16: an "In short" line, then the
// fix with its copy-paste snippets.
const logbackHead = "**In short**\nCVE-2024-12801 in ch.qos.logback:logback-core at webauthn-server/gradle.lockfile: upgrade from 1.3.5 to 1.3.15 (CWE-918).\n\n" +
	"**Fix**\nUpgrade ch.qos.logback:logback-core from 1.3.5 to 1.3.15, the lowest fixed version on the installed release line.\n"

// gmsHead opens an answer for the finding whose tuned answer wrote its
// Gradle coordinate under a made-up group, "android-gms".
const gmsHead = "**In short**\nCVE-2022-2390 in com.google.android.gms:play-services-basement at app/build.gradle: upgrade from 18.0.1 to 18.0.2.\n\n" +
	"**Fix**\nUpgrade com.google.android.gms:play-services-basement from 18.0.1 to 18.0.2.\n"

func TestScoreSnippets(t *testing.T) {
	t.Parallel()
	logback := dataset.Facts{Package: "ch.qos.logback:logback-core", FixedVersion: "1.3.15", InstalledVersion: "1.3.5",
		CWE: []string{"CWE-918"}, Location: "webauthn-server/gradle.lockfile"}
	alpine := dataset.Facts{Package: "libssl1.1", FixedVersion: "1.1.1d-r2", InstalledVersion: "1.1.1b-r1", Location: "alpine-39.tar.gz"}
	lodash := dataset.Facts{Package: "lodash", FixedVersion: "4.17.21", InstalledVersion: "4.17.20", Location: "package-lock.json"}
	gms := dataset.Facts{Package: "com.google.android.gms:play-services-basement", FixedVersion: "18.0.2", InstalledVersion: "18.0.1",
		Location: "app/build.gradle"}
	angular := dataset.Facts{Package: "@angular/core", FixedVersion: "17.3.1", InstalledVersion: "17.3.0", Location: "package-lock.json"}
	xnet := dataset.Facts{Package: "golang.org/x/net", FixedVersion: "0.17.0", InstalledVersion: "0.15.0", Location: "go.mod"}
	quill := dataset.Facts{Package: "gitlab.example.com/quill/quill", FixedVersion: "0.12.0", InstalledVersion: "0.9.0", Location: "go.mod"}
	classic := dataset.Facts{Package: "ch.qos.logback:logback-classic", FixedVersion: "1.3.12", InstalledVersion: "1.3.5",
		Location: "webauthn-server/gradle.lockfile"}
	netty := dataset.Facts{Package: "io.netty:netty-codec-http2", FixedVersion: "4.1.124.Final", InstalledVersion: "4.1.106.Final",
		Location: "webauthn-test-credentials-service/gradle.lockfile"}
	requests := dataset.Facts{Package: "requests", FixedVersion: "2.31.0", InstalledVersion: "2.28.0", Location: "requirements.txt"}
	rack := dataset.Facts{Package: "rack", FixedVersion: "2.2.8.1", InstalledVersion: "2.2.6", Location: "Gemfile.lock"}
	const (
		classicHead  = "**In short**\nCVE-2023-6378 in ch.qos.logback:logback-classic at webauthn-server/gradle.lockfile: upgrade from 1.3.5 to 1.3.12.\n\n**Fix**\n"
		nettyHead    = "**In short**\nCVE-2025-55163 in io.netty:netty-codec-http2: upgrade from 4.1.106.Final to 4.1.124.Final (CWE-770).\n\n**Fix**\n"
		lodashHead   = "**In short**\nCVE-2021-23337 in lodash at package-lock.json: upgrade from 4.17.20 to 4.17.21.\n\n**Fix**\n"
		requestsHead = "**In short**\nCVE-2023-32681 in requests at requirements.txt: upgrade from 2.28.0 to 2.31.0.\n\n**Fix**\n"
		rackHead     = "**In short**\nCVE-2024-26146 in rack at Gemfile.lock: upgrade from 2.2.6 to 2.2.8.1.\n\n**Fix**\n"
	)
	tests := []struct {
		name        string
		facts       dataset.Facts
		answer      string
		fv, snippet *bool
	}{
		{"gradle snippet pins the installed version under a correct first line", logback,
			logbackHead + "gradle-kotlin (build.gradle.kts):\n```\nimplementation(\"ch.qos.logback:logback-core:1.3.5\")\n```\n",
			bp(false), bp(false)},
		{"gradle snippets pin the fixed version", logback,
			logbackHead + "```\nimplementation(\"ch.qos.logback:logback-core:1.3.15\")\n```\n```\ndependencies {\n    constraints {\n" +
				"        implementation(\"ch.qos.logback:logback-core:1.3.15\") {\n            because(\"CVE-2024-12801\")\n        }\n    }\n}\n```\n",
			bp(true), bp(true)},
		{"one good snippet, one with the installed version", logback,
			logbackHead + "```\nimplementation 'ch.qos.logback:logback-core:1.3.15'\n```\n```\nimplementation 'ch.qos.logback:logback-core:1.3.5'\n```\n",
			bp(false), bp(false)},
		{"snippet cut by the token limit inside the block", logback,
			logbackHead + "```\ndependencies {\n    constraints {\n        implementation(\"ch.qos.logback:logback-core:1.3.5\") {\n",
			bp(false), bp(false)},
		{"installed version in a comment of the snippet", logback,
			logbackHead + "```\n// was 1.3.5\nimplementation(\"ch.qos.logback:logback-core:1.3.15\")\n```\n",
			bp(false), bp(false)},
		{"maven pom with the version on the next line", logback,
			logbackHead + "```xml\n<dependency>\n  <groupId>ch.qos.logback</groupId>\n  <artifactId>logback-core</artifactId>\n  <version>1.3.15</version>\n</dependency>\n```\n",
			bp(true), bp(true)},
		{"diff: the removed line shows what is replaced", logback,
			logbackHead + "```diff\n-implementation(\"ch.qos.logback:logback-core:1.3.5\")\n+implementation(\"ch.qos.logback:logback-core:1.3.15\")\n```\n",
			bp(true), bp(true)},
		{"snippet of another package only", logback,
			logbackHead + "```\nimplementation(\"ch.qos.logback:logback-classic:1.3.5\")\n```\n",
			bp(true), nil},
		{"verification command without a version", logback,
			logbackHead + "**How to verify**\n- ./gradlew dependencyInsight --dependency logback-core shows the version Gradle resolves.\n```\n./gradlew dependencyInsight --dependency logback-core\n```\n",
			bp(true), nil},
		{"no snippet", logback, logbackHead, bp(true), nil},
		{"first line contradicts the fix", logback,
			"**In short**\nCVE-2024-12801 in ch.qos.logback:logback-core: upgrade from 1.3.5 to 1.4.0 (CWE-918).\n\n**Fix**\nUpgrade to 1.3.15.\n```\nimplementation(\"ch.qos.logback:logback-core:1.3.15\")\n```\n",
			bp(false), bp(true)},
		{"first line names only the installed version", logback,
			"**In short**\nUpgrade ch.qos.logback:logback-core to 1.3.5.\n\n**Fix**\nUpgrade logback-core to 1.3.15.\n",
			bp(false), nil},
		{"first line without a version contradicts nothing", logback,
			"**In short**\nCVE-2024-12801 in ch.qos.logback:logback-core: upgrade it (CWE-918).\n\n**Fix**\nUpgrade logback-core to 1.3.15.\n",
			bp(true), nil},
		{"npm command with the fixed version", lodash,
			"**In short**\nCVE-2021-23337 in lodash at package-lock.json: upgrade from 4.17.20 to 4.17.21.\n\n**Fix**\n```\nnpm install lodash@4.17.21\n```\n",
			bp(true), bp(true)},
		{"npm command in prose with the installed version", lodash,
			"**In short**\nCVE-2021-23337 in lodash: upgrade from 4.17.20 to 4.17.21.\n\n**Fix**\nRun `npm install lodash@4.17.20` and commit package-lock.json.\n",
			bp(false), bp(false)},
		{"bare upgrade command line", lodash,
			"In short: upgrade lodash to 4.17.21.\nThen: npm install lodash@^4.17.21 --save\n",
			bp(true), bp(true)},
		{"package.json pin with a range", lodash,
			"**In short**\nUpgrade lodash from 4.17.20 to 4.17.21.\n```json\n{\n  \"dependencies\": {\n    \"lodash\": \"^4.17.21\"\n  }\n}\n```\n",
			bp(true), bp(true)},
		{"inline code that describes the installed version is no snippet", lodash,
			"**In short**\nUpgrade lodash from 4.17.20 to 4.17.21: the installed `lodash@4.17.20` is vulnerable.\n",
			bp(true), nil},
		{"image tag in the first line is the location", dataset.Facts{Package: "openssl", FixedVersion: "3.1.4-r0", InstalledVersion: "3.1.2-r0", Location: "alpine:3.18.4"},
			"**In short**\nCVE-2023-5678 in openssl at alpine:3.18.4: upgrade from 3.1.2-r0 to 3.1.4-r0.\n```\napk add --upgrade openssl=3.1.4-r0\n```\n",
			bp(true), bp(true)},
		{"alpine letter-suffixed version, fixed", alpine,
			"**In short**\nCVE-2019-1551 in libssl1.1 at alpine-39.tar.gz: upgrade from 1.1.1b-r1 to 1.1.1d-r2 (CWE-200).\n```\nRUN apk add --no-cache --upgrade libssl1.1=1.1.1d-r2\n```\n",
			bp(true), bp(true)},
		{"alpine letter-suffixed version, installed pinned", alpine,
			"**In short**\nCVE-2019-1551 in libssl1.1: upgrade from 1.1.1b-r1 to 1.1.1d-r2.\n```\nRUN apk add --no-cache --upgrade libssl1.1=1.1.1b-r1\n```\n",
			bp(false), bp(false)},
		{"a version that stops short of the letter is another version", alpine,
			"**In short**\nUpgrade libssl1.1 to 1.1.1.\n", bp(false), nil},
		{"rpm epoch in the first line and the command", dataset.Facts{Package: "openssl-libs", FixedVersion: "1:1.0.2k-19.el7", InstalledVersion: "1:1.0.2k-16.el7", Location: "centos-7.tar.gz"},
			"**In short**\nCVE-2018-0734 in openssl-libs at centos-7.tar.gz: upgrade from 1:1.0.2k-16.el7 to 1:1.0.2k-19.el7 (CWE-327).\n```\nRUN yum install -y openssl-libs-1:1.0.2k-19.el7\n```\n",
			bp(true), bp(true)},
		{"no fixed version: neither is scored", dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20"},
			"```\nnpm install lodash@4.17.20\n```\n", nil, nil},

		// The coordinate is the package's whole name: an artifact under
		// another group, a name under another scope or module path, would
		// not resolve however right its version.
		{"gradle coordinate with the package's group", gms,
			gmsHead + "```\nimplementation(\"com.google.android.gms:play-services-basement:18.0.2\")\n```\n", bp(true), bp(true)},
		{"gradle coordinate with another group", gms,
			gmsHead + "```\nimplementation(\"android-gms:play-services-basement:18.0.2\")\n```\n", bp(false), bp(false)},
		{"the group compared without case", gms,
			gmsHead + "```\nimplementation 'Com.Google.Android.GMS:play-services-basement:18.0.2'\n```\n", bp(true), bp(true)},
		{"one snippet with the group, one with another", gms,
			gmsHead + "```\nimplementation(\"com.google.android.gms:play-services-basement:18.0.2\")\n```\n" +
				"```\nimplementation 'gms:play-services-basement:18.0.2'\n```\n", bp(false), bp(false)},
		{"maven pom with the package's groupId", gms,
			gmsHead + "```xml\n<dependency>\n  <groupId>com.google.android.gms</groupId>\n  <artifactId>play-services-basement</artifactId>\n  <version>18.0.2</version>\n</dependency>\n```\n",
			bp(true), bp(true)},
		{"maven pom with another groupId", gms,
			gmsHead + "```xml\n<dependency>\n  <groupId>com.google.android</groupId>\n  <artifactId>play-services-basement</artifactId>\n  <version>18.0.2</version>\n</dependency>\n```\n",
			bp(false), bp(false)},
		{"maven pom: another dependency's groupId is not the artifact's", gms,
			gmsHead + "```xml\n<dependency>\n  <groupId>com.example</groupId>\n  <artifactId>other</artifactId>\n</dependency>\n<dependency>\n" +
				"  <groupId>com.google.android.gms</groupId>\n  <artifactId>play-services-basement</artifactId>\n  <version>18.0.2</version>\n</dependency>\n```\n",
			bp(true), bp(true)},
		{"gradle map notation with another group", gms,
			gmsHead + "```\nimplementation group: 'com.google.gms', name: 'play-services-basement', version: '18.0.2'\n```\n", bp(false), bp(false)},
		{"sbt module with another group", gms,
			gmsHead + "```\nlibraryDependencies += \"com.google.gms\" % \"play-services-basement\" % \"18.0.2\"\n```\n", bp(false), bp(false)},
		{"sbt module with the package's group", gms,
			gmsHead + "```\nlibraryDependencies += \"com.google.android.gms\" % \"play-services-basement\" % \"18.0.2\"\n```\n", bp(true), bp(true)},
		{"the installed version under the package's group", gms,
			gmsHead + "```\nimplementation(\"com.google.android.gms:play-services-basement:18.0.1\")\n```\n", bp(false), bp(false)},
		{"the artifact alone in prose outside a snippet", gms,
			gmsHead + "Bump play-services-basement to 18.0.2 in app/build.gradle.\n", bp(true), nil},
		{"the artifact alone in prose beside a right snippet", gms,
			gmsHead + "Bump play-services-basement to 18.0.2:\n```\nimplementation(\"com.google.android.gms:play-services-basement:18.0.2\")\n```\n", bp(true), bp(true)},
		{"another group in a command without a version is not scored", gms,
			gmsHead + "```\n./gradlew dependencyInsight --dependency android-gms:play-services-basement\n```\n", bp(true), nil},
		{"npm scope", angular,
			"**In short**\nUpgrade @angular/core from 17.3.0 to 17.3.1.\n```\nnpm install @angular/core@17.3.1\n```\n", bp(true), bp(true)},
		{"npm package.json under the scope", angular,
			"**In short**\nUpgrade @angular/core from 17.3.0 to 17.3.1.\n```json\n\"@angular/core\": \"^17.3.1\"\n```\n", bp(true), bp(true)},
		{"npm name under another scope", angular,
			"**In short**\nUpgrade @angular/core from 17.3.0 to 17.3.1.\n```\nnpm install @angularjs/core@17.3.1\n```\n", bp(false), bp(false)},
		{"go module path", xnet,
			"**In short**\nUpgrade golang.org/x/net from 0.15.0 to 0.17.0.\n```\ngo get golang.org/x/net@v0.17.0\n```\n", bp(true), bp(true)},
		{"go module whose last part repeats its owner's", quill,
			"**In short**\nUpgrade gitlab.example.com/quill/quill from 0.9.0 to 0.12.0.\n```\ngo get gitlab.example.com/quill/quill@v0.12.0 && go mod tidy\n```\n", bp(true), bp(true)},
		{"go module under another path", xnet,
			"**In short**\nUpgrade golang.org/x/net from 0.15.0 to 0.17.0.\n```\ngo get github.com/golang/net@v0.17.0\n```\n", bp(false), bp(false)},

		// A snippet that names the package and gives it no version is
		// wrong where a version belongs (issue 16: the tuned model's
		// garbage snippets scored nothing); a command that only shows or
		// relocks versions is not scored.
		{"text that is no command names the package without a version", classic,
			classicHead + "```\npiprencabreelocalize(r'ch.qos.logback:logback-classic', 'build/gradle.lockfile')\n```\n", bp(false), bp(false)},
		{"gradle declaration without a version", logback,
			logbackHead + "```\nimplementation 'ch.qos.logback:logback-core'\n```\n", bp(false), bp(false)},
		{"gradle declaration under another group without a version", gms,
			gmsHead + "```\nimplementation 'android-gms:play-services-basement'\n```\n", bp(false), bp(false)},
		{"npm install without a version", lodash,
			lodashHead + "```\nnpm install lodash\n```\n", bp(false), bp(false)},
		{"npm install without a version in inline code", lodash,
			lodashHead + "Run `npm install lodash` and commit package-lock.json.\n", bp(false), bp(false)},
		{"npm install without a version written bare", lodash,
			lodashHead + "Then run npm install lodash.\n", bp(false), bp(false)},
		{"yarn up moves to the newest, not the fixed version", lodash,
			lodashHead + "```\nyarn up lodash\n```\n", bp(false), bp(false)},
		{"apt-get install without a version after apt-get update", dataset.Facts{Package: "openssl", FixedVersion: "3.0.11-1~deb12u2", InstalledVersion: "3.0.11-1~deb12u1", Location: "debian-12.tar"},
			"**In short**\nUpgrade openssl from 3.0.11-1~deb12u1 to 3.0.11-1~deb12u2.\n```\nRUN apt-get update && apt-get install -y --only-upgrade openssl\n```\n", bp(false), bp(false)},
		{"pip install -U without a version", requests,
			requestsHead + "```\npip install -U requests\n```\n", bp(false), bp(false)},
		{"one snippet pins, another names the package bare", logback,
			logbackHead + "```\nimplementation(\"ch.qos.logback:logback-core:1.3.15\")\n```\n```\nimplementation(\"ch.qos.logback:logback-core\")\n```\n", bp(false), bp(false)},
		{"maven dependency:tree is not scored", logback,
			logbackHead + "```\nmvn dependency:tree -Dincludes=ch.qos.logback:logback-core\n```\n", bp(true), nil},
		{"npm ls is not scored", lodash, lodashHead + "```\nnpm ls lodash --all\n```\n", bp(true), nil},
		{"pip show is not scored", requests, requestsHead + "```\npip show requests\n```\n", bp(true), nil},
		{"go list and go mod why are not scored", xnet,
			"**In short**\nUpgrade golang.org/x/net from 0.15.0 to 0.17.0.\n```\ngo list -m golang.org/x/net\ngo mod why -m golang.org/x/net\n```\n", bp(true), nil},
		{"a lock refresh within the manifest's range is not scored", lodash, lodashHead + "```\nnpm update lodash\n```\n", bp(true), nil},
		{"an install after an inspection on one line is scored", lodash,
			lodashHead + "```\nnpm ls lodash && npm install lodash\n```\n", bp(false), bp(false)},
		{"an inspection after a pinned install", lodash,
			lodashHead + "```\nnpm install lodash@4.17.21 && npm ls lodash\n```\n", bp(true), bp(true)},
		{"a comment names the package", logback,
			logbackHead + "```\n// logback-core, the fixed release\nimplementation(\"ch.qos.logback:logback-core:1.3.15\")\n```\n", bp(true), bp(true)},
		{"gradle constraint whose because() names the package", logback,
			logbackHead + "```\ndependencies {\n    constraints {\n        implementation('ch.qos.logback:logback-core:1.3.15') {\n" +
				"            because 'logback-core SSRF'\n        }\n    }\n}\n```\n", bp(true), bp(true)},
		// The reference answers' bundler changes: the Gemfile requirement,
		// then bundle update in the note's prose; a transitive gem moved
		// by bundle update alone.
		{"gemfile requirement and bundle update in prose", rack,
			rackHead + "bundler (Gemfile beside Gemfile.lock): Set the requirement in the Gemfile, then run bundle update rack.\n```\ngem 'rack', '>= 2.2.8.1'\n```\n",
			bp(true), bp(true)},
		{"bundle update of a transitive gem is not scored", rack,
			rackHead + "bundler: Update only this gem in Gemfile.lock.\n```\nbundle update rack --conservative\n```\n", bp(true), nil},
		// A bare command ends with its clause: the prose after it names
		// the package, not the command.
		{"prose after a bare command is no part of it", lodash,
			lodashHead + "npm: Add to package.json's top level and run npm install: npm overrides force lodash wherever it appears.\n```\n\"overrides\": {\n  \"lodash\": \"4.17.21\"\n}\n```\n",
			bp(true), bp(true)},

		// An install command that never names the package but glues its
		// name to other text installs nothing that resolves (issue 16).
		{"install command with the artifact glued to other text", netty,
			nettyHead + "```\ngo get golang.kts/io.netty-codec-http2\n```\n", bp(false), bp(false)},
		{"install command that names nothing like the package is not scored", netty,
			nettyHead + "```\ngo get golang.kotlin.kotlin.compiler --version 4.1.124.Final\n```\n", bp(true), nil},
		{"another package's install beside the package's own", lodash,
			lodashHead + "```\nnpm install lodash@4.17.21\nnpm install lodash.merge@4.6.2\n```\n", bp(true), bp(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := evaluate.Score(tt.answer, "", tt.facts)
			for _, c := range []struct {
				name      string
				got, want *bool
			}{{"fixed_version", s.FixedVersion, tt.fv}, {"snippet", s.Snippet, tt.snippet}} {
				if (c.got == nil) != (c.want == nil) || c.got != nil && *c.got != *c.want {
					t.Errorf("%s = %v, want %v", c.name, show(c.got), show(c.want))
				}
			}
		})
	}
}

// TestScoreUngroundedByKind: the answer's ungrounded identifiers are
// counted by kind, URLs included.
func TestScoreUngroundedByKind(t *testing.T) {
	t.Parallel()
	prompt := "CVE-2024-12801 in ch.qos.logback:logback-core 1.3.5, fixed in 1.3.15, at webauthn-server/gradle.lockfile"
	answer := "Upgrade to 1.3.16 (CWE-2024, see https://logback.qos.ch/news.html and https://nvd.nist.gov/vuln/detail/CVE-2024-12801) " +
		"in app/build.gradle.kts; GHSA-aaaa-bbbb-cccc fixed it in 1.3.17."
	s := evaluate.Score(answer, prompt, dataset.Facts{})
	want := map[string]int{"version": 2, "CWE": 1, "vulnerability id": 1, "path": 1, "URL": 1}
	if !reflect.DeepEqual(s.UngroundedByKind, want) {
		t.Errorf("UngroundedByKind = %v, want %v (ungrounded %q)", s.UngroundedByKind, want, s.Ungrounded)
	}
	if len(s.Ungrounded) != 6 {
		t.Errorf("Ungrounded = %q, want 6 identifiers", s.Ungrounded)
	}
	if s := evaluate.Score("CVE-2024-12801 in logback-core.", prompt, dataset.Facts{}); s.UngroundedByKind != nil || s.Ungrounded == nil {
		t.Errorf("grounded answer: Ungrounded %v, by kind %v; want [] and nil", s.Ungrounded, s.UngroundedByKind)
	}
}
