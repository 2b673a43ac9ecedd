package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
)

// SplitOptions controls Split.
// DefaultNearDup is the word 3-shingle Jaccard similarity at or above which
// two examples count as near-duplicates, kept in one split by Split and
// checked across splits by CheckExamples.
const DefaultNearDup = 0.9

type SplitOptions struct {
	ValidFraction float64 // default 0.2
	TestFraction  float64 // default 0
	Seed          int64
	// NearDupThreshold is the word-shingle Jaccard similarity at or above
	// which two examples count as near-duplicates and must share a split
	// (default DefaultNearDup).
	NearDupThreshold float64
}

// SplitStats reports what Split did.
type SplitStats struct {
	Groups         int                       `json:"groups"`
	LargestGroup   int                       `json:"largest_group"`
	NearDupUnions  int                       `json:"near_duplicate_links"`
	ExamplesPer    map[string]int            `json:"examples_per_split"`
	GroupsPer      map[string]int            `json:"groups_per_split"`
	KindsPerSplit  map[string]map[string]int `json:"kinds_per_split"`
	ValidFraction  float64                   `json:"valid_fraction"`
	TestFraction   float64                   `json:"test_fraction"`
	Seed           int64                     `json:"seed"`
	NearDupMinimum float64                   `json:"near_duplicate_threshold"`
}

// Split assigns every example a Group and a Split, in place. Examples that
// share a finding, a package+vulnerability key, a rule+path key, or that are
// near-duplicates of each other form one group, and a group never straddles
// splits, so nothing the model is evaluated on was seen in training in
// another guise. Groups are assigned per kind (stratified), in an order fixed
// by the seed, so the same input and seed always give the same split.
func Split(ex []Example, opts SplitOptions) (SplitStats, error) {
	if opts.ValidFraction == 0 && opts.TestFraction == 0 {
		opts.ValidFraction = 0.2
	}
	if opts.ValidFraction < 0 || opts.TestFraction < 0 || opts.ValidFraction+opts.TestFraction >= 1 {
		return SplitStats{}, fmt.Errorf("split fractions valid %.2f + test %.2f: want each >= 0 and a sum below 1", opts.ValidFraction, opts.TestFraction)
	}
	if opts.NearDupThreshold == 0 {
		opts.NearDupThreshold = DefaultNearDup
	}
	uf := newUnionFind(len(ex))
	owner := map[string]int{}
	for i, e := range ex {
		keys := append([]string{"finding:" + e.Meta.FindingID}, e.Meta.Keys...)
		for _, k := range keys {
			if j, ok := owner[k]; ok {
				uf.union(i, j)
			} else {
				owner[k] = i
			}
		}
	}
	links := linkNearDuplicates(ex, opts.NearDupThreshold, uf)

	// Group id: the smallest finding id in the group, independent of order.
	members := map[int][]int{}
	for i := range ex {
		r := uf.find(i)
		members[r] = append(members[r], i)
	}
	type group struct {
		id    string
		kind  string
		idx   []int
		order [32]byte
	}
	byKind := map[string][]*group{}
	for _, idx := range members {
		g := &group{}
		for _, i := range idx {
			if g.id == "" || ex[i].Meta.FindingID < g.id {
				g.id, g.kind = ex[i].Meta.FindingID, ex[i].Meta.Kind
			}
		}
		g.idx = idx
		g.order = sha256.Sum256([]byte(fmt.Sprintf("%d|%s", opts.Seed, g.id)))
		byKind[g.kind] = append(byKind[g.kind], g)
	}
	st := SplitStats{
		ExamplesPer: map[string]int{Train: 0, Valid: 0}, GroupsPer: map[string]int{Train: 0, Valid: 0},
		KindsPerSplit: map[string]map[string]int{}, ValidFraction: opts.ValidFraction,
		TestFraction: opts.TestFraction, Seed: opts.Seed, NearDupUnions: links, NearDupMinimum: opts.NearDupThreshold,
	}
	if opts.TestFraction > 0 {
		st.ExamplesPer[Test], st.GroupsPer[Test] = 0, 0
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		groups := byKind[kind]
		sort.Slice(groups, func(a, b int) bool {
			return string(groups[a].order[:]) < string(groups[b].order[:])
		})
		total := 0
		for _, g := range groups {
			total += len(g.idx)
		}
		want := map[string]int{
			Valid: int(math.Round(opts.ValidFraction * float64(total))),
			Test:  int(math.Round(opts.TestFraction * float64(total))),
		}
		got := map[string]int{}
		for gi, g := range groups {
			split := Train
			// Keep at least one group for training in every kind that has
			// more than one; a kind with a single group trains on it.
			lastGroups := len(groups) - gi
			for _, s := range []string{Valid, Test} {
				if want[s] > 0 && got[s] < want[s] && got[s]+len(g.idx) <= want[s]+len(g.idx)/2 && lastGroups > 1 {
					split = s
					break
				}
			}
			got[split] += len(g.idx)
			for _, i := range g.idx {
				ex[i].Meta.Group = g.id
				ex[i].Meta.Split = split
			}
			st.GroupsPer[split]++
			st.ExamplesPer[split] += len(g.idx)
			if st.KindsPerSplit[split] == nil {
				st.KindsPerSplit[split] = map[string]int{}
			}
			st.KindsPerSplit[split][kind] += len(g.idx)
			if len(g.idx) > st.LargestGroup {
				st.LargestGroup = len(g.idx)
			}
			st.Groups++
		}
	}
	return st, nil
}

