package remedy

import (
	"fmt"
	"strings"
)

func npmChanges(d dep) []Change {
	manager := "npm"
	switch d.base {
	case "yarn.lock":
		manager = "yarn"
	case "pnpm-lock.yaml":
		manager = "pnpm"
	}
	file := ""
	if d.base != "" && !strings.Contains(d.path, "node_modules/") {
		file = d.sibling("package.json")
	}
	add := map[string]string{"npm": "npm install %s@%s", "yarn": "yarn add %s@%s", "pnpm": "pnpm add %s@%s"}[manager]
	var out []Change
	for _, s := range d.scopes() {
		if s == ScopeDirect {
			out = append(out,
				Change{BuildSystem: manager, Scope: s, Snippet: fmt.Sprintf(add, d.name, d.version),
					Note: "Run in the package's directory; it updates package.json and the lock file together."},
				Change{BuildSystem: manager, File: file, Scope: s, Snippet: fmt.Sprintf("%q: \"^%s\"", d.name, d.version),
					Note: "The same change by hand: the entry in dependencies (or devDependencies); the caret range never resolves below the fixed version."},
			)
			continue
		}
		var snippet, note string
		switch manager {
		case "yarn":
			snippet = fmt.Sprintf("\"resolutions\": {\n  %q: %q\n}", d.name, d.version)
			note = "Add to package.json's top level and run yarn install: yarn resolutions force the version wherever the package appears in the tree."
		case "pnpm":
			snippet = fmt.Sprintf("\"pnpm\": {\n  \"overrides\": {\n    %q: %q\n  }\n}", d.name, d.version)
			note = "Add to package.json's top level and run pnpm install: pnpm.overrides force the version wherever the package appears in the tree."
		default:
			snippet = fmt.Sprintf("\"overrides\": {\n  %q: %q\n}", d.name, d.version)
			note = "Add to package.json's top level and run npm install: npm overrides force the version wherever the package appears in the tree."
		}
		out = append(out, Change{BuildSystem: manager, File: file, Scope: s, Snippet: snippet, Note: d.transitiveNote(note)})
	}
	return out
}

func composerChanges(d dep) []Change {
	return []Change{{BuildSystem: "composer", Scope: ScopeAny,
		Snippet: fmt.Sprintf("composer require %s:^%s", d.name, d.version),
		Note:    "Run in the project directory; for a transitive dependency this adds a root requirement, which Composer must satisfy for the whole tree."}}
}

func gemChanges(d dep) []Change {
	file := ""
	if d.base == "Gemfile.lock" || d.base == "Gemfile" {
		file = d.sibling("Gemfile")
	}
	var out []Change
	for _, s := range d.scopes() {
		if s == ScopeDirect {
			out = append(out, Change{BuildSystem: "bundler", File: file, Scope: s, Snippet: fmt.Sprintf("gem '%s', '>= %s'", d.name, d.version),
				Note: "Set the requirement in the Gemfile, then run bundle update " + d.name + "."})
			continue
		}
		out = append(out, Change{BuildSystem: "bundler", Scope: s, Snippet: fmt.Sprintf("bundle update %s --conservative", d.name),
			Note: d.transitiveNote("Update only this gem in Gemfile.lock; if a parent gem's requirement keeps it below the fixed version, declare it in the Gemfile with the requirement above to force it.")})
	}
	return out
}
