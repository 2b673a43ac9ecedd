package main

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// cmdImports is the house rule for cmd (DESIGN.md §2): a command file
// parses flags, builds the options of the package whose command it is and
// calls it; config and pipeline are every command's, and the rest is
// composed in pipeline. Every product package cmd may import is listed
// beside the files that front it; anything else (analyze, remedy, narrate,
// redact, finding, ...) is product logic that belongs behind one of them.
var cmdImports = map[string][]string{
	"main.go":           {"interrupt"},
	"exitcode.go":       {"dataset", "engine", "hub", "interrupt"}, // the error types exit codes map
	"config.go":         {"engine"},                                // the engine's VULNTUNE_* switches, not settings
	"daemon.go":         {"daemon", "ghactions"},
	"daemon_service.go": {"daemon", "ghactions"},
	"daemon_status.go":  {"daemon"},
	"dataset.go":        {"dataset", "engine"}, // the analysis endpoint the engine serves
	"doctor.go":         {"engine", "modelstore"},
	"evaluate.go":       {"evaluate"},
	"export.go":         {"export"},
	"explain.go":        {"explain"},
	"finetune.go":       {"train", "hub"},
	"generate.go":       {"engine", "modelstore"},
	"modelhooks.go":     {"evaluate", "validate"}, // their tables
	"models.go":         {"modelstore"},
	"models_pull.go":    {"engine", "modelstore"},
	"parse.go":          {"ingest"},
	"progress.go":       {"train"}, // renders its progress
	"publish.go":        {"hub", "validate"},
	"report.go":         {"report"},
	"run.go":            {"train"}, // --train-seed's default, the one finetune shows
	"serve.go":          {"engine"},
	"setup.go":          {"engine", "modelstore"},
	"validate.go":       {"engine", "validate"},
}

func TestCmdImportsOnlyWhatItFronts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const internal = "github.com/vulntune/vulntune/internal/"
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		allowed := append([]string{"config", "pipeline"}, cmdImports[f]...)
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			pkg, ok := strings.CutPrefix(path, internal)
			if ok && !slices.Contains(allowed, pkg) {
				t.Errorf("%s imports internal/%s: cmd parses flags and calls packages; move the logic behind pipeline or the package %s fronts (%v)", f, pkg, f, allowed)
			}
		}
	}
}

// TestNoTestCodeInBinary keeps test helpers (modeltest's random models,
// hubtest's Hub stand-in, golden) out of what users install: none of
// vulntune's packages the binary links may be one only tests should use.
func TestNoTestCodeInBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/vulntune/vulntune/") {
			continue
		}
		if base := path.Base(p); strings.HasSuffix(base, "test") || base == "golden" {
			t.Errorf("the vulntune binary links %s, a package for tests", p)
		}
	}
}
