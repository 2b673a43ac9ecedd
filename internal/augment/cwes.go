package augment

import (
	"fmt"
	"sync"

	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

// MinRelatives is how many replacements a CWE's neighbourhood must offer
// before cweCandidates stops widening it. A copy must not be able to
// teach its CWE as a constant: with one or two candidates, every copy of
// an SQL injection finding would name one of two ids, which could be
// guessed from the finding's text instead of copied from the prompt. Each
// further ring brings in more distant weaknesses, and the copy's "Address
// the underlying weakness" step reads less true. Over the 157 weaknesses
// the samples' and corpus' files name (rule metadata included), 4 keeps
// 92 within siblings and sends 3 to a whole pillar's subtree (over 100
// candidates); 5 would send 8 there, 8 would send 14 (DESIGN.md §8).
const MinRelatives = 4

// cweCandidates lists, in a fixed order, the ids CWE num may be replaced
// with: its relatives in MITRE's Research Concepts view (cwe.Relatives),
// the nearest rings first, widened ring by ring until they hold at least
// MinRelatives usable ids or the rings run out. So a CWE-79 copy names
// another child of CWE-74 Injection, not CWE-822 Untrusted Pointer
// Dereference, and a copy of a ZAP "missing Content-Security-Policy"
// finding (CWE-693, a pillar) one of that pillar's classes.
//
// Usable means not num, not in taken (what the finding names, what its
// other CWEs became), a weakness MITRE has not deprecated, and in pool
// when pool (dataset.augment.cwes) is set: the configured pool still wins,
// and its entries that are relatives are preferred, nearest first. Only
// where no usable relative exists (a category without members such as
// CWE-937, an id the catalogue lacks, a pool of strangers) is the whole
// pool used, every weakness of the catalogue when none is configured: a
// CWE must still be replaced, or the copy would teach it as a constant.
func cweCandidates(num int, pool []string, taken map[int]bool) []int {
	var inPool map[int]bool // nil: every weakness is in the pool
	var poolIDs []int
	if len(pool) > 0 {
		inPool = map[int]bool{}
		for _, p := range pool {
			if n, ok := cwe.ParseID(p); ok && cwe.IsWeakness(p) && !inPool[n] {
				inPool[n] = true
				poolIDs = append(poolIDs, n)
			}
		}
	} else {
		poolIDs = defaultCWEs()
	}
	usable := func(n int) bool { return n != num && !taken[n] && (inPool == nil || inPool[n]) }
	var cands []int
	for _, ring := range cwe.Relatives(fmt.Sprintf("CWE-%d", num)) {
		for _, id := range ring {
			if n, ok := cwe.ParseID(id); ok && usable(n) {
				cands = append(cands, n)
			}
		}
		if len(cands) >= MinRelatives {
			break
		}
	}
	if len(cands) > 0 {
		return cands
	}
	for _, n := range poolIDs {
		if usable(n) {
			cands = append(cands, n)
		}
	}
	return cands
}

// CWEReplacements lists the ids a copy of a finding tagged with CWE id may
// name instead, drawing from pool (Catalogue.CWEs; empty: every weakness),
// before what the finding itself names is set aside: its relatives that
// cweCandidates would offer, else the pool. Nil when id is not a CWE id.
func CWEReplacements(id string, pool []string) []string {
	num, ok := cwe.ParseID(id)
	if !ok {
		return nil
	}
	var out []string
	for _, n := range cweCandidates(num, pool, nil) {
		out = append(out, fmt.Sprintf("CWE-%d", n))
	}
	return out
}

// defaultCWEs are the weaknesses of the catalogue MITRE has not
// deprecated, as numbers: a category or view is not what a finding is
// tagged with.
var defaultCWEs = sync.OnceValue(func() []int {
	var out []int
	for _, id := range cwe.Weaknesses() {
		if n, ok := cwe.ParseID(id); ok {
			out = append(out, n)
		}
	}
	return out
})
