package cwe_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

func TestCatalogueLoads(t *testing.T) {
	if err := cwe.Check(); err != nil {
		t.Fatal(err)
	}
	// MITRE's 4.15 list has 964 weaknesses, 409 categories and 54 views.
	if got := cwe.Len(); got != 1427 {
		t.Fatalf("catalogue has %d entries, want 1427", got)
	}
	src := strings.Join(cwe.Source(), "\n")
	for _, want := range []string{"CWE list version 4.15", "cwe-sdk@1.1.19", "The MITRE Corporation"} {
		if !strings.Contains(src, want) {
			t.Errorf("provenance %q lacks %q", src, want)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, wantID, wantName, wantType string
		ok                                   bool
	}{
		{"canonical", "CWE-79", "CWE-79", "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')", "weakness", true},
		{"bare number", "89", "CWE-89", "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')", "weakness", true},
		{"lower case zero padded", "cwe-079", "CWE-79", "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')", "weakness", true},
		{"category", "CWE-16", "CWE-16", "Configuration", "category", true},
		{"view", "CWE-1000", "CWE-1000", "Research Concepts", "view", true},
		{"cookie", "CWE-1004", "CWE-1004", "Sensitive Cookie Without 'HttpOnly' Flag", "weakness", true},
		{"unknown id", "CWE-999999", "", "", "", false},
		{"not a number", "CWE-7x", "", "", "", false},
		{"signed", "+79", "", "", "", false},
		{"empty", "", "", "", "", false},
		{"zero", "CWE-0", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok := cwe.Lookup(tt.id)
			if ok != tt.ok {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.id, ok, tt.ok)
			}
			if !ok {
				return
			}
			if e.ID != tt.wantID || e.Name != tt.wantName || e.Type != tt.wantType {
				t.Errorf("Lookup(%q) = %+v, want id %s name %q type %s", tt.id, e, tt.wantID, tt.wantName, tt.wantType)
			}
			if e.Description == "" && e.Status != "Deprecated" {
				t.Errorf("Lookup(%q) has no description", tt.id)
			}
		})
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"CWE-79", "79", "cwe-079", "CWE 16", "", "CWE-", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := cwe.ParseID(s)
		if ok && n <= 0 {
			t.Fatalf("ParseID(%q) = %d, true", s, n)
		}
	})
}

// TestPlace checks where entries sit in the Research Concepts view, as
// MITRE's 4.15 list places them, and what categories point to.
func TestPlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, abstraction, parent, pillar string
		members, see                    []string
	}{
		{id: "CWE-79", abstraction: "Base", parent: "CWE-74", pillar: "CWE-707"},
		{id: "CWE-89", abstraction: "Base", parent: "CWE-943", pillar: "CWE-707"},
		{id: "CWE-1021", abstraction: "Base", parent: "CWE-441", pillar: "CWE-664"},
		{id: "CWE-798", abstraction: "Base", parent: "CWE-1391", pillar: "CWE-284"},
		{id: "CWE-1333", abstraction: "Base", parent: "CWE-407", pillar: "CWE-664"},
		{id: "CWE-614", abstraction: "Variant", parent: "CWE-319", pillar: "CWE-693"},
		{id: "CWE-352", abstraction: "Compound", parent: "CWE-345", pillar: "CWE-693"},
		{id: "CWE-400", abstraction: "Class", parent: "CWE-664", pillar: "CWE-664"},
		{id: "CWE-693", abstraction: "Pillar", pillar: "CWE-693"},
		// Deprecated: out of the tree.
		{id: "CWE-71", abstraction: "Variant"},
		{id: "CWE-320", members: []string{"CWE-322", "CWE-323", "CWE-324", "CWE-798"}},
		{id: "CWE-310", members: []string{"CWE-261", "CWE-324", "CWE-325", "CWE-328", "CWE-331", "CWE-334", "CWE-335", "CWE-338", "CWE-347", "CWE-916", "CWE-1204", "CWE-1240"}, see: []string{"CWE-327"}},
		// The mapping note names CWE-284 twice and the category never.
		{id: "CWE-264", see: []string{"CWE-284"}},
		{id: "CWE-16", see: []string{"CWE-284", "CWE-400"}},
		{id: "CWE-937"},
		{id: "CWE-1000"},
	}
	for _, tt := range tests {
		e, ok := cwe.Lookup(tt.id)
		if !ok {
			t.Errorf("Lookup(%s) found nothing", tt.id)
			continue
		}
		if e.Abstraction != tt.abstraction || e.Parent != tt.parent || e.Pillar != tt.pillar ||
			!slices.Equal(e.Members, tt.members) || !slices.Equal(e.See, tt.see) {
			t.Errorf("%s: abstraction %q parent %q pillar %q members %q see %q, want %q %q %q %q %q",
				tt.id, e.Abstraction, e.Parent, e.Pillar, e.Members, e.See, tt.abstraction, tt.parent, tt.pillar, tt.members, tt.see)
		}
	}
}

