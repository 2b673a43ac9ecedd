package engine

import (
	"slices"
	"testing"
)

// TestModuleClosure: an op's identity covers every module its answers
// depend on, those imported inside functions (grounded.py's pin) and
// through another module (answer.py's evaluate) included, and no module
// it never imports; and, where modules are skipped, none that only they
// import (free answers never run grounded decoding).
func TestModuleClosure(t *testing.T) {
	for _, tt := range []struct {
		root      string
		skip      []string
		want, not []string
	}{
		{"evaluate", nil, []string{"chat", "cpumath", "evaluate", "grounded", "lmhead", "pin", "protocol", "repeat", "runtime"}, []string{"answer", "train", "hub"}},
		{"answer", nil, []string{"answer", "evaluate", "grounded", "pin", "repeat"}, []string{"train", "hub"}},
		{"repeat", nil, []string{"protocol", "repeat"}, []string{"grounded"}},
		{"evaluate", []string{"grounded"}, []string{"chat", "cpumath", "evaluate", "lmhead", "protocol", "repeat", "runtime"}, []string{"grounded", "pin"}},
	} {
		got := moduleClosure(tt.root, tt.skip...)
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
