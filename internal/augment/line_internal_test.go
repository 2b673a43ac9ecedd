package augment

import (
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
)

// TestBumpPart: the version a moved fix takes, on another release line.
func TestBumpPart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		part int
		want string
	}{
		{"1.3.15", 0, "2.3.15"},
		{"1.3.15", 1, "1.4.15"},
		{"0.5.3", 0, "0.6.3"}, // below 1.0 the minor is the line
		{"v1.2.3", 0, "v2.2.3"},
		{"4.1.1-jre", 1, "4.2.1-jre"},
		{"7", 1, ""},
		{"x", 0, ""},
	} {
		if got := bumpPart(tt.in, tt.part); got != tt.want {
			t.Errorf("bumpPart(%q, %d) = %q, want %q", tt.in, tt.part, got, tt.want)
		}
	}
}

// TestWithMovedFix: the scanner's text names the moved version where it
// named the old one as a version, and nowhere else.
func TestWithMovedFix(t *testing.T) {
	t.Parallel()
	f := &finding.Finding{Kind: finding.KindDependency, Package: &finding.Package{Name: "x", InstalledVersion: "1.3.5", FixedVersions: []string{"1.3.15", "1.2.9"}},
		Message:     "Fixed in 1.3.15. Also 1.3.15.1 and v1.3.150 and 1.3.15",
		Description: "(1.3.15) before 1.3.15, not 11.3.15",
	}
	c := withMovedFix(f, "2.3.15", "1.3.15")
	if want := "Fixed in 2.3.15. Also 1.3.15.1 and v1.3.150 and 2.3.15"; c.Message != want {
		t.Errorf("message %q, want %q", c.Message, want)
	}
	if want := "(2.3.15) before 2.3.15, not 11.3.15"; c.Description != want {
		t.Errorf("description %q, want %q", c.Description, want)
	}
	if len(c.Package.FixedVersions) != 1 || c.Package.FixedVersions[0] != "2.3.15" || f.Package.FixedVersions[0] != "1.3.15" {
		t.Errorf("fixed versions %q (original's %q), want only the moved one, the original's untouched", c.Package.FixedVersions, f.Package.FixedVersions)
	}
}