// TestTree checks the whole catalogue: every weakness MITRE has not
// deprecated has a pillar, reached through parents that are such
// weaknesses, and is the only entry of a pillar's chain to be one.
func TestTree(t *testing.T) {
	t.Parallel()
	ws := cwe.Weaknesses()
	if len(ws) < 900 {
		t.Fatalf("%d weaknesses", len(ws))
	}
	pillars := map[string]int{}
	for _, id := range ws {
		e, _ := cwe.Lookup(id)
		chain := []string{id}
		for cur := e; cur.Parent != ""; {
			p, ok := cwe.Lookup(cur.Parent)
			if !ok || !cwe.IsWeakness(p.ID) || len(chain) > 20 {
				t.Fatalf("%s: chain %v reaches %s, not a weakness of the tree", id, chain, cur.Parent)
			}
			chain = append(chain, p.ID)
			cur = p
		}
		top, _ := cwe.Lookup(chain[len(chain)-1])
		if top.Abstraction != "Pillar" || e.Pillar != top.ID {
			t.Errorf("%s: chain %v ends at a %s, pillar recorded %q", id, chain, top.Abstraction, e.Pillar)
		}
		pillars[top.ID]++
	}
	// MITRE's ten pillars.
	if len(pillars) != 10 {
		t.Errorf("pillars %v, want 10", pillars)
	}
}

// TestRelatives checks the rings of relatives: the nearest ring of a
// weakness is its siblings, every ring shares the pillar, a pillar's first
// ring is its children, a category's its member and suggested weaknesses,
// and no ring holds the entry itself, a repeat, a category or a deprecated
// weakness.
func TestRelatives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id        string
		wantFirst []string // the nearest ring, exactly
		wantNone  bool
	}{
		{id: "CWE-89", wantFirst: []string{"CWE-90", "CWE-643", "CWE-652"}},
		{id: "CWE-1021", wantFirst: []string{"CWE-918"}},
		{id: "CWE-320", wantFirst: []string{"CWE-322", "CWE-323", "CWE-324", "CWE-798"}},
		{id: "CWE-264", wantFirst: []string{"CWE-284"}},
		{id: "cwe-016", wantFirst: []string{"CWE-284", "CWE-400"}},
		// 1321's parent (CWE-915) has no other child: its first ring is
		// the parent itself.
		{id: "CWE-1321", wantFirst: []string{"CWE-915"}},
		{id: "CWE-79"},
		{id: "CWE-693"},
		{id: "CWE-310"},
		{id: "CWE-937", wantNone: true},
		{id: "CWE-71", wantNone: true},
		{id: "CWE-1000", wantNone: true},
		{id: "CWE-999999", wantNone: true},
		{id: "not a cwe", wantNone: true},
	}
	for _, tt := range tests {
		rings := cwe.Relatives(tt.id)
		if tt.wantNone {
			if rings != nil {
				t.Errorf("Relatives(%s) = %v, want none", tt.id, rings)
			}
			continue
		}
		if len(rings) == 0 {
			t.Errorf("Relatives(%s) is empty", tt.id)
			continue
		}
		if tt.wantFirst != nil && !slices.Equal(rings[0], tt.wantFirst) {
			t.Errorf("Relatives(%s)[0] = %v, want %v", tt.id, rings[0], tt.wantFirst)
		}
		e, _ := cwe.Lookup(tt.id)
		seen := map[string]bool{}
		for i, ring := range rings {
			if len(ring) == 0 {
				t.Errorf("Relatives(%s) ring %d is empty", tt.id, i)
			}
			for _, r := range ring {
				re, _ := cwe.Lookup(r)
				switch {
				case r == e.ID || seen[r]:
					t.Errorf("Relatives(%s) ring %d repeats %s", tt.id, i, r)
				case !cwe.IsWeakness(r):
					t.Errorf("Relatives(%s) ring %d holds %s, a %s %s", tt.id, i, r, re.Status, re.Type)
				case e.Type == "weakness" && re.Pillar != e.Pillar:
					t.Errorf("Relatives(%s) ring %d holds %s under pillar %s, not %s", tt.id, i, r, re.Pillar, e.Pillar)
				case i == 0 && e.Type == "weakness" && e.Parent != "" && re.Parent != e.Parent && r != e.Parent:
					t.Errorf("Relatives(%s) nearest ring holds %s, child of %s, not a sibling", tt.id, r, re.Parent)
				case i == 0 && e.Abstraction == "Pillar" && re.Parent != e.ID:
					t.Errorf("Relatives(%s) nearest ring holds %s, not a child", tt.id, r)
				}
				seen[r] = true
			}
		}
	}
}
