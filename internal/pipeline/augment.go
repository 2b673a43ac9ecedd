package pipeline

import (
	"log/slog"
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
// for examples of small kind/tool buckets (dataset.PlanCopies), drawn from
// Catalogue.
type Augmentation struct {
	Copies    int
	MaxCopies int
	Catalogue augment.Catalogue
}

func (a Augmentation) on() bool { return a.Copies > 0 || a.MaxCopies > 0 }

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
	st := &dataset.Augmentation{Copies: a.Copies, MaxCopies: max(a.MaxCopies, a.Copies), Skipped: map[string]int{}, Before: dataset.Mix(ex)}
	plan := dataset.PlanCopies(ex, a.Copies, a.MaxCopies, so.Seed)
	idx := make([]int, 0, len(plan))
	for i := range plan {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	avoid := heldOut(ex, byID)
	var copies []dataset.Example
	moved := map[string]string{} // copy finding id -> the ecosystem it moved to
	gained := map[string]bool{}  // copy finding ids that gained a fix
	noCWE := map[string]bool{}   // copy finding ids that lost their CWEs
	noLine := map[string]bool{}  // copy finding ids that lost their line
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
			rem, err := remedy.For(&c)
			if err != nil {
				st.Skipped[skipNoRemedy]++
				continue
			}
			e := narrate.Example(&c, rem, nil)
			if left := augment.Leftovers(copyText(e), reps); len(left) > 0 {
				st.Skipped[skipLeftover]++
				log.Debug("copy left out", "finding", f.ID, "copy", n, "kept", len(left))
				continue
			}
			e.Meta.AugmentOf, e.Meta.Group, e.Meta.Split = orig.Meta.FindingID, orig.Meta.Group, orig.Meta.Split
			copies = append(copies, e)
			noCWE[c.ID] = len(f.CWE) > 0 && len(c.CWE) == 0
			noLine[c.ID] = f.Location.StartLine > 0 && c.Location.StartLine == 0
			switch {
			case f.Package != nil && len(f.Package.FixedVersions) == 0 && len(c.Package.FixedVersions) > 0:
				// Its ecosystem may be new too: the one its version names.
				gained[c.ID] = true
			case f.Package != nil && c.Package.Ecosystem != f.Package.Ecosystem:
				moved[c.ID] = c.Package.Ecosystem
			}
		}
	}
	kept, drops := dataset.ScreenCopies(copies, ex, so.NearDupThreshold)
	for _, d := range drops {
		st.Skipped[d.Reason]++
	}
	ex = append(ex, kept...)
	st.Added, st.After = len(kept), dataset.Mix(ex)
	for _, e := range kept {
		if gained[e.Meta.FindingID] {
			st.GainedFix++
		}
		if noCWE[e.Meta.FindingID] {
			st.DroppedCWE++
		}
		if noLine[e.Meta.FindingID] {
			st.DroppedLine++
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
