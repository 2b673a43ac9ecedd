package config

import (
	"fmt"
	"slices"
	"strings"
)

// testEnvPrefix marks variables the test suites read; no user sets them by
// mistake for a setting, so they are never reported.
const testEnvPrefix = "VULNTUNE_TEST_"

// unknownEnv reports every VULNTUNE_* variable in environ that no setting
// and no other package reads: a typo there silently does nothing, which is
// worse than an error for a value a user meant to set. Each warning names
// the closest known variable when there is a plausible one.
func unknownEnv(environ, other []string) []string {
	known := slices.Clone(other)
	known = append(known, ConfigEnv)
	for _, s := range specs {
		known = append(known, s.envNames()...)
	}
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "VULNTUNE_") || strings.HasPrefix(name, testEnvPrefix) || slices.Contains(known, name) {
			continue
		}
		w := fmt.Sprintf("environment variable %s is not a vulntune setting and is ignored", name)
		if best := closest(name, known); best != "" {
			w += fmt.Sprintf(" (did you mean %s?)", best)
		}
		warnings = append(warnings, w)
	}
	slices.Sort(warnings)
	return warnings
}

// closest is the candidate nearest to name by edit distance, if it is
// near enough to be the intended one: at most a third of name's length
// (after the shared VULNTUNE_ prefix) apart.
func closest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(name, c)
		if bestD < 0 || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, (len(name)-len("VULNTUNE_"))/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between two ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
