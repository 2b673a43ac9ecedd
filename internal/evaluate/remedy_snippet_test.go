package evaluate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

// TestRemedySnippetsScoreRight scores every change remedy writes, for
// every ecosystem, build file and dependency relationship, as a fix
// snippet the way a reference answer shows it (its note in prose, then the
// snippet fenced, then the verification lines), and the reference answer
// narrate writes: none may be a wrong snippet. The corpus
// (TestReferenceAnswersScorePerfect) lacks some ecosystems and
// relationships (a transitive gem's "bundle update rack --conservative",
// a Gradle constraint whose because() names the package when the finding
// has no vulnerability id); a rule that fails one of these measures the
// rule, not the model.
func TestRemedySnippetsScoreRight(t *testing.T) {
	t.Parallel()
	type pkgCase struct {
		eco, name, purl, installed, fixed string
		paths                             []string
		image                             string
	}
	cases := []pkgCase{
		{eco: "Maven", name: "ch.qos.logback:logback-core", installed: "1.3.5", fixed: "1.3.15",
			paths: []string{"app/pom.xml", "app/build.gradle.kts", "app/build.gradle", "app/gradle.lockfile", "lib/app.jar", ""}},
		{eco: "Maven", name: "logback-core", purl: "pkg:maven/ch.qos.logback/logback-core@1.3.5", installed: "1.3.5", fixed: "1.3.15",
			paths: []string{"app/gradle.lockfile"}},
		{eco: "Maven", name: "logback-core", installed: "1.3.5", fixed: "1.3.15", paths: []string{"app/pom.xml"}},
		{eco: "npm", name: "lodash", installed: "4.17.20", fixed: "4.17.21",
			paths: []string{"web/package-lock.json", "web/yarn.lock", "web/pnpm-lock.yaml", "node_modules/x/package.json", ""}},
		{eco: "npm", name: "@angular/core", installed: "17.3.0", fixed: "17.3.1", paths: []string{"package-lock.json", "yarn.lock"}},
		{eco: "PyPI", name: "PyYAML", installed: "5.3", fixed: "5.4", paths: []string{
			"requirements.txt", "requirements-dev.in", "Pipfile.lock", "poetry.lock", "uv.lock", "pyproject.toml", ""}},
		{eco: "Go", name: "golang.org/x/net", installed: "v0.15.0", fixed: "v0.17.0", paths: []string{"go.mod", "go.sum", "bin/app", ""}},
		{eco: "Go", name: "gitlab.example.com/quill/quill", installed: "v0.9.0", fixed: "v0.12.0", paths: []string{"go.mod"}},
		{eco: "Go", name: "stdlib", installed: "v1.21.1", fixed: "v1.21.3", paths: []string{"go.mod", "bin/app"}},
		{eco: "crates.io", name: "smallvec", installed: "1.6.0", fixed: "1.6.1", paths: []string{"Cargo.lock", ""}},
		{eco: "RubyGems", name: "rack", installed: "2.2.6", fixed: "2.2.8.1", paths: []string{"Gemfile.lock", "Gemfile", ""}},
		{eco: "NuGet", name: "Newtonsoft.Json", installed: "12.0.3", fixed: "13.0.1", paths: []string{"src/App.csproj", "packages.lock.json"}},
		{eco: "Packagist", name: "symfony/http-kernel", installed: "6.4.1", fixed: "6.4.2", paths: []string{"composer.lock"}},
		{eco: "Debian", name: "openssl", installed: "3.0.11-1~deb12u1", fixed: "3.0.11-1~deb12u2", image: "registry/app:1 (debian 12.5)"},
		{eco: "Alpine", name: "libssl3", installed: "3.1.2-r0", fixed: "3.1.4-r0", paths: []string{"Dockerfile"}},
		{eco: "redhat", name: "openssl-libs", installed: "1:1.0.2k-16.el7", fixed: "1:1.0.2k-19.el7", image: "centos:7"},
	}
	for _, pc := range cases {
		paths := pc.paths
		if len(paths) == 0 {
			paths = []string{""}
		}
		for _, p := range paths {
			for _, rel := range []string{"", "direct", "indirect"} {
				// No vulnerability id: Gradle's because() gives the title,
				// which names the package.
				for _, ids := range [][]string{{"CVE-2024-0001"}, nil} {
					f := finding.Finding{
						Tools: []finding.Tool{{Name: "osv-scanner", RuleID: "CVE-2024-0001"}},
						Kind:  finding.KindDependency, Severity: "high",
						Title:    pc.name + ": a flaw in " + pc.name,
						VulnIDs:  ids,
						Location: finding.Location{Path: p, Image: pc.image},
						Package: &finding.Package{Name: pc.name, Ecosystem: pc.eco, PURL: pc.purl,
							InstalledVersion: pc.installed, FixedVersions: []string{pc.fixed}},
						Properties: map[string]string{},
					}
					if rel != "" {
						f.Properties["relationship"] = rel
					}
					f.ID = finding.Fingerprint(&f)
					name := fmt.Sprintf("%s %s at %q %s ids=%d", pc.eco, pc.name, p, rel, len(ids))
					rem, err := remedy.For(&f)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					e := narrate.Example(&f, rem, nil)
					facts := e.Meta.Facts
					if facts.FixedVersion == "" || len(rem.Changes) == 0 {
						t.Errorf("%s: no fixed version or no change (%+v, %d changes)", name, facts, len(rem.Changes))
						continue
					}
					check := func(what, answer string, s evaluate.Scores) {
						if s.Snippet != nil && !*s.Snippet || s.FixedVersion == nil || !*s.FixedVersion {
							t.Errorf("%s, %s: snippet %v, fixed version %v (%+v)\n%s", name, what, show(s.Snippet), show(s.FixedVersion), facts, answer)
						}
					}
					check("reference answer", e.Assistant(), evaluate.Score(e.Assistant(), e.Prompt(), facts))
					for i, ch := range rem.Changes {
						a := changeAnswer(facts, ch, rem.Verification)
						check(fmt.Sprintf("change %d (%s)", i, ch.BuildSystem), a, evaluate.Score(a, "", facts))
					}
				}
			}
		}
	}
}

// changeAnswer is an answer that shows ch as narrate shows a reference
// answer's change: its note in prose, the snippet fenced; then the
// verification lines.
func changeAnswer(f dataset.Facts, ch remedy.Change, verify []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**In short**\nUpgrade %s from %s to %s.\n\n**Fix**\n", f.Package, f.InstalledVersion, f.FixedVersion)
	fmt.Fprintf(&b, "%s (%s): %s\n```\n%s\n```\n\n**How to verify**\n", ch.BuildSystem, ch.File, ch.Note, ch.Snippet)
	for _, v := range verify {
		b.WriteString("- " + v + "\n")
	}
	return b.String()
}