type unionFind struct{ parent []int }

func newUnionFind(n int) *unionFind {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return &unionFind{p}
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

func (u *unionFind) union(a, b int) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return false
	}
	u.parent[ra] = rb
	return true
}

// Near-duplicate detection: MinHash signatures over word 3-shingles with
// locality-sensitive banding find candidate pairs in near-linear time; each
// candidate is confirmed with the exact Jaccard similarity.
const (
	mhBands = 16
	mhRows  = 4
	mhSize  = mhBands * mhRows
)

func shingles(text string) map[uint64]struct{} {
	words := strings.Fields(strings.ToLower(text))
	set := map[uint64]struct{}{}
	add := func(ws []string) {
		h := sha256.Sum256([]byte(strings.Join(ws, " ")))
		set[binary.LittleEndian.Uint64(h[:8])] = struct{}{}
	}
	if len(words) < 3 {
		add(words)
		return set
	}
	for i := 0; i+3 <= len(words); i++ {
		add(words[i : i+3])
	}
	return set
}

func minhash(set map[uint64]struct{}) [mhSize]uint64 {
	var sig [mhSize]uint64
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	for h := range set {
		for i := range sig {
			// A cheap family of hash functions: xorshift-multiply of h with
			// a per-row constant.
			x := h ^ (uint64(i+1) * 0x9E3779B97F4A7C15)
			x ^= x >> 33
			x *= 0xff51afd7ed558ccd
			x ^= x >> 33
			if x < sig[i] {
				sig[i] = x
			}
		}
	}
	return sig
}

func jaccard(a, b map[uint64]struct{}) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for h := range a {
		if _, ok := b[h]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// exampleText is what near-duplicate detection compares: both turns that
// vary between examples (the system prompt is the same for all).
func exampleText(e Example) string { return e.User() + "\n" + e.Assistant() }

func linkNearDuplicates(ex []Example, threshold float64, uf *unionFind) int {
	sets := make([]map[uint64]struct{}, len(ex))
	buckets := map[[2]uint64][]int{}
	for i, e := range ex {
		sets[i] = shingles(exampleText(e))
		sig := minhash(sets[i])
		for b := 0; b < mhBands; b++ {
			var key uint64 = 1469598103934665603
			for r := 0; r < mhRows; r++ {
				key = (key ^ sig[b*mhRows+r]) * 1099511628211
			}
			k := [2]uint64{uint64(b), key}
			buckets[k] = append(buckets[k], i)
		}
	}
	links := 0
	checked := map[[2]int]bool{}
	for _, idx := range buckets {
		for x := 0; x < len(idx); x++ {
			for y := x + 1; y < len(idx); y++ {
				a, b := idx[x], idx[y]
				if checked[[2]int{a, b}] {
					continue
				}
				checked[[2]int{a, b}] = true
				if uf.find(a) != uf.find(b) && jaccard(sets[a], sets[b]) >= threshold {
					uf.union(a, b)
					links++
				}
			}
		}
	}
	return links
}
