package config

import (
	"reflect"
	"slices"
)

// Setting is one effective value with its provenance, as `config show`
// prints it.
type Setting struct {
	Key string `json:"key"`
	// Value is the typed value (string, number, bool, list, mapping);
	// for tokens it is only "(set)" or "(unset)".
	Value any `json:"value"`
	// Source is "default", "file:<path>:<line>", "env:<VARIABLE>" or
	// "flag:--<name>".
	Source string `json:"source"`
	Env    string `json:"env"`
	Flag   string `json:"flag,omitempty"`
	Help   string `json:"help"`
	// Compat marks keys accepted from the plan's file but not used.
	Compat bool `json:"compat,omitempty"`
}

// Text is the value as the text table prints it.
func (s Setting) Text() string { return render(s.Value) }

// Settings lists every setting in declaration order with its effective
// value and source. Tokens never appear, only whether they are set.
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(specs))
	for _, s := range specs {
		v := reflect.ValueOf(s.field(c)).Elem().Interface()
		switch x := v.(type) {
		case Secret:
			v = x.String()
		case []string:
			v = slices.Clone(x)
			if x == nil {
				v = []string{}
			}
		case map[string]float64:
			m := make(map[string]float64, len(x))
			for k, f := range x {
				m[k] = f
			}
			v = m
		}
		src := ""
		if c.st != nil {
			src = c.st.sources[s.key]
		}
		out = append(out, Setting{Key: s.key, Value: v, Source: src, Env: envList(s),
			Flag: s.flag, Help: s.help, Compat: s.compat})
	}
	return out
}

// Info describes a setting independent of any loaded config: what the
// reference docs and flag registration need.
type Info struct {
	Key     string
	Env     string // variables that set it, "A or B" when several
	Flag    string // suggested flag name without dashes, "" if none
	Default string // as a user would write it; documentation text for platform defaults
	Help    string
	Compat  bool
	Secret  bool
	// Bool settings take flags without a value (--upload means true).
	Bool bool
	// List settings take a comma-separated flag value, or the flag
	// repeated (--repo a --repo b).
	List bool
}

// Keys lists every setting vulntune knows, in declaration order.
func Keys() []Info {
	out := make([]Info, 0, len(specs))
	for _, s := range specs {
		_, isBool := s.field(&Config{}).(*bool)
		_, isList := s.field(&Config{}).(*[]string)
		out = append(out, Info{Key: s.key, Env: envList(s), Flag: s.flag, Default: s.def,
			Help: s.help, Compat: s.compat, Secret: s.secret, Bool: isBool, List: isList})
	}
	return out
}

// Lookup describes one key; ok is false for a key vulntune does not know.
func Lookup(key string) (Info, bool) {
	for _, in := range Keys() {
		if in.Key == key {
			return in, true
		}
	}
	return Info{}, false
}

func envList(s *spec) string {
	names := s.envNames()
	out := names[0]
	for _, n := range names[1:] {
		out += " or " + n
	}
	return out
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
