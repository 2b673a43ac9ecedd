package config

import (
	"github.com/vulntune/vulntune/internal/atomicfile"

	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is the commented config file `vulntune config init` writes:
// every setting vulntune uses, with its help and default, commented out so
// that the file changes nothing until a line is uncommented. Defaults that
// depend on the platform are left empty, which keeps the default.
func Template() []byte {
	var b bytes.Buffer
	b.WriteString(`# vulntune configuration (docs/configuration.md).
#
# Every setting is listed with its default, commented out; uncomment a line
# to change it. Precedence: flag > environment (VULNTUNE_*) > this file >
# defaults. Relative paths are relative to this file's folder, and "~" is
# your home directory. Tokens are never read from this file: set HF_TOKEN
# and GITHUB_TOKEN in the environment.
`)
	var open []string // sections written so far
	for _, s := range specs {
		if s.compat || s.secret {
			continue
		}
		parts := strings.Split(s.key, ".")
		sections, name := parts[:len(parts)-1], parts[len(parts)-1]
		common := 0
		for common < len(open) && common < len(sections) && open[common] == sections[common] {
			common++
		}
		for i := common; i < len(sections); i++ {
			fmt.Fprintf(&b, "\n%s#%s:\n", indent(i), sections[i])
		}
		open = sections
		in := indent(len(sections))
		fmt.Fprintf(&b, "\n%s# %s\n", in, s.help)
		if s.defFn != nil {
			fmt.Fprintf(&b, "%s# default: %s\n%s#%s:\n", in, s.def, in, name)
			continue
		}
		fmt.Fprintf(&b, "%s#%s: %s\n", in, name, yamlText(s))
	}
	return b.Bytes()
}

func indent(level int) string { return strings.Repeat("  ", level) }

// yamlText writes a spec's default as a YAML value of the right type.
func yamlText(s *spec) string {
	ptr := s.field(&Config{})
	if err := decodeText(ptr, s.def); err != nil {
		panic(fmt.Sprintf("config: default of %s: %v", s.key, err)) // the table is wrong; tests catch it
	}
	switch p := ptr.(type) {
	case *[]string:
		// Each item as YAML writes it, quoted where a plain scalar
		// cannot start with its first character ("@scope/name").
		items := make([]string, len(*p))
		for i, it := range *p {
			out, _ := yaml.Marshal(it)
			items[i] = strings.TrimSpace(string(out))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case *string:
		if *p == "" {
			return `""`
		}
		out, _ := yaml.Marshal(*p)
		return strings.TrimSpace(string(out))
	}
	return s.def
}

// WriteTemplate writes the commented template to path, atomically.
func WriteTemplate(path string) error {
	return atomicfile.WriteFile(path, Template(), 0o644)
}
