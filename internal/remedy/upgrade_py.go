package remedy

import "fmt"

func pypiChanges(d dep) []Change {
	pin := fmt.Sprintf("%s==%s", d.name, d.version)
	atLeast := fmt.Sprintf("%s>=%s", d.name, d.version)
	switch {
	case requirementsFile.MatchString(d.base):
		return []Change{
			{BuildSystem: "pip", File: d.path, Scope: ScopeAny, Snippet: pin,
				Note: "Replace the package's line; if it is not listed (a transitive dependency), add the line so pip installs the fixed version. If the file is compiled by pip-compile, put " + atLeast + " in its .in file and recompile instead."},
			{BuildSystem: "pip", Scope: ScopeAny, Snippet: fmt.Sprintf("pip install %q", pin),
				Note: "Install it in the current environment to test before committing."},
		}
	case d.base == "Pipfile.lock" || d.base == "Pipfile":
		return []Change{
			{BuildSystem: "pipenv", Scope: ScopeAny, Snippet: fmt.Sprintf("pipenv install %q", atLeast),
				Note: "Adds the requirement to Pipfile and relocks; for a transitive dependency the explicit requirement is how Pipenv is made to resolve the fixed version."},
			{BuildSystem: "pipenv", File: d.sibling("Pipfile"), Scope: ScopeAny, Snippet: fmt.Sprintf("%s = \">=%s\"", d.name, d.version),
				Note: "The same change by hand in [packages], followed by pipenv lock."},
		}
	case d.base == "poetry.lock":
		return poetryChanges(d, atLeast)
	case d.base == "uv.lock":
		return []Change{
			{BuildSystem: "uv", Scope: ScopeDirect, Snippet: fmt.Sprintf("uv add %q", atLeast),
				Note: "Raises the requirement in pyproject.toml and updates uv.lock."},
			{BuildSystem: "uv", File: d.sibling("pyproject.toml"), Scope: ScopeTransitive,
				Snippet: fmt.Sprintf("[tool.uv]\nconstraint-dependencies = [%q]", atLeast),
				Note:    d.transitiveNote("Add a uv constraint and run uv lock: constraints bound a transitive dependency without making it a direct one.")},
		}
	case d.base == "pyproject.toml":
		return append([]Change{{BuildSystem: "pep621", File: d.path, Scope: ScopeDirect,
			Snippet: fmt.Sprintf("[project]\ndependencies = [\n    %q,\n]", atLeast),
			Note:    "Raise the package's entry in the PEP 621 dependencies list, keeping the other entries."}},
			poetryChanges(d, atLeast)...)
	}
	return []Change{
		{BuildSystem: "pip", Scope: ScopeAny, Snippet: fmt.Sprintf("pip install %q", pin),
			Note: "The scanner did not report a requirements file; apply this where the environment or image is built, and raise the requirement in the file that declares the package."},
	}
}

func poetryChanges(d dep, atLeast string) []Change {
	return []Change{
		{BuildSystem: "poetry", Scope: ScopeAny, Snippet: fmt.Sprintf("poetry add %q", atLeast),
			Note: "Raises the requirement in pyproject.toml and updates poetry.lock; Poetry has no override mechanism, so a transitive dependency is pinned by declaring it directly this way."},
		{BuildSystem: "poetry", File: d.sibling("pyproject.toml"), Scope: ScopeAny,
			Snippet: fmt.Sprintf("[tool.poetry.dependencies]\n%s = \">=%s\"", d.name, d.version),
			Note:    "The same change by hand, followed by poetry lock."},
	}
}
