package augment

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
)

// Moving a copy to another ecosystem (issue 16): the samples' dependency
// findings are all of one Gradle project, and a model tuned on them wrote
// a Gradle snippet for npm, Go and RubyGems findings. Copy n of a
// dependency finding may therefore move to another ecosystem: a package of
// that ecosystem's pool, its lock file where the original's was, versions
// in its shape and the ecosystem's name in the text; remedy then writes
// that ecosystem's fix, so the copy teaches reading the ecosystem out of
// the prompt as the other replacements teach reading the facts.

// ecosystemFiles are, by canonical ecosystem, the manifest and lock files
// a moved copy's location may name, each one remedy writes that
// ecosystem's changes for. Operating-system packages are not here: their
// findings are about an image, not a file a project edits.
var ecosystemFiles = map[string][]string{
	"maven":    {"gradle.lockfile", "pom.xml", "build.gradle.kts"},
	"npm":      {"package-lock.json", "yarn.lock", "pnpm-lock.yaml"},
	"pypi":     {"requirements.txt", "poetry.lock", "Pipfile.lock", "uv.lock"},
	"go":       {"go.mod"},
	"cargo":    {"Cargo.lock"},
	"rubygems": {"Gemfile.lock"},
	"nuget":    {"packages.lock.json"},
	"composer": {"composer.lock"},
}

