package engine

import (
	"slices"
	"testing"
)

// TestModuleClosure: an op's identity covers every module its answers
// depend on, those imported inside functions (grounded.py's pin) and
// through another module (answer.py's evaluate) included, and no module
// it never imports.
func TestModuleClosure(t *testing.T) {
	for _, tt := range []struct {
		root      string
		want, not []string
	}{
		{"evaluate", []string{"chat", "cpumath", "evaluate", "grounded", "lmhead", "pin", "protocol", "repeat", "runtime"}, []string{"answer", "train", "hub"}},
		{"answer", []string{"answer", "evaluate", "grounded", "pin", "repeat"}, []string{"train", "hub"}},
		{"repeat", []string{"protocol", "repeat"}, []string{"grounded"}},
	} {
		got := moduleClosure(tt.root)
		for _, m := range tt.want {
			if !slices.Contains(got, m) {
				t.Errorf("moduleClosure(%q) = %v, lacks %s", tt.root, got, m)
			}
		}
		for _, m := range tt.not {
			if slices.Contains(got, m) {
				t.Errorf("moduleClosure(%q) = %v, has %s", tt.root, got, m)
			}
		}
		if !slices.IsSorted(got) {
			t.Errorf("moduleClosure(%q) = %v, not sorted", tt.root, got)
		}
	}
}
