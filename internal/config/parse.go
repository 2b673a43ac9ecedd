package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseFile walks the YAML tree against the settings table and records the
// node of every known key. It reports unknown keys (with a suggestion),
// sections that are not mappings, duplicate keys and tokens written into
// the file, each with its line.
func (st *state) parseFile(name string, data []byte) []error {
	var doc yaml.Node
	if err := yaml.Unmarshal(bomless(data), &doc); err != nil {
		// yaml.v3 messages already carry "line N:".
		return []error{fmt.Errorf("%s: %w", name, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty or comments only: all defaults
	}
	root := deref(doc.Content[0])
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s:%d: expected a mapping of settings at the top level, got %s", name, root.Line, describe(root))}
	}
	var errs []error
	st.walk(name, root, "", &errs)
	return errs
}

func (st *state) walk(name string, m *yaml.Node, prefix string, errs *[]error) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), deref(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			*errs = append(*errs, fmt.Errorf("%s:%d: keys must be names, got %s", name, k.Line, describe(k)))
			continue
		}
		key := prefix + k.Value
		if line, dup := seen[k.Value]; dup {
			*errs = append(*errs, fmt.Errorf("%s:%d: duplicate key %q (first set on line %d)", name, k.Line, key, line))
			continue
		}
		seen[k.Value] = k.Line
		if s := lookup(key); s != nil {
			if s.secret {
				*errs = append(*errs, fmt.Errorf("%s:%d: %q cannot be set in a config file; set %s in the environment",
					name, k.Line, key, strings.Join(s.envNames(), " or ")))
				continue
			}
			if !isNull(v) {
				st.nodes[key], st.lines[key] = v, k.Line
			}
			continue
		}
		if !isSection(key) {
			*errs = append(*errs, fmt.Errorf("%s:%d: unknown key %q%s", name, k.Line, key, suggest(prefix, k.Value)))
			continue
		}
		switch {
		case isNull(v): // an empty section
		case v.Kind != yaml.MappingNode:
			*errs = append(*errs, fmt.Errorf("%s:%d: %s: expected a section (a mapping of settings), got %s", name, v.Line, key, describe(v)))
		default:
			st.walk(name, v, key+".", errs)
		}
	}
}

// lookup finds the spec of a dotted key.
func lookup(key string) *spec {
	for _, s := range specs {
		if s.key == key {
			return s
		}
	}
	return nil
}

// isSection reports whether some key lies under key.
func isSection(key string) bool {
	return slices.ContainsFunc(specs, func(s *spec) bool { return strings.HasPrefix(s.key, key+".") })
}

// suggest offers the likely intended key: the same name in another section
// (a setting written at the wrong level), else a sibling a typo away.
func suggest(prefix, name string) string {
	for _, s := range specs {
		if !s.secret && strings.HasSuffix(s.key, "."+name) || s.key == name {
			return fmt.Sprintf(" (did you mean %q?)", s.key)
		}
	}
	best, bestD := "", 3
	for _, sib := range children(prefix) {
		if d := osaDistance(name, sib); d < bestD && d < len(name) {
			best, bestD = sib, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// children lists the names directly under a section prefix ("" = top).
func children(prefix string) []string {
	var out []string
	for _, s := range specs {
		if rest, ok := strings.CutPrefix(s.key, prefix); ok {
			name, _, _ := strings.Cut(rest, ".")
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// osaDistance is the optimal-string-alignment edit distance: Levenshtein
// plus adjacent transpositions, the commonest typo ("rnak" → "rank" is 1).
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
