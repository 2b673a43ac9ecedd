package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// spec declares one setting. The table of specs in defaults.go is the only
// place a key, its environment variable, flag, default and help are written;
// Load, `config show`, `config init` and docs/configuration.md all read it.
type spec struct {
	key  string // dotted YAML key
	flag string // flag name commands should use ("" = no flag)
	// def is the default as a user would write it in the environment; for
	// platform-dependent defaults it is the documentation text and defFn
	// computes the value.
	def   string
	defFn func(c *Config, p platform) string
	help  string
	// compat marks keys of the plan's file that are accepted but unused.
	compat bool
	// path values expand "~" and resolve relative to the config file;
	// tilde values only expand "~".
	path, tilde bool
	// envs overrides the derived VULNTUNE_* name; secrets list theirs.
	envs   []string
	secret bool
	field  func(c *Config) any // pointer to the field
	check  func(v any) error   // nil = any value of the type is valid
}

// envNames returns the environment variables that set s, in precedence order.
func (s *spec) envNames() []string {
	if s.envs != nil {
		return s.envs
	}
	return []string{EnvName(s.key)}
}

// EnvName is the environment variable that overrides a dotted key:
// VULNTUNE_ and the key in upper snake case (fine_tuning.lora.rank →
// VULNTUNE_FINE_TUNING_LORA_RANK).
func EnvName(key string) string {
	return "VULNTUNE_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// typeName says what a field of the pointer's type accepts, for errors.
func typeName(ptr any) string {
	switch ptr.(type) {
	case *int, *int64:
		return "an integer"
	case *float64:
		return "a number"
	case *bool:
		return "true or false"
	case *[]string:
		return "a list of strings"
	case *map[string]float64:
		return "a mapping of names to numbers"
	}
	return "a string"
}

// decodeText parses an environment, flag or default value into ptr. Lists
// are comma-separated or a YAML flow list; mappings are YAML or JSON.
func decodeText(ptr any, text string) error {
	t := strings.TrimSpace(text)
	bad := func() error { return fmt.Errorf("expected %s, got %q", typeName(ptr), text) }
	switch p := ptr.(type) {
	case *string:
		*p = text
	case *Secret:
		*p = Secret(text)
	case *int:
		n, err := strconv.ParseInt(t, 10, strconv.IntSize)
		if err != nil {
			return bad()
		}
		*p = int(n)
	case *int64:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return bad()
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad()
		}
		*p = f
	case *bool:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return bad()
		}
		*p = b
	case *[]string:
		if strings.HasPrefix(t, "[") {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(t), &n); err != nil || len(n.Content) != 1 {
				return bad()
			}
			return decodeNode(ptr, n.Content[0])
		}
		out := []string{}
		for _, f := range strings.Split(t, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		*p = out
	case *map[string]float64:
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(t), &n); err != nil || len(n.Content) != 1 {
			return bad()
		}
		return decodeNode(ptr, n.Content[0])
	default:
		return fmt.Errorf("internal error: no decoder for %T", ptr)
	}
	return nil
}

// decodeNode type-checks a YAML node against the field and stores it. It is
// stricter than yaml.v3's own decoding: a quoted "8" is not an integer and a
// mapping is never silently turned into a string.
func decodeNode(ptr any, n *yaml.Node) error {
	got := describe(n)
	bad := func() error { return fmt.Errorf("expected %s, got %s", typeName(ptr), got) }
	switch p := ptr.(type) {
	case *[]string:
		if n.Kind != yaml.SequenceNode {
			return bad()
		}
		out := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode || item.ShortTag() == "!!null" {
				return fmt.Errorf("line %d: list item: expected a string, got %s", item.Line, describe(item))
			}
			out = append(out, item.Value)
		}
		*p = out
		return nil
	case *map[string]float64:
		if n.Kind != yaml.MappingNode {
			return bad()
		}
		out := make(map[string]float64, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := deref(n.Content[i]), deref(n.Content[i+1])
			tag := v.ShortTag()
			if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") {
				return fmt.Errorf("line %d: %s: expected a number, got %s", v.Line, k.Value, describe(v))
			}
			var f float64
			if err := v.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("line %d: %s: expected a number, got %s", v.Line, k.Value, describe(v))
			}
			out[k.Value] = f
		}
		*p = out
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return bad()
	}
	want := map[reflect.Type][]string{
		reflect.TypeFor[*int]():     {"!!int"},
		reflect.TypeFor[*int64]():   {"!!int"},
		reflect.TypeFor[*float64](): {"!!int", "!!float"},
		reflect.TypeFor[*bool]():    {"!!bool"},
	}[reflect.TypeOf(ptr)]
	if want == nil { // strings take any scalar's text
		return decodeText(ptr, n.Value)
	}
	for _, tag := range want {
		if n.ShortTag() == tag {
			if err := n.Decode(ptr); err != nil {
				return bad()
			}
			if f, ok := ptr.(*float64); ok && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
				return bad()
			}
			return nil
		}
	}
	return bad()
}

// describe names a node's type and value for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	}
	return fmt.Sprintf("%q", n.Value)
}

// deref follows YAML aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether a node is an explicit null (`key:` or `key: ~`),
// which leaves the setting at its lower-precedence value.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// render formats a value for the text table of `config show`.
func render(v any) string {
	switch x := v.(type) {
	case Secret:
		return x.String()
	case []string:
		if len(x) == 0 {
			return "[]"
		}
		return strings.Join(x, ",")
	case map[string]float64:
		if len(x) == 0 {
			return "{}"
		}
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + strconv.FormatFloat(x[k], 'g', -1, 64)
		}
		return strings.Join(parts, ",")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if x == "" {
			return `""`
		}
		return x
	}
	return fmt.Sprint(v)
}