// Ecosystems lists the ecosystems a copy can move between, in the
// canonical spelling the ingesters write (finding.CanonicalEcosystem).
func Ecosystems() []string {
	out := make([]string, 0, len(ecosystemFiles))
	for e := range ecosystemFiles {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// ecosystemWords are what prose calls an ecosystem: its registry and
// build tools (replaced in any case), then its language (replaced as
// written: "java" in "java.io" or a path is no word of prose); say is what
// a moved copy's text calls the ecosystem it moved to.
var ecosystemWords = map[string]struct {
	names     []string
	lang, say string
}{
	"maven":    {[]string{"Maven", "Gradle"}, "Java", "Maven"},
	"npm":      {[]string{"npm", "Yarn", "pnpm"}, "JavaScript", "npm"},
	"pypi":     {[]string{"PyPI", "pip", "Poetry"}, "Python", "PyPI"},
	"go":       {[]string{"Go modules"}, "Go", "Go"},
	"cargo":    {[]string{"crates.io", "Cargo"}, "Rust", "crates.io"},
	"rubygems": {[]string{"RubyGems", "Bundler"}, "Ruby", "RubyGems"},
	"nuget":    {[]string{"NuGet"}, ".NET", "NuGet"},
	"composer": {[]string{"Packagist", "Composer"}, "PHP", "Packagist"},
}

// semverEcosystems take exactly three release parts.
var semverEcosystems = map[string]bool{"npm": true, "go": true, "cargo": true, "composer": true}

// moveTarget decides whether copy n of f moves and where: "" when it stays
// in its ecosystem, else the target and the base name its location's file
// takes ("" when it has no file). The draw has its own random source, so
// a copy that stays draws the replacements it drew before moves existed.
// A copy of MovedCopy goes to the target it is given (to, which MovedCopy
// has checked against Targets), its file drawn from the same source.
func moveTarget(f *finding.Finding, n int, cat Catalogue, to string) (target, file string) {
	rng := Seed(f.ID+"|ecosystem", n)
	target = to
	if target == "" {
		cands := Targets(f, cat)
		if len(cands) == 0 || cat.EcosystemShare <= 0 || rng.Float64() >= cat.EcosystemShare {
			return "", ""
		}
		target = cands[rng.IntN(len(cands))]
	}
	if f.Location.Path != "" {
		files := ecosystemFiles[target]
		file = files[rng.IntN(len(files))]
	}
	return target, file
}

// movesToDirectory says whether copy n of f, moving out of its manifest or
// lock file, is located at that file's directory instead: scanners report
// packages found in a directory or a built binary (osv-scanner's scan of a
// directory, grype's of a file system), and the samples' language packages
// are all in lock files, so a tuned model wrote the samples' Gradle fix
// for every other project's Go or Cargo package without a build file
// named (bench/RESULTS.md, eleventh session). remedy's answer for such a
// copy is still its ecosystem's upgrade; where that upgrade names no file
// (not npm's or Cargo's, which name package.json and Cargo.lock) it adds
// the step that says the package was found in no build file, and for Go
// the built binary's note. The draw has its own random source.
func movesToDirectory(f *finding.Finding, n int, cat Catalogue) bool {
	return cat.DirectoryShare > 0 && Seed(f.ID+"|directory", n).Float64() < cat.DirectoryShare
}

// Targets are the ecosystems of cat.Ecosystems a copy of f may move to, in
// cat's order: none unless f is a dependency finding of an ecosystem
// remedy writes lock-file fixes for, in a manifest or lock file of that
// ecosystem or in no file (a jar found in an image would become a lock
// file in it), and never f's own.
func Targets(f *finding.Finding, cat Catalogue) []string {
	p := f.Package
	if p == nil || f.Kind != finding.KindDependency {
		return nil
	}
	src := finding.CanonicalEcosystem(p.Ecosystem)
	if _, ok := ecosystemFiles[src]; !ok || src == "go" && (p.Name == "stdlib" || p.Name == "toolchain") {
		return nil
	}
	if lp := f.Location.Path; lp != "" {
		if finding.ManifestEcosystem(lp) != src || !isManifest(lp) {
			return nil
		}
	}
	var cands []string
	for _, e := range cat.Ecosystems {
		e = finding.CanonicalEcosystem(e)
		if _, ok := ecosystemFiles[e]; ok && e != src && len(cat.Packages[e]) > 0 && !slices.Contains(cands, e) {
			cands = append(cands, e)
		}
	}
	return cands
}

// isManifest says whether p names a build, manifest or lock file (the
// table finding.ManifestNames lists, any requirements*.txt), not a
// package archive.
func isManifest(p string) bool {
	b := strings.ToLower(path.Base(p))
	return ident.KnownFiles[b] || strings.HasPrefix(b, "requirements") && strings.HasSuffix(b, ".txt")
}

// shapeVersions writes each version of vs in the target's shape: its
// numeric release parts only (a Maven "-jre" or ".Final" means nothing to
// npm), three of them for semver ecosystems (at least three elsewhere)
// and, for Go, a leading "v" on the package's own versions (pkg) while
// versions the text names keep none ("logback 1.5.12"). Dropping parts
// never reorders versions, but it can merge two ("1.2.3" and
// "1.2.3-rc1"): then ok is false and the copy stays where it is. Go needs
// one major version too, since another major is another module path.
func shapeVersions(target string, vs []string, pkg map[string]bool) (shaped map[string]string, ok bool) {
	shaped = map[string]string{}
	seen := map[string]string{}
	major := -1
	for _, v := range vs {
		m := versionRE.FindStringSubmatch(v)
		if m == nil {
			return nil, false
		}
		parts := strings.Split(m[2], ".")
		for len(parts) < 3 {
			parts = append(parts, "0")
		}
		if semverEcosystems[target] {
			parts = parts[:3]
		}
		for i, s := range parts {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, false
			}
			parts[i] = strconv.Itoa(n)
		}
		s := strings.Join(parts, ".")
		if target == "go" && pkg[v] {
			s = "v" + s
			mj, _ := strconv.Atoi(parts[0])
			if major >= 0 && mj != major {
				return nil, false
			}
			major = mj
		}
		if o, dup := seen[s]; dup && o != v {
			return nil, false
		}
		seen[s] = v
		shaped[v] = s
	}
	return shaped, true
}

// goMajorRE is a Go module path's major version suffix ("/v2").
var goMajorRE = regexp.MustCompile(`/v[0-9]+$`)

// goModulePath gives a Go module the path its major version needs: no
// suffix for v0 and v1, "/vN" from v2 on.
func goModulePath(name, version string) string {
	name = goMajorRE.ReplaceAllString(name, "")
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return name
	}
	mj, _ := strconv.Atoi(strings.SplitN(m[2], ".", 2)[0])
	if mj >= 2 {
		return name + "/v" + strconv.Itoa(mj)
	}
	return name
}

// ecosystemReps are the text replacements that move prose from ecosystem
// src to target.
func ecosystemReps(src, target string) []textRep {
	o, n := ecosystemWords[src], ecosystemWords[target]
	var out []textRep
	for _, w := range o.names {
		out = append(out, textRep{old: w, new: n.say, fold: true})
	}
	return append(out, textRep{old: o.lang, new: n.lang})
}
