package remedy

import (
	"fmt"
	"strings"
)

func goChanges(d dep) []Change {
	v := goVersion(d.version)
	modFile := ""
	if d.base == "go.mod" || d.base == "go.sum" {
		modFile = d.sibling("go.mod")
	}
	if d.name == "stdlib" || d.name == "toolchain" {
		goV := "go" + strings.TrimPrefix(v, "v")
		return []Change{{BuildSystem: "go", File: modFile, Scope: ScopeAny, Snippet: "toolchain " + goV,
			Note: "The vulnerability is in the Go standard library: build with " + goV + " or later (the toolchain line makes the go command fetch it) and rebuild every binary."}}
	}
	out := []Change{
		{BuildSystem: "go", Scope: ScopeAny, Snippet: fmt.Sprintf("go get %s@%s && go mod tidy", d.name, v),
			Note: "Run in the module's directory. For a transitive dependency this records the higher version in go.mod (marked // indirect); minimal version selection then uses it for the whole build."},
		{BuildSystem: "go", File: modFile, Scope: ScopeAny, Snippet: fmt.Sprintf("require %s %s", d.name, v),
			Note: "The line go get writes; editing it by hand needs go mod tidy afterwards to update go.sum."},
	}
	if modFile == "" && d.path != "" {
		out[0].Note += " The scanner found the module in a built binary (" + d.path + "): rebuild and redeploy it."
	}
	return out
}

func cargoChanges(d dep) []Change {
	out := []Change{{BuildSystem: "cargo", Scope: ScopeAny,
		Snippet: fmt.Sprintf("cargo update -p %s --precise %s", d.name, d.version),
		Note:    "Run in the workspace; it rewrites Cargo.lock only, which works for transitive dependencies as long as the requirements in Cargo.toml files allow the version."}}
	for _, s := range d.scopes() {
		if s == ScopeDirect {
			out = append(out, Change{BuildSystem: "cargo", File: d.sibling("Cargo.toml"), Scope: s,
				Snippet: fmt.Sprintf("[dependencies]\n%s = %q", d.name, d.version),
				Note:    "Raise the requirement in [dependencies] (or the section that declares it) so the fix cannot be undone by a later lock refresh."})
		}
	}
	return out
}
