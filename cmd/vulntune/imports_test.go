package main

import (
	"go/parser"
	"go/token"
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
	"exitcode.go":       {"dataset", "engine", "interrupt"}, // the error types exit codes map
	"config.go":         {"engine"},                         // the engine's VULNTUNE_* switches, not settings
	"daemon.go":         {"daemon", "ghactions"},
	"daemon_service.go": {"daemon", "ghactions"},
	"daemon_status.go":  {"daemon"},
	"dataset.go":        {"dataset", "engine"}, // the analysis endpoint the engine serves
	"doctor.go":         {"engine", "modelstore"},
	"evaluate.go":       {"evaluate"},
	"finetune.go":       {"train", "hub"},
	"generate.go":       {"engine", "modelstore"},
	"modelhooks.go":     {"evaluate", "validate"}, // their tables
	"models.go":         {"modelstore"},
	"models_pull.go":    {"engine", "modelstore"},
	"parse.go":          {"ingest"},
	"progress.go":       {"train"}, // renders its progress
	"publish.go":        {"hub", "validate"},
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
