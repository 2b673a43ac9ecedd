package pipeline

import (
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

// Augmentation configures identifier augmentation of the training split
// (internal/augment): Copies for every training example, up to MaxCopies
// for examples of small kind/tool buckets (dataset.PlanCopies), and
// EcosystemCopies more for each dependency example that can move to
// another ecosystem, each to the ecosystem with the fewest training
// examples so far (balanceEcosystems), drawn from Catalogue.
type Augmentation struct {
	Copies          int
	MaxCopies       int
	EcosystemCopies int
	Catalogue       augment.Catalogue
}

func (a Augmentation) on() bool { return a.Copies > 0 || a.MaxCopies > 0 || a.EcosystemCopies > 0 }

// Reasons a planned copy is not in the dataset, besides the dataset's
// own checks (dataset.ScreenCopies).
const (
	skipNotMade   = "no replacement possible"
	skipNoRemedy  = "no remediation for the copy"
	skipLeftover  = "kept an original identifier"
	skipNoFinding = "original not a finding"
)

// augmentTrain adds the planned copies of the training examples of ex,
// which Split has assigned: each copy is its original's finding with the
// identifiers replaced, narrated as the original was (without LLM prose,
// which names the original's identifiers), in the original's group and
// split, and checked as every example is. A copy that keeps an identifier
// of its original anywhere is left out: it would teach the constant it is
// there to hide.
func augmentTrain(ex []dataset.Example, byID map[string]*finding.Finding, a Augmentation, so dataset.SplitOptions, log *slog.Logger) ([]dataset.Example, *dataset.Augmentation) {
	st := &dataset.Augmentation{Copies: a.Copies, MaxCopies: max(a.MaxCopies, a.Copies), EcosystemCopies: a.EcosystemCopies, Skipped: map[string]int{}, Before: dataset.Mix(ex)}
	plan := dataset.PlanCopies(ex, a.Copies, a.MaxCopies, so.Seed)
	idx := make([]int, 0, len(plan))
	for i := range plan {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	avoid := heldOut(ex, byID)
	var copies []dataset.Example
	moved := map[string]string{}   // copy finding id -> the ecosystem it moved to
	gained := map[string]bool{}    // copy finding ids that gained a fix
	lineMoved := map[string]bool{} // copy finding ids whose fix moved to a later release line
	noCWE := map[string]bool{}     // copy finding ids that lost their CWEs
	noLine := map[string]bool{}    // copy finding ids that lost their line
	noLink := map[string]bool{}    // copy finding ids that lost their rule's page
	inDir := map[string]bool{}     // copy finding ids moved out of their lock file into its directory
	// The ecosystem of each dependency example, originals and copies, by
	// finding id: the training split's build systems (st.Ecosystems).
	ecoOf := map[string]string{}
	for _, e := range ex {
		if f := byID[e.Meta.FindingID]; f != nil && f.Kind == finding.KindDependency && f.Package != nil {
			ecoOf[f.ID] = finding.CanonicalEcosystem(f.Package.Ecosystem)
		}
	}
	// keep narrates copy c of orig's finding f and adds it to copies,
	// unless it cannot: it says whether it did.
	keep := func(orig dataset.Example, f, c *finding.Finding, reps []augment.Replacement, n int) bool {
		rem, err := remedy.For(c)
		if err != nil {
			st.Skipped[skipNoRemedy]++
			return false
		}
		e := narrate.Example(c, rem, nil)
		if left := augment.Leftovers(copyText(e), reps); len(left) > 0 {
			st.Skipped[skipLeftover]++
			log.Debug("copy left out", "finding", f.ID, "copy", n, "kept", len(left))
			return false
		}
		e.Meta.AugmentOf, e.Meta.Group, e.Meta.Split = orig.Meta.FindingID, orig.Meta.Group, orig.Meta.Split
		copies = append(copies, e)
		if c.Kind == finding.KindDependency && c.Package != nil {
			ecoOf[c.ID] = finding.CanonicalEcosystem(c.Package.Ecosystem)
		}
		noCWE[c.ID] = len(f.CWE) > 0 && len(c.CWE) == 0
		noLine[c.ID] = f.Location.StartLine > 0 && c.Location.StartLine == 0
		noLink[c.ID] = f.HelpURI != "" && c.HelpURI == ""
		lineMoved[c.ID] = slices.ContainsFunc(reps, func(r augment.Replacement) bool { return r.Kind == augment.KindFixLine })
		inDir[c.ID] = finding.ManifestEcosystem(f.Location.Path) != "" && c.Location.Path != "" && finding.ManifestEcosystem(c.Location.Path) == ""
		switch {
		case f.Package != nil && len(f.Package.FixedVersions) == 0 && len(c.Package.FixedVersions) > 0:
			// Its ecosystem may be new too: the one its version names.
			gained[c.ID] = true
		case f.Package != nil && c.Package.Ecosystem != f.Package.Ecosystem:
			moved[c.ID] = c.Package.Ecosystem
		}
		return true
	}
	for _, i := range idx {
		orig := ex[i]
		f := byID[orig.Meta.FindingID]
		if f == nil {
			st.Skipped[skipNoFinding] += plan[i]
			continue
		}
		for n := 1; n <= plan[i]; n++ {
			c, reps, err := augment.Finding(f, n, a.Catalogue, avoid)
			if err != nil {
				st.Skipped[skipNotMade]++
				log.Debug("no copy", "finding", f.ID, "copy", n, "err", err)
				continue
			}
			keep(orig, f, &c, reps, n)
		}
	}
	if a.EcosystemCopies > 0 {
		balanceEcosystems(ex, copies, plan, byID, ecoOf, a, func(orig dataset.Example, f *finding.Finding, n int, target string) bool {
			c, reps, err := augment.MovedCopy(f, n, a.Catalogue, avoid, target)
			if err != nil {
				log.Debug("no moved copy", "finding", f.ID, "copy", n, "to", target, "err", err)
				return false
			}
			return keep(orig, f, &c, reps, n)
		}, st)
	}
	kept, drops := dataset.ScreenCopies(copies, ex, so.NearDupThreshold)
	for _, d := range drops {
		st.Skipped[d.Reason]++
	}
	ex = append(ex, kept...)
	st.Added, st.After = len(kept), dataset.Mix(ex)
	for _, e := range ex {
		if eco := ecoOf[e.Meta.FindingID]; eco != "" && e.Meta.Split == dataset.Train {
			if st.Ecosystems == nil {
				st.Ecosystems = map[string]int{}
			}
			st.Ecosystems[eco]++
		}
	}
	for _, e := range kept {
		if gained[e.Meta.FindingID] {
			st.GainedFix++
		}
		if lineMoved[e.Meta.FindingID] {
			st.MovedLine++
		}
		if noCWE[e.Meta.FindingID] {
			st.DroppedCWE++
		}
		if noLine[e.Meta.FindingID] {
			st.DroppedLine++
		}
		if noLink[e.Meta.FindingID] {
			st.DroppedLink++
		}
		if inDir[e.Meta.FindingID] {
			st.InDirectory++
		}
		if eco, ok := moved[e.Meta.FindingID]; ok {
			if st.Moved == nil {
				st.Moved = map[string]int{}
			}
			st.Moved[eco]++
		}
	}
	return ex, st
}

// balanceEcosystems makes a.EcosystemCopies more copies of each training
// example whose finding can move (augment.Targets), every one moved, each
// to the target with the fewest training dependency examples so far
// (originals and copies, by their package's ecosystem in ecoOf), ties
// broken by the copy's own random draw: the samples' dependency findings
// are all of one Gradle project, and a model trained on them wrote Gradle
// snippets for npm, Cargo and Composer findings (bench/RESULTS.md, eighth
// session). A copy that cannot go to its target (versions the target
// cannot write) tries the next. build makes and keeps a copy and says
// whether it did; copy numbers continue after the plan's.
func balanceEcosystems(ex, copies []dataset.Example, plan map[int]int, byID map[string]*finding.Finding, ecoOf map[string]string, a Augmentation, build func(orig dataset.Example, f *finding.Finding, n int, target string) bool, st *dataset.Augmentation) {
	count := map[string]int{}
	for _, list := range [][]dataset.Example{ex, copies} {
		for _, e := range list {
			if eco := ecoOf[e.Meta.FindingID]; eco != "" && e.Meta.Split == dataset.Train {
				count[eco]++
			}
		}
	}
	for i, e := range ex {
		f := byID[e.Meta.FindingID]
		if e.Meta.Split != dataset.Train || f == nil {
			continue
		}
		cands := augment.Targets(f, a.Catalogue)
		if len(cands) == 0 {
			continue
		}
		for k := 1; k <= a.EcosystemCopies; k++ {
			n := plan[i] + k
			order := slices.Clone(cands)
			rng := augment.Seed(f.ID+"|balance", n)
			rng.Shuffle(len(order), func(x, y int) { order[x], order[y] = order[y], order[x] })
			sort.SliceStable(order, func(x, y int) bool { return count[order[x]] < count[order[y]] })
			made := false
			for _, target := range order {
				if build(ex[i], f, n, target) {
					count[target]++
					made = true
					break
				}
			}
			if !made {
				st.Skipped[skipNotMade]++
			}
		}
	}
}

// copyText is every message of e and the facts evaluation scores it by.
func copyText(e dataset.Example) string {
	var b strings.Builder
	for _, m := range e.Messages {
		b.WriteString(m.Content)
		b.WriteByte('\n')
	}
	fc := e.Meta.Facts
	b.WriteString(strings.Join(append([]string{fc.Package, fc.FixedVersion, fc.InstalledVersion, fc.Location}, fc.CWE...), "\n"))
	return b.String()
}

// heldOut collects the identifiers of the examples outside the training
// split, which no copy may take: a copy naming a validation finding's
// package or path would teach what the model is measured on.
func heldOut(ex []dataset.Example, byID map[string]*finding.Finding) augment.Avoid {
	av := augment.Avoid{Packages: map[string]bool{}, VulnIDs: map[string]bool{}, Paths: map[string]bool{}}
	for _, e := range ex {
		f := byID[e.Meta.FindingID]
		if e.Meta.Split == dataset.Train || f == nil {
			continue
		}
		if p := f.Package; p != nil {
			eco := finding.CanonicalEcosystem(p.Ecosystem)
			av.Packages[eco+"|"+finding.CanonicalPackageName(eco, p.Name)] = true
		}
		for _, id := range f.VulnIDs {
			av.VulnIDs[strings.ToUpper(id)] = true
		}
		for _, l := range append([]finding.Location{f.Location}, f.Related...) {
			if l.Path != "" {
				av.Paths[l.Path] = true
			}
		}
	}
	return av
}
