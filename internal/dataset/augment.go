package dataset

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
)

// Bucket is what training balances: an example's kind and the tool that
// reported it first ("dependency/trivy"). On the bundled samples one
// bucket family, dependency findings of one Gradle project, was 60% of the
// training split, and the tuned model answered every finding in their
// shape.
func Bucket(e Example) string {
	tool, _, _ := strings.Cut(e.Meta.Rule, ":")
	if tool == "" && len(e.Meta.Tools) > 0 {
		tool = e.Meta.Tools[0]
	}
	return e.Meta.Kind + "/" + tool
}

// PlanCopies decides how many identifier-replaced copies each training
// example gets, by index into ex: every one at least copies, and the
// examples of small buckets more, up to maxCopies, so that each bucket
// comes as close as the bound allows to the largest bucket's size with
// its copies. Within a bucket the extra copies go to examples in an
// order fixed by seed. Examples outside the train split get none: valid
// and test stay what the model is measured on.
func PlanCopies(ex []Example, copies, maxCopies int, seed int64) map[int]int {
	plan := map[int]int{}
	if copies <= 0 && maxCopies <= 0 {
		return plan
	}
	maxCopies = max(maxCopies, copies)
	buckets := map[string][]int{}
	for i, e := range ex {
		if e.Meta.Split == Train && e.Meta.AugmentOf == "" {
			buckets[Bucket(e)] = append(buckets[Bucket(e)], i)
		}
	}
	target := 0
	for _, idx := range buckets {
		target = max(target, len(idx)*(1+copies))
	}
	for _, idx := range buckets {
		n := len(idx)
		extra := min(max(target-n, copies*n), maxCopies*n)
		sort.Slice(idx, func(a, b int) bool {
			ra := sha256.Sum256(fmt.Appendf(nil, "copies|%d|%s", seed, ex[idx[a]].Meta.FindingID))
			rb := sha256.Sum256(fmt.Appendf(nil, "copies|%d|%s", seed, ex[idx[b]].Meta.FindingID))
			return string(ra[:]) < string(rb[:])
		})
		for j, i := range idx {
			k := extra / n
			if j < extra%n {
				k++
			}
			if k > 0 {
				plan[i] = k
			}
		}
	}
	return plan
}

// ScreenCopies checks copies (identifier-replaced training examples) as
// Screen checks originals, and also leaves out a copy that is a
// near-duplicate of a held-out example of ex (a valid or test example):
// a copy stays in its original's split group, and must not join another
// group across splits by resemblance. Drops are sorted by finding id.
func ScreenCopies(copies, ex []Example, nearDup float64) (kept []Example, drops []Drop) {
	if nearDup == 0 {
		nearDup = DefaultNearDup
	}
	kept, drops = Screen(copies)
	var held []Example
	for _, e := range ex {
		if e.Meta.Split != Train {
			held = append(held, e)
		}
	}
	if len(held) == 0 || len(kept) == 0 {
		return kept, drops
	}
	all := append(append([]Example{}, held...), kept...)
	uf := newUnionFind(len(all))
	linkNearDuplicates(all, nearDup, uf)
	heldRoot := map[int]bool{}
	for i := range held {
		heldRoot[uf.find(i)] = true
	}
	out := kept[:0]
	for j, e := range kept {
		if heldRoot[uf.find(len(held)+j)] {
			drops = append(drops, Drop{FindingID: e.Meta.FindingID, Reason: ReasonNearHeldOut, Detail: "a copy resembles a held-out example"})
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(drops, func(a, b int) bool { return drops[a].FindingID < drops[b].FindingID })
	return out, drops
}

// ReasonNearHeldOut is why ScreenCopies leaves out a copy that resembles
// a held-out example.
const ReasonNearHeldOut = "near-duplicate of a held-out example"

// Augmentation records what identifier augmentation and balancing did,
// for stats.json and the card.
type Augmentation struct {
	// Copies is the copies every training example gets; MaxCopies the
	// most one gets when its bucket is small.
	Copies    int `json:"copies"`
	MaxCopies int `json:"max_copies"`
	// EcosystemCopies is the copies each dependency example that can move
	// gets besides, each moved to the least represented ecosystem.
	EcosystemCopies int `json:"ecosystem_copies,omitempty"`
	// Added counts the copies in the dataset; Skipped the copies not made
	// or left out, by reason.
	Added   int            `json:"added"`
	Skipped map[string]int `json:"skipped"`
	// Before and After are the training split's examples by Bucket
	// (kind/tool) without and with the copies.
	Before map[string]int `json:"train_mix_before"`
	After  map[string]int `json:"train_mix_after"`
	// Moved counts the copies in the dataset that moved to another
	// ecosystem, by the ecosystem they moved to.
	Moved map[string]int `json:"moved_to_ecosystem,omitempty"`
	// Ecosystems counts the training split's dependency examples, originals
	// and copies, by their package's ecosystem: the build systems its fix
	// snippets teach.
	Ecosystems map[string]int `json:"train_ecosystems,omitempty"`
	// GainedFix counts the copies in the dataset of operating-system
	// package findings without a fix that gained one (augment.FixShare).
	GainedFix int `json:"gained_fix,omitempty"`
	// MovedLine counts the copies in the dataset of dependency findings
	// whose fix moved to a later release line (augment.LineMoveShare).
	MovedLine int `json:"moved_fix_line,omitempty"`
	// DroppedCWE and DroppedLine count the copies in the dataset of
	// findings with a CWE, or a line, that lost it (augment.DropShare).
	DroppedCWE  int `json:"dropped_cwe,omitempty"`
	DroppedLine int `json:"dropped_line,omitempty"`
	// DroppedLink counts the copies in the dataset of findings with a
	// rule's page that lost it (augment.LinkDropShare).
	DroppedLink int `json:"dropped_link,omitempty"`
	// InDirectory counts the copies in the dataset that moved out of a
	// manifest or lock file into its directory (augment.DirectoryShare).
	InDirectory int `json:"moved_to_directory,omitempty"`
}

// Mix counts the training examples of ex by Bucket.
func Mix(ex []Example) map[string]int {
	out := map[string]int{}
	for _, e := range ex {
		if e.Meta.Split == Train {
			out[Bucket(e)]++
		}
	}
	return out
}
