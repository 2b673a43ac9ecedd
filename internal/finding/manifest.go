package finding

import (
	"path"
	"strings"
)

// manifests is the one table of build, manifest and lock files: the name as
// projects spell it and the ecosystem of the packages it pins. Ingest reads
// it to give a dependency found in a file its ecosystem, remediation and the
// grounding check to know which files an answer may name beside the one a
// scanner reported. A Dockerfile pins a base image, not packages of an
// ecosystem.
var manifests = []struct{ name, eco string }{
	{"package.json", "npm"}, {"package-lock.json", "npm"}, {"npm-shrinkwrap.json", "npm"},
	{"yarn.lock", "npm"}, {"pnpm-lock.yaml", "npm"}, {"bun.lock", "npm"},
	{"pom.xml", "maven"}, {"build.gradle", "maven"}, {"build.gradle.kts", "maven"},
	{"gradle.lockfile", "maven"}, {"settings.gradle", "maven"}, {"gradle.properties", "maven"},
	{"requirements.txt", "pypi"}, {"Pipfile", "pypi"}, {"Pipfile.lock", "pypi"}, {"poetry.lock", "pypi"},
	{"uv.lock", "pypi"}, {"pdm.lock", "pypi"}, {"setup.py", "pypi"}, {"setup.cfg", "pypi"}, {"pyproject.toml", "pypi"},
	{"go.mod", "go"}, {"go.sum", "go"},
	{"Gemfile", "rubygems"}, {"Gemfile.lock", "rubygems"},
	{"Cargo.toml", "cargo"}, {"Cargo.lock", "cargo"},
	{"composer.json", "composer"}, {"composer.lock", "composer"},
	{"packages.config", "nuget"}, {"packages.lock.json", "nuget"}, {"Directory.Packages.props", "nuget"},
	{"mix.lock", "hex"}, {"pubspec.lock", "pub"},
	{"Dockerfile", ""},
}

// archiveEcosystems are the ecosystems of package archives a scanner may
// report as the file a dependency was found in.
var archiveEcosystems = map[string]string{
	".jar": "maven", ".war": "maven", ".ear": "maven", ".csproj": "nuget",
	".gemspec": "rubygems", ".whl": "pypi", ".egg": "pypi",
}

var manifestEco = func() map[string]string {
	m := make(map[string]string, len(manifests))
	for _, f := range manifests {
		m[strings.ToLower(f.name)] = f.eco
	}
	return m
}()

// ManifestEcosystem is the ecosystem of the packages the file at p pins,
// from its base name (any case, any directory, "requirements-dev.txt" too)
// or its archive extension; "" when the name says nothing.
func ManifestEcosystem(p string) string {
	base := strings.ToLower(path.Base(strings.ReplaceAll(p, `\`, "/")))
	if e, ok := manifestEco[base]; ok {
		return e
	}
	if strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") {
		return "pypi"
	}
	return archiveEcosystems[path.Ext(base)]
}

// ManifestNames lists every build, manifest and lock file name of the
// table, spelt as projects spell them.
func ManifestNames() []string {
	out := make([]string, len(manifests))
	for i, f := range manifests {
		out[i] = f.name
	}
	return out
}
