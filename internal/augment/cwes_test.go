package augment_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

// cweFinding is a finding tagged with the CWE ids given, which its text
// names too, as scanners write them.
func cweFinding(id string, cwes ...string) finding.Finding {
	return finding.Finding{
		ID: id, Kind: finding.KindWeb, Severity: finding.SeverityMedium,
		Tools: []finding.Tool{{Name: "zap", RuleID: "10038"}},
		Title: "Content Security Policy (CSP) Header Not Set", CWE: cwes,
		Description: "See " + strings.Join(cwes, " and ") + ".",
	}
}

// replaced returns what copy n of f names instead of old.
func replaced(t *testing.T, f *finding.Finding, n int, cat augment.Catalogue, old string) string {
	t.Helper()
	c, reps, err := augment.Finding(f, n, cat, augment.Avoid{})
	if err != nil {
		t.Fatalf("copy %d of %v: %v", n, f.CWE, err)
	}
	for _, r := range reps {
		if r.Kind == ident.KindCWE && r.Old == old {
			if !slices.Contains(c.CWE, r.New) || len(augment.Leftovers(c.Description, []augment.Replacement{r})) > 0 {
				t.Errorf("copy %d: CWE %v, description %q, after replacing %s with %s", n, c.CWE, c.Description, old, r.New)
			}
			return r.New
		}
	}
	t.Fatalf("copy %d of %v: %s not replaced (%v)", n, f.CWE, old, reps)
	return ""
}

// under reports whether weakness id lies in the subtree of ancestor in the
// Research view (is it, or has it among its parents).
func under(id, ancestor string) bool {
	for cur := id; cur != ""; {
		if cur == ancestor {
			return true
		}
		e, _ := cwe.Lookup(cur)
		cur = e.Parent
	}
	return false
}

// copies is how many copies of each original the property tests draw:
// far more than any run makes of one finding (dataset.augment.max_copies
// is 3), enough to reach every candidate of a set of 40 a few times over.
const copies = 300

