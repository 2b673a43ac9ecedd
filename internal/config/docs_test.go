package config_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/golden"
)

const (
	docsPath   = "../../docs/configuration.md"
	beginTable = "<!-- BEGIN GENERATED: go test ./internal/config -run TestDocsCurrent -update -->"
	endTable   = "<!-- END GENERATED -->"
)

// referenceTables renders the key tables of docs/configuration.md from the
// settings table, so the docs cannot drift from the code.
func referenceTables() string {
	var used, compat bytes.Buffer
	head := "| Key | Environment | Flag | Default | Meaning |\n|---|---|---|---|---|\n"
	used.WriteString(head)
	compat.WriteString("| Key | Environment |\n|---|---|\n")
	for _, in := range config.Keys() {
		if in.Compat {
			fmt.Fprintf(&compat, "| `%s` | `%s` |\n", in.Key, in.Env)
			continue
		}
		flag, def := "", "`"+in.Default+"`"
		if in.Flag != "" {
			flag = "`--" + in.Flag + "`"
		}
		switch {
		case in.Secret:
			def = "unset"
		case in.Default == "":
			def = `""`
		}
		env := "`" + strings.ReplaceAll(in.Env, " or ", "` or `") + "`"
		fmt.Fprintf(&used, "| `%s` | %s | %s | %s | %s |\n", in.Key, env, flag, def, strings.ReplaceAll(in.Help, "|", `\|`))
	}
	return used.String() + "\nAccepted for compatibility with the original plan's file, type-checked, and\nnot used by vulntune (`vulntune config show --all` lists them):\n\n" + compat.String()
}

func TestDocsCurrent(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start, end := strings.Index(doc, beginTable), strings.Index(doc, endTable)
	if start < 0 || end < start {
		t.Fatalf("%s lacks the generated-table markers", docsPath)
	}
	want := doc[:start+len(beginTable)] + "\n\n" + referenceTables() + "\n" + doc[end:]
	if want == doc {
		return
	}
	if golden.Update() {
		t.Logf("UPDATING %s", filepath.Clean(docsPath))
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: run go test ./internal/config -run TestDocsCurrent -update", docsPath)
}
