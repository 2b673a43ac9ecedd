package remedy

import (
	"path"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// Scope says which kind of dependency a Change is for.
type Scope string

// The scopes a Change can apply to.
const (
	ScopeDirect     Scope = "direct"
	ScopeTransitive Scope = "transitive"
	// ScopeAny: the change works whether the dependency is direct or
	// transitive (go get, cargo update --precise, OS package upgrades).
	ScopeAny Scope = "any"
)

// Change is one concrete edit or command that moves a dependency to the
// chosen fixed version.
type Change struct {
	// BuildSystem names the tool: maven, gradle-kotlin, gradle-groovy, npm,
	// yarn, pnpm, pip, pipenv, poetry, uv, pep621, go, cargo, bundler, nuget,
	// composer, dockerfile.
	BuildSystem string `json:"build_system"`
	// File is the repository path to edit; empty for commands and when the
	// finding does not say which file holds the declaration.
	File  string `json:"file,omitempty"`
	Scope Scope  `json:"scope"`
	// Snippet is the exact line, block or command to write or run.
	Snippet string `json:"snippet"`
	// Note says where the snippet goes and why this mechanism.
	Note string `json:"note"`
}

// DisplayName is the package name to write into build files: as the scanner
// gave it (RubyGems and NuGet names keep their case in files), except Maven's
// "group/artifact", which build files spell "group:artifact", and PyPI names,
// normalised per PEP 503 as pip and lock files print them.
func DisplayName(eco, name string) string {
	switch eco {
	case "maven", "pypi":
		return finding.CanonicalPackageName(eco, name)
	}
	return strings.TrimSpace(name)
}

// dep carries what every build-system writer needs.
type dep struct {
	f       *finding.Finding
	eco     string
	name    string
	version string
	because string // the vulnerability id, for Gradle's because() and notes
	path    string // the reported file, repo-relative; "" when none
	base    string // its base name
	dir     string // its directory, "" for the repository root
	rel     Scope  // direct, transitive, or "" when unknown
}

// sibling names a build file in the same directory as the reported file.
func (d dep) sibling(name string) string {
	if d.dir == "" {
		return name
	}
	return d.dir + "/" + name
}

// scopes returns the scopes to write changes for: the known one, or both when
// the finding does not say.
func (d dep) scopes() []Scope {
	if d.rel != "" {
		return []Scope{d.rel}
	}
	return []Scope{ScopeDirect, ScopeTransitive}
}

// transitiveNote prefixes a transitive change's note when the finding does
// not say whether the dependency is direct.
func (d dep) transitiveNote(note string) string {
	if d.rel == "" {
		return "If this is a transitive dependency, " + lowerFirst(note)
	}
	return note
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// relationship reads whether the dependency is direct from the properties
// scanners provide (Trivy's Relationship, OSV's dependency groups).
func relationship(f *finding.Finding) Scope {
	for _, k := range []string{"relationship", "dependency_type", "dependency_relationship"} {
		switch strings.ToLower(f.Properties[k]) {
		case "direct", "root":
			return ScopeDirect
		case "indirect", "transitive":
			return ScopeTransitive
		}
	}
	switch strings.ToLower(f.Properties["direct"]) {
	case "true":
		return ScopeDirect
	case "false":
		return ScopeTransitive
	}
	return ""
}

var requirementsFile = regexp.MustCompile(`^requirements.*\.(txt|in)$`)

// Upgrade returns the concrete changes that move the finding's package to
// the chosen version, for the build system the reported path shows (or every
// plausible one when it shows none). It returns nil when the choice holds no
// version to move to; it never makes one up.
func Upgrade(f *finding.Finding, choice Choice) []Change {
	if f == nil || f.Package == nil || choice.Fixed == "" ||
		(choice.Status != StatusSameLine && choice.Status != StatusOtherLine && choice.Status != StatusInstalledUnknown) {
		return nil
	}
	d := dep{
		f:       f,
		eco:     finding.CanonicalEcosystem(f.Package.Ecosystem),
		name:    DisplayName(finding.CanonicalEcosystem(f.Package.Ecosystem), f.Package.Name),
		version: choice.Fixed,
		because: finding.CanonicalVulnID(f.VulnIDs),
		path:    finding.CleanPath(f.Location.Path),
		rel:     relationship(f),
	}
	if d.eco == "" {
		d.eco = choice.Ecosystem
	}
	if d.because == "" {
		d.because = f.Title
	}
	if d.path != "" {
		d.base = path.Base(d.path)
		if dir := path.Dir(d.path); dir != "." {
			d.dir = dir
		}
	}
	var out []Change
	switch d.eco {
	case "maven":
		out = mavenChanges(d)
	case "npm":
		out = npmChanges(d)
	case "pypi":
		out = pypiChanges(d)
	case "go":
		out = goChanges(d)
	case "cargo":
		out = cargoChanges(d)
	case "rubygems":
		out = gemChanges(d)
	case "nuget":
		out = nugetChanges(d)
	case "composer":
		out = composerChanges(d)
	case "debian", "alpine", "rpm":
		out = osChanges(d)
	}
	return d.keep(out)
}

// keep drops changes for a scope the finding rules out.
func (d dep) keep(cs []Change) []Change {
	if d.rel == "" || cs == nil {
		return cs
	}
	out := cs[:0]
	for _, c := range cs {
		if c.Scope == ScopeAny || c.Scope == d.rel {
			out = append(out, c)
		}
	}
	return out
}