// TestCWEReplacedByRelative draws many copies of findings tagged with the
// CWEs the samples and the corpus carry, and checks every copy's CWE: it
// differs from the original, is a weakness MITRE has not deprecated, is
// related as the table says (a sibling, or under the ancestor where the
// neighbourhood first holds MinRelatives weaknesses; a category's members
// and suggestions and their relatives; any weakness for a category
// without either), and the copies together name every candidate (the
// draw is spread, not stuck on one relative) and are the same for the same
// seed.
func TestCWEReplacedByRelative(t *testing.T) {
	t.Parallel()
	tests := []struct {
		orig string
		// siblings: every replacement shares orig's parent (a pillar's:
		// is orig's child); under: else every replacement lies under
		// this ancestor; neither: orig is a category.
		siblings bool
		under    string
		want     int // distinct replacements
	}{
		{orig: "CWE-79", siblings: true, want: 8},   // XSS: the other injections under CWE-74
		{orig: "CWE-89", under: "CWE-943", want: 5}, // SQL: 3 siblings, then CWE-943 and its subtree
		{orig: "CWE-693", siblings: true, want: 21}, // a pillar (ZAP's missing headers): its classes
		{orig: "CWE-1021", under: "CWE-610", want: 6},
		{orig: "CWE-319", under: "CWE-311", want: 11},
		{orig: "CWE-798", under: "CWE-1391", want: 7},
		{orig: "CWE-22", siblings: true, want: 6},
		{orig: "CWE-1321", under: "CWE-913", want: 4},
		{orig: "CWE-400", siblings: true, want: 25},
		{orig: "CWE-352", siblings: true, want: 14},
		{orig: "CWE-1333", under: "CWE-405", want: 16},
		{orig: "CWE-614", under: "CWE-311", want: 11},
		{orig: "CWE-78", under: "CWE-77", want: 4},
		{orig: "CWE-320", want: 4},                     // Key Management Errors: its members
		{orig: "CWE-310", want: 13},                    // Cryptographic Issues: members and CWE-327
		{orig: "CWE-264", want: 40},                    // its mapping notes' CWE-284, then that pillar's children
		{orig: "CWE-16", want: 66},                     // CWE-284 and CWE-400, then their nearest rings
		{orig: "CWE-937", want: len(cwe.Weaknesses())}, // no members, no suggestion: any weakness
	}
	for _, tt := range tests {
		t.Run(tt.orig, func(t *testing.T) {
			t.Parallel()
			o, ok := cwe.Lookup(tt.orig)
			if !ok {
				t.Fatalf("%s is not in the catalogue", tt.orig)
			}
			var related map[string]bool // a category's relatives, all rings
			if o.Type == "category" {
				related = map[string]bool{}
				for _, ring := range cwe.Relatives(tt.orig) {
					for _, r := range ring {
						related[r] = true
					}
				}
			}
			f := cweFinding("finding-"+tt.orig, tt.orig)
			seen, draws := map[string]int{}, make([]string, 0, copies)
			for n := 1; n <= copies; n++ {
				got := replaced(t, &f, n, augment.Default(), tt.orig)
				seen[got]++
				draws = append(draws, got)
				e, _ := cwe.Lookup(got)
				switch {
				case got == tt.orig:
					t.Fatalf("copy %d kept %s", n, got)
				case !cwe.IsWeakness(got):
					t.Fatalf("copy %d: %s is a %s %s", n, got, e.Status, e.Type)
				case tt.siblings && o.Parent != "" && e.Parent != o.Parent:
					t.Fatalf("copy %d: %s (parent %s) is no sibling of %s (parent %s)", n, got, e.Parent, tt.orig, o.Parent)
				case tt.siblings && o.Parent == "" && e.Parent != o.ID:
					t.Fatalf("copy %d: %s (parent %s) is no child of the pillar %s", n, got, e.Parent, tt.orig)
				case tt.under != "" && !under(got, tt.under):
					t.Fatalf("copy %d: %s is not under %s", n, got, tt.under)
				case o.Type == "weakness" && e.Pillar != o.Pillar:
					t.Fatalf("copy %d: %s is under pillar %s, %s under %s", n, got, e.Pillar, tt.orig, o.Pillar)
				case len(related) > 0 && !related[got]:
					t.Fatalf("copy %d: %s is no relative of the category %s", n, got, tt.orig)
				}
			}
			// 300 draws name every candidate of a set of 25 but for a
			// chance of 25·(24/25)^300, about 1e-4; of larger sets, at least
			// half.
			if tt.want <= 25 && len(seen) != tt.want || len(seen) < min(tt.want, copies)/2 {
				t.Errorf("%d copies named %d distinct CWEs, want %d: %v", copies, len(seen), tt.want, seen)
			}
			all := augment.CWEReplacements(tt.orig, nil)
			if len(all) != tt.want {
				t.Errorf("CWEReplacements(%s) = %d ids, want %d", tt.orig, len(all), tt.want)
			}
			for got := range seen {
				if !slices.Contains(all, got) {
					t.Errorf("copies named %s, not among CWEReplacements(%s)", got, tt.orig)
				}
			}
			for _, n := range []int{1, 7, copies} {
				if a, b := replaced(t, &f, n, augment.Default(), tt.orig), draws[n-1]; a != b {
					t.Errorf("copy %d named %s, then %s", n, b, a)
				}
			}
		})
	}
}

