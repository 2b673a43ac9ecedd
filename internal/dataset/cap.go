package dataset

import (
	"crypto/sha256"
	"fmt"
	"sort"
)

// CapPerRule keeps at most max examples per scanner rule (Meta.Rule) and
// returns them in their original order, with how many it dropped per rule.
// One noisy rule (a Semgrep pattern that matches fifty files) otherwise
// outweighs every other lesson: on the bundled samples two rules were 105
// of 188 examples, and the tuned model named their CWE on findings that had
// another. Which examples stay is fixed by seed, so a rebuild keeps the same
// ones. max <= 0 keeps everything.
func CapPerRule(ex []Example, max int, seed int64) ([]Example, map[string]int) {
	dropped := map[string]int{}
	if max <= 0 {
		return ex, dropped
	}
	byRule := map[string][]int{}
	for i, e := range ex {
		if e.Meta.Rule == "" {
			continue
		}
		byRule[e.Meta.Rule] = append(byRule[e.Meta.Rule], i)
	}
	drop := map[int]bool{}
	for rule, idx := range byRule {
		if len(idx) <= max {
			continue
		}
		rank := func(i int) [32]byte {
			return sha256.Sum256(fmt.Appendf(nil, "cap|%d|%s", seed, ex[i].Meta.FindingID))
		}
		sort.Slice(idx, func(a, b int) bool {
			ra, rb := rank(idx[a]), rank(idx[b])
			return string(ra[:]) < string(rb[:])
		})
		for _, i := range idx[max:] {
			drop[i] = true
		}
		dropped[rule] = len(idx) - max
	}
	out := make([]Example, 0, len(ex)-len(drop))
	for i, e := range ex {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out, dropped
}
