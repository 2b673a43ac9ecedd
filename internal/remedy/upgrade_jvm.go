package remedy

import (
	"fmt"
	"strings"
)

// mavenCoords splits "group:artifact", falling back to the purl
// (pkg:maven/group/artifact@version) when the name lacks the group.
func mavenCoords(d dep) (group, artifact string, ok bool) {
	if g, a, found := strings.Cut(d.name, ":"); found && g != "" && a != "" {
		return g, a, true
	}
	if p := d.f.Package.PURL; strings.HasPrefix(p, "pkg:maven/") {
		rest, _, _ := strings.Cut(strings.TrimPrefix(p, "pkg:maven/"), "@")
		rest, _, _ = strings.Cut(rest, "?")
		if g, a, found := strings.Cut(rest, "/"); found && g != "" && a != "" {
			return g, a, true
		}
	}
	return "", "", false
}

func mavenChanges(d dep) []Change {
	g, a, ok := mavenCoords(d)
	if !ok {
		return []Change{{
			BuildSystem: "maven", Scope: ScopeAny,
			Snippet: fmt.Sprintf("<version>%s</version>", d.version),
			Note: fmt.Sprintf("The scanner gave no Maven groupId for %s, so no full declaration can be written; "+
				"set the version of its declaration (or of its dependencyManagement entry) as shown.", d.name),
		}}
	}
	var out []Change
	pom := d.base == "pom.xml"
	kts := d.base == "build.gradle.kts"
	groovy := d.base == "build.gradle"
	gradleLock := strings.Contains(d.base, "gradle") && strings.HasSuffix(d.base, ".lockfile")
	unknown := !pom && !kts && !groovy && !gradleLock
	file := func(name string) string {
		if unknown {
			return ""
		}
		if d.base == name {
			return d.path
		}
		return d.sibling(name)
	}
	if pom || unknown {
		out = append(out, pomChanges(d, g, a, file("pom.xml"))...)
	}
	if kts || gradleLock || unknown {
		out = append(out, gradleChanges(d, g, a, file("build.gradle.kts"), true)...)
	}
	if groovy || gradleLock || unknown {
		out = append(out, gradleChanges(d, g, a, file("build.gradle"), false)...)
	}
	return out
}

func pomChanges(d dep, g, a, file string) []Change {
	decl := fmt.Sprintf("<dependency>\n  <groupId>%s</groupId>\n  <artifactId>%s</artifactId>\n  <version>%s</version>\n</dependency>", g, a, d.version)
	var out []Change
	for _, s := range d.scopes() {
		if s == ScopeDirect {
			out = append(out, Change{BuildSystem: "maven", File: file, Scope: s, Snippet: decl,
				Note: "Set the version in the existing <dependency> declaration (or the property it refers to)."})
			continue
		}
		out = append(out, Change{BuildSystem: "maven", File: file, Scope: s,
			Snippet: "<dependencyManagement>\n  <dependencies>\n" + indent(decl, "    ") + "\n  </dependencies>\n</dependencyManagement>",
			Note:    d.transitiveNote("Pin it in <dependencyManagement>: Maven then uses this version wherever the artifact is pulled in transitively."),
		})
	}
	return out
}

func gradleChanges(d dep, g, a, file string, kotlin bool) []Change {
	coord := fmt.Sprintf("%s:%s:%s", g, a, d.version)
	system := "gradle-groovy"
	direct := fmt.Sprintf("implementation '%s'", coord)
	constraint := fmt.Sprintf("dependencies {\n    constraints {\n        implementation('%s') {\n            because '%s'\n        }\n    }\n}", coord, d.because)
	if kotlin {
		system = "gradle-kotlin"
		direct = fmt.Sprintf("implementation(\"%s\")", coord)
		constraint = fmt.Sprintf("dependencies {\n    constraints {\n        implementation(\"%s\") {\n            because(\"%s\")\n        }\n    }\n}", coord, d.because)
	}
	var out []Change
	for _, s := range d.scopes() {
		if s == ScopeDirect {
			out = append(out, Change{BuildSystem: system, File: file, Scope: s, Snippet: direct,
				Note: "Replace the existing declaration of this dependency in the dependencies block (keep its configuration if it is not implementation)."})
			continue
		}
		out = append(out, Change{BuildSystem: system, File: file, Scope: s, Snippet: constraint,
			Note: d.transitiveNote("Add a dependency constraint: Gradle upgrades the transitive dependency to at least this version; regenerate the lockfile with --write-locks if the build locks dependencies."),
		})
	}
	return out
}

func nugetChanges(d dep) []Change {
	file := ""
	if strings.HasSuffix(d.base, "proj") {
		file = d.path
	}
	return []Change{
		{BuildSystem: "nuget", Scope: ScopeAny, Snippet: fmt.Sprintf("dotnet add package %s --version %s", d.name, d.version),
			Note: "Run in the project directory. For a transitive dependency this adds a direct reference, which NuGet resolves in preference to the transitive version."},
		{BuildSystem: "nuget", File: file, Scope: ScopeAny, Snippet: fmt.Sprintf("<PackageReference Include=\"%s\" Version=\"%s\" />", d.name, d.version),
			Note: "The same change made by hand in the project file (with central package management, set the PackageVersion in Directory.Packages.props)."},
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