// TestCWENotOneTheFindingNames: a finding tagged with a weakness and its
// sibling never has one turned into the other, nor both into one, and
// neither id survives in the copy.
func TestCWENotOneTheFindingNames(t *testing.T) {
	t.Parallel()
	// CWE-80 and CWE-83 are both children of CWE-79 (XSS).
	f := cweFinding("two-siblings", "CWE-79", "CWE-80", "CWE-83")
	for n := 1; n <= copies; n++ {
		c, reps, err := augment.Finding(&f, n, augment.Default(), augment.Avoid{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, id := range c.CWE {
			if slices.Contains(f.CWE, id) || got[id] {
				t.Fatalf("copy %d: CWE %v from %v (replacements %v)", n, c.CWE, f.CWE, reps)
			}
			got[id] = true
		}
		if left := augment.Leftovers(c.Description, reps); len(left) > 0 {
			t.Fatalf("copy %d: description %q still names %v", n, c.Description, left)
		}
	}
}

// TestCWEPool: the configured pool (dataset.augment.cwes) wins; among its
// entries the original's relatives are preferred, nearest first; a pool
// without one is drawn from whole; categories and deprecated entries in it
// are never drawn.
func TestCWEPool(t *testing.T) {
	t.Parallel()
	pool := []string{"CWE-22", "CWE-78", "CWE-89", "CWE-798", "CWE-16", "CWE-71", "CWE-611"}
	tests := []struct {
		orig string
		want []string // every id drawn, and no other
	}{
		// 78 and 89 are under CWE-74 Injection with 79; 22, 611 and 798
		// are not.
		{"CWE-79", []string{"CWE-78", "CWE-89"}},
		// 611 is CWE-1021's only relative in the pool under CWE-610; one is
		// fewer than MinRelatives, so the search widens to the pillar,
		// CWE-664, and takes 22 (under CWE-706) too.
		{"CWE-1021", []string{"CWE-22", "CWE-611"}},
		// The original is in the pool: its relatives there, not itself.
		{"CWE-89", []string{"CWE-78"}},
		// No relative of CWE-693 in the pool: all of its weaknesses.
		{"CWE-693", []string{"CWE-22", "CWE-611", "CWE-78", "CWE-798", "CWE-89"}},
	}
	cat := augment.Default()
	cat.CWEs = pool
	for _, tt := range tests {
		f := cweFinding("pool-"+tt.orig, tt.orig)
		seen := map[string]bool{}
		for n := 1; n <= 100; n++ {
			seen[replaced(t, &f, n, cat, tt.orig)] = true
		}
		got := make([]string, 0, len(seen))
		for id := range seen {
			got = append(got, id)
		}
		sort.Strings(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s with pool %v: drew %v, want %v", tt.orig, pool, got, tt.want)
		}
		if r := augment.CWEReplacements(tt.orig, pool); !sameSet(r, tt.want) {
			t.Errorf("CWEReplacements(%s, pool) = %v, want %v", tt.orig, r, tt.want)
		}
	}
	// A pool with nothing but the original's own id cannot replace it.
	cat.CWEs = []string{"CWE-79"}
	f := cweFinding("pool-of-itself", "CWE-79")
	if _, _, err := augment.Finding(&f, 1, cat, augment.Avoid{}); err == nil || !strings.Contains(err.Error(), "dataset.augment.cwes") {
		t.Errorf("a pool of the original alone: %v, want an error naming the setting", err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// TestSampleCWEsHaveRelatives measures, for every CWE a finding of the
// samples and the corpus carries, how many replacements a copy can draw:
// at least MinRelatives, unless the CWE's whole neighbourhood is smaller,
// and always a relative unless the CWE has none (a category without
// members or suggestions, an id the catalogue lacks). It logs the
// distribution DESIGN.md §8 quotes.
func TestSampleCWEsHaveRelatives(t *testing.T) {
	t.Parallel()
	ir, err := ingest.Run(context.Background(), []string{"../../examples/artifacts", "../../examples/corpus"}, ingest.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, f := range ir.Findings {
		for _, c := range f.CWE {
			ids[ident.NormCWE(c)] = true
		}
	}
	var sizes []int
	var siblingsOnly, fallback, over100 int
	for id := range ids {
		cands := augment.CWEReplacements(id, nil)
		rings := cwe.Relatives(id)
		total := 0
		for _, r := range rings {
			total += len(r)
		}
		switch {
		case len(rings) == 0:
			fallback++
			t.Logf("%s has no relatives: any of %d weaknesses", id, len(cands))
			if len(cands) < len(cwe.Weaknesses())-1 {
				t.Errorf("%s: %d candidates without relatives, want every weakness", id, len(cands))
			}
			continue
		case len(cands) < augment.MinRelatives && len(cands) != total:
			t.Errorf("%s: %d candidates of %d relatives, want at least %d", id, len(cands), total, augment.MinRelatives)
		case len(cands) == len(rings[0]):
			siblingsOnly++
		}
		if len(cands) > 100 {
			over100++
		}
		sizes = append(sizes, len(cands))
	}
	if len(sizes) < 20 {
		t.Fatalf("only %d CWEs with relatives among the findings", len(sizes))
	}
	sort.Ints(sizes)
	t.Logf("%d CWE ids on %d findings: %d without relatives; of the %d with: nearest ring only %d, candidates min %d, median %d, max %d, over 100: %d",
		len(ids), len(ir.Findings), fallback, len(sizes), siblingsOnly, sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1], over100)
}
