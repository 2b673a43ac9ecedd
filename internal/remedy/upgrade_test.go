package remedy_test

import (
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

func depFinding(eco, name, path, installed string, fixed []string, props map[string]string) *finding.Finding {
	return &finding.Finding{
		ID: "f1", Kind: finding.KindDependency, Title: "test advisory",
		VulnIDs:    []string{"CVE-2024-0001"},
		Tools:      []finding.Tool{{Name: "osv-scanner", RuleID: "CVE-2024-0001"}},
		Location:   finding.Location{Path: path},
		Package:    &finding.Package{Name: name, Ecosystem: eco, InstalledVersion: installed, FixedVersions: fixed},
		Properties: props,
	}
}

// want is one expected change: its build system, file, scope and a
// substring of its snippet.
type want struct {
	system, file string
	scope        remedy.Scope
	snippet      string
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	direct := map[string]string{"relationship": "direct"}
	indirect := map[string]string{"relationship": "indirect"}
	tests := []struct {
		name string
		f    *finding.Finding
		want []want
	}{
		{"gradle kotlin direct", depFinding("maven", "org.a:b", "svc/build.gradle.kts", "1.0.0", []string{"1.0.1"}, direct),
			[]want{{"gradle-kotlin", "svc/build.gradle.kts", remedy.ScopeDirect, `implementation("org.a:b:1.0.1")`}}},
		{"gradle groovy transitive", depFinding("maven", "org.a:b", "build.gradle", "1.0.0", []string{"1.0.1"}, indirect),
			[]want{{"gradle-groovy", "build.gradle", remedy.ScopeTransitive, "constraints {\n        implementation('org.a:b:1.0.1') {\n            because 'CVE-2024-0001'"}}},
		{"pom transitive", depFinding("maven", "org.a:b", "pom.xml", "1.0.0", []string{"1.0.1"}, indirect),
			[]want{{"maven", "pom.xml", remedy.ScopeTransitive, "<dependencyManagement>\n  <dependencies>\n    <dependency>\n      <groupId>org.a</groupId>"}}},
		{"maven group from purl", &finding.Finding{Kind: finding.KindDependency, Location: finding.Location{Path: "pom.xml"},
			Package: &finding.Package{Name: "b", Ecosystem: "maven", PURL: "pkg:maven/org.a/b@1.0.0", InstalledVersion: "1.0.0", FixedVersions: []string{"1.0.1"}}, Properties: direct},
			[]want{{"maven", "pom.xml", remedy.ScopeDirect, "<groupId>org.a</groupId>\n  <artifactId>b</artifactId>\n  <version>1.0.1</version>"}}},
		{"maven without group", &finding.Finding{Kind: finding.KindDependency,
			Package: &finding.Package{Name: "b", Ecosystem: "maven", InstalledVersion: "1.0.0", FixedVersions: []string{"1.0.1"}}},
			[]want{{"maven", "", remedy.ScopeAny, "<version>1.0.1</version>"}}},
		{"yarn transitive", depFinding("npm", "lodash", "web/yarn.lock", "4.17.20", []string{"4.17.21"}, indirect),
			[]want{{"yarn", "web/package.json", remedy.ScopeTransitive, "\"resolutions\": {\n  \"lodash\": \"4.17.21\"\n}"}}},
		{"pnpm transitive", depFinding("npm", "lodash", "pnpm-lock.yaml", "4.17.20", []string{"4.17.21"}, indirect),
			[]want{{"pnpm", "package.json", remedy.ScopeTransitive, "\"pnpm\": {\n  \"overrides\": {\n    \"lodash\": \"4.17.21\""}}},
		{"npm direct", depFinding("npm", "lodash", "package.json", "4.17.20", []string{"4.17.21"}, direct),
			[]want{{"npm", "", remedy.ScopeDirect, "npm install lodash@4.17.21"}, {"npm", "package.json", remedy.ScopeDirect, `"lodash": "^4.17.21"`}}},
		{"requirements", depFinding("pypi", "Django", "requirements-dev.txt", "4.2.0", []string{"4.2.3"}, nil),
			[]want{{"pip", "requirements-dev.txt", remedy.ScopeAny, "django==4.2.3"}, {"pip", "", remedy.ScopeAny, `pip install "django==4.2.3"`}}},
		{"poetry", depFinding("pypi", "requests", "api/poetry.lock", "2.30.0", []string{"2.32.0"}, nil),
			[]want{{"poetry", "", remedy.ScopeAny, `poetry add "requests>=2.32.0"`}, {"poetry", "api/pyproject.toml", remedy.ScopeAny, "[tool.poetry.dependencies]\nrequests = \">=2.32.0\""}}},
		{"pyproject", depFinding("pypi", "requests", "pyproject.toml", "2.30.0", []string{"2.32.0"}, nil),
			[]want{{"pep621", "pyproject.toml", remedy.ScopeDirect, `"requests>=2.32.0",`}, {"poetry", "", remedy.ScopeAny, `poetry add "requests>=2.32.0"`}, {"poetry", "pyproject.toml", remedy.ScopeAny, `requests = ">=2.32.0"`}}},
		{"uv transitive", depFinding("pypi", "idna", "uv.lock", "3.6", []string{"3.7"}, indirect),
			[]want{{"uv", "pyproject.toml", remedy.ScopeTransitive, "[tool.uv]\nconstraint-dependencies = [\"idna>=3.7\"]"}}},
		{"go module", depFinding("go", "golang.org/x/net", "go.sum", "v0.17.0", []string{"0.23.0"}, nil),
			[]want{{"go", "", remedy.ScopeAny, "go get golang.org/x/net@v0.23.0 && go mod tidy"}, {"go", "go.mod", remedy.ScopeAny, "require golang.org/x/net v0.23.0"}}},
		{"go stdlib", depFinding("go", "stdlib", "cmd/app/go.mod", "v1.22.1", []string{"1.22.5"}, nil),
			[]want{{"go", "cmd/app/go.mod", remedy.ScopeAny, "toolchain go1.22.5"}}},
		{"cargo lock", depFinding("crates.io", "tokio", "Cargo.lock", "1.28.0", []string{"1.28.2"}, indirect),
			[]want{{"cargo", "", remedy.ScopeAny, "cargo update -p tokio --precise 1.28.2"}}},
		{"cargo direct", depFinding("cargo", "tokio", "Cargo.toml", "1.28.0", []string{"1.28.2"}, direct),
			[]want{{"cargo", "", remedy.ScopeAny, "cargo update -p tokio --precise 1.28.2"}, {"cargo", "Cargo.toml", remedy.ScopeDirect, "[dependencies]\ntokio = \"1.28.2\""}}},
		{"bundler direct", depFinding("rubygems", "rack", "Gemfile.lock", "2.2.6", []string{"2.2.8"}, direct),
			[]want{{"bundler", "Gemfile", remedy.ScopeDirect, "gem 'rack', '>= 2.2.8'"}}},
		{"nuget", depFinding("nuget", "Newtonsoft.Json", "src/App.csproj", "12.0.1", []string{"13.0.1"}, nil),
			[]want{{"nuget", "", remedy.ScopeAny, "dotnet add package Newtonsoft.Json --version 13.0.1"}, {"nuget", "src/App.csproj", remedy.ScopeAny, `<PackageReference Include="Newtonsoft.Json" Version="13.0.1" />`}}},
		{"composer", depFinding("packagist", "guzzlehttp/psr7", "composer.lock", "2.4.3", []string{"2.4.5"}, nil),
			[]want{{"composer", "", remedy.ScopeAny, "composer require guzzlehttp/psr7:^2.4.5"}}},
		{"alpine", depFinding("alpine", "openssl", "Dockerfile", "3.1.4-r0", []string{"3.1.4-r1"}, nil),
			[]want{{"dockerfile", "Dockerfile", remedy.ScopeAny, "RUN apk add --no-cache --upgrade openssl=3.1.4-r1"}, {"dockerfile", "Dockerfile", remedy.ScopeAny, "docker build --pull"}}},
		{"rpm", depFinding("redhat", "openssl-libs", "", "1:1.1.1k-7.el8", []string{"1:1.1.1k-9.el8_7"}, nil),
			[]want{{"dockerfile", "", remedy.ScopeAny, "RUN dnf -y update openssl-libs-1:1.1.1k-9.el8_7 && dnf clean all"}, {"dockerfile", "", remedy.ScopeAny, "docker build --pull"}}},
		{"debian", depFinding("debian", "libc6", "", "2.36-9+deb12u4", []string{"2.36-9+deb12u7"}, nil),
			[]want{{"dockerfile", "", remedy.ScopeAny, "apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"}, {"dockerfile", "", remedy.ScopeAny, "docker build --pull"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.f.Package
			c, err := remedy.ChooseFix(p.Ecosystem, p.InstalledVersion, p.FixedVersions)
			if err != nil {
				t.Fatal(err)
			}
			got := remedy.Upgrade(tt.f, c)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d changes, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.BuildSystem != w.system || g.File != w.file || g.Scope != w.scope || !strings.Contains(g.Snippet, w.snippet) {
					t.Errorf("change %d = {%s %q %s %q}, want {%s %q %s containing %q}", i, g.BuildSystem, g.File, g.Scope, g.Snippet, w.system, w.file, w.scope, w.snippet)
				}
				if g.Note == "" {
					t.Errorf("change %d has no note", i)
				}
			}
		})
	}
}

func TestUpgradeUnknownScopeGivesBoth(t *testing.T) {
	t.Parallel()
	f := depFinding("npm", "lodash", "package-lock.json", "4.17.20", []string{"4.17.21"}, nil)
	c, _ := remedy.ChooseFix("npm", "4.17.20", []string{"4.17.21"})
	var direct, transitive int
	for _, ch := range remedy.Upgrade(f, c) {
		switch ch.Scope {
		case remedy.ScopeDirect:
			direct++
		case remedy.ScopeTransitive:
			transitive++
			if !strings.HasPrefix(ch.Note, "If this is a transitive dependency, ") {
				t.Errorf("transitive note %q does not say it is conditional", ch.Note)
			}
			if !strings.Contains(ch.Snippet, `"overrides"`) {
				t.Errorf("npm transitive snippet %q does not use overrides", ch.Snippet)
			}
		}
	}
	if direct == 0 || transitive == 0 {
		t.Errorf("lock file without relationship: %d direct and %d transitive changes, want both", direct, transitive)
	}
}

func TestUpgradeNeverInventsAVersion(t *testing.T) {
	t.Parallel()
	for _, status := range []remedy.ChoiceStatus{remedy.StatusNoFix, remedy.StatusNoFixOnLine, remedy.StatusNotAffected} {
		f := depFinding("npm", "lodash", "package-lock.json", "4.17.20", []string{"4.17.21"}, nil)
		if got := remedy.Upgrade(f, remedy.Choice{Status: status, Fixed: "4.17.21"}); got != nil {
			t.Errorf("status %s: got changes %+v, want none", status, got)
		}
	}
	if got := remedy.Upgrade(&finding.Finding{}, remedy.Choice{Status: remedy.StatusSameLine, Fixed: "1.0.0"}); got != nil {
		t.Errorf("finding without package: got %+v", got)
	}
}
