package augment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

// TestCopiesOfEveryFinding makes two copies of every finding of the sample
// and corpus artifacts and narrates them as the dataset build does: each
// copy must pass the dataset's checks of one example (grounding, secrets,
// truncation), name none of the identifiers it replaced anywhere in its
// messages or facts, and keep the facts evaluation scores in step (the
// copy's package, fixed and installed versions are the replacements of
// the original's).
func TestCopiesOfEveryFinding(t *testing.T) {
	t.Parallel()
	ir, err := ingest.Run(context.Background(), []string{"../../examples/artifacts", "../../examples/corpus"}, ingest.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	made, skipped := 0, map[string]int{}
	for i := range ir.Findings {
		f := &ir.Findings[i]
		rem, err := remedy.For(f)
		if err != nil {
			continue
		}
		orig := narrate.Example(f, rem, nil)
		if _, drops := dataset.Screen([]dataset.Example{orig}); len(drops) > 0 {
			continue // the original is not in the dataset either
		}
		for n := 1; n <= 2; n++ {
			c, reps, err := augment.Finding(f, n, augment.Default(), augment.Avoid{})
			if err != nil {
				_, why, _ := strings.Cut(err.Error(), ": ")
				skipped[why]++
				continue
			}
			crem, err := remedy.For(&c)
			if err != nil {
				t.Errorf("finding %s copy %d: remedy: %v", f.ID, n, err)
				continue
			}
			e := narrate.Example(&c, crem, nil)
			made++
			if _, drops := dataset.Screen([]dataset.Example{e}); len(drops) > 0 {
				t.Errorf("finding %s copy %d (%s, %s): fails the dataset check %q: %s\nreplacements %v", f.ID, n, f.Kind, e.Meta.Rule, drops[0].Reason, drops[0].Detail, reps)
				if u := ident.UngroundedIdents(e.Assistant(), e.Prompt()); len(u) > 0 {
					t.Logf("ungrounded: %v", u)
				}
			}
			all := e.Prompt() + "\n" + e.Assistant() + "\n" + fmt.Sprint(e.Meta.Facts)
			if left := augment.Leftovers(all, reps); len(left) > 0 {
				t.Errorf("finding %s copy %d (%s): still names %q", f.ID, n, e.Meta.Rule, left)
			}
			checkFacts(t, orig.Meta.Facts, e.Meta.Facts, reps)
		}
	}
	t.Logf("%d findings, %d copies, skipped: %v", len(ir.Findings), made, skipped)
	if made < len(ir.Findings) {
		t.Errorf("only %d copies of %d findings", made, len(ir.Findings))
	}
}

func checkFacts(t *testing.T, orig, c dataset.Facts, reps []augment.Replacement) {
	t.Helper()
	want := func(kind, old string) string {
		for _, r := range reps {
			if r.Kind == kind && r.Old == old {
				return r.New
			}
		}
		return old
	}
	if c.Package != want(augment.KindPackage, orig.Package) {
		t.Errorf("package %q became %q, replacements %v", orig.Package, c.Package, reps)
	}
	if c.InstalledVersion != want(ident.KindVersion, orig.InstalledVersion) {
		t.Errorf("installed version %q became %q, replacements %v", orig.InstalledVersion, c.InstalledVersion, reps)
	}
	if loc := want(ident.KindPath, want(augment.KindImage, want(augment.KindURLPath, orig.Location))); c.Location != loc {
		t.Errorf("location %q became %q, want %q", orig.Location, c.Location, loc)
	}
	fixed := want(ident.KindVersion, orig.FixedVersion)
	if orig.FixedVersion == "" {
		fixed = want(augment.KindFix, "") // a copy that gained a fix (fix.go)
	}
	if c.FixedVersion != fixed {
		t.Errorf("fixed version %q became %q, replacements %v", orig.FixedVersion, c.FixedVersion, reps)
	}
}
