package cwe_test

import (
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
