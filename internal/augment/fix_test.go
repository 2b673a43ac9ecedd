package augment_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/remedy"
)

// TestGainedFix: with fix_share 1, every copy of an operating-system
// package finding without a fix gains one, the next build on the installed
// release line (replaced like every version, so in order above the copy's
// installed one), the ecosystem its version names, and the image-build
// fix pinning it; with share 0, or for findings that have a fix
// or are no image's packages, nothing changes.
func TestGainedFix(t *testing.T) {
	t.Parallel()
	orig := load(t, "testdata/dependency-os-trivy-nofix.json")
	gain := augment.Default()
	gain.FixShare = 1
	for n := 1; n <= 4; n++ {
		c, reps, err := augment.Finding(&orig, n, gain, augment.Avoid{})
		if err != nil {
			t.Fatal(err)
		}
		p := c.Package
		if p.Ecosystem != "debian" || len(p.FixedVersions) != 1 {
			t.Fatalf("copy %d: ecosystem %q, fixed %q; want debian and one fixed version", n, p.Ecosystem, p.FixedVersions)
		}
		fixed := p.FixedVersions[0]
		if cmp, err := remedy.Compare("debian", p.InstalledVersion, fixed); err != nil || cmp >= 0 {
			t.Errorf("copy %d: fixed %s is not above installed %s (%v)", n, fixed, p.InstalledVersion, err)
		}
		if !strings.Contains(c.Message, "Fixed Version: "+fixed+"\n") {
			t.Errorf("copy %d: message does not name the gained fix %s:\n%s", n, fixed, c.Message)
		}
		if last := reps[len(reps)-1]; last.Kind != augment.KindFix || last.New != fixed {
			t.Errorf("copy %d: last replacement %+v, want the gained fix %s", n, last, fixed)
		}
		e := narrated(t, &c)
		answer := e.Messages[len(e.Messages)-1].Content
		want := "RUN apt-get update && apt-get install -y --only-upgrade " + p.Name + "=" + fixed
		if !strings.Contains(answer, want) {
			t.Errorf("copy %d: answer lacks %q:\n%s", n, want, answer)
		}
		if e.Meta.Facts.FixedVersion != fixed {
			t.Errorf("copy %d: facts' fixed version %q, want %q", n, e.Meta.Facts.FixedVersion, fixed)
		}
		e.Meta.Split = dataset.Train
		if probs := dataset.CheckExamples([]dataset.Example{e}, 0); len(probs) > 0 {
			t.Errorf("copy %d: build checks: %v", n, probs)
		}
		if n == 1 {
			golden.Assert(t, "testdata/dependency-os-trivy-nofix.gains-fix.copy1.golden.txt", []byte(render(reps, e)))
		}
	}

	// Findings that gain nothing.
	none := augment.Default()
	none.FixShare = 0
	withFix := load(t, "testdata/dependency-os-trivy-nofix.json")
	withFix.Package.FixedVersions = []string{"1.5.3-5ubuntu5.5"}
	inFile := load(t, "testdata/dependency-os-trivy-nofix.json")
	inFile.Location = finding.Location{Path: "Dockerfile"}
	unknown := load(t, "testdata/dependency-os-trivy-nofix.json")
	unknown.Package.InstalledVersion = "1.5.3"
	for name, tc := range map[string]struct {
		f   finding.Finding
		cat augment.Catalogue
	}{
		"share 0":            {orig, none},
		"a fix is known":     {withFix, gain},
		"not in an image":    {inFile, gain},
		"no distro revision": {unknown, gain},
	} {
		c, reps, err := augment.Finding(&tc.f, 1, tc.cat, augment.Avoid{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c.Package.FixedVersions) != len(tc.f.Package.FixedVersions) || reps[len(reps)-1].Kind == augment.KindFix {
			t.Errorf("%s: the copy gained a fix: %q", name, c.Package.FixedVersions)
		}
	}
}

// TestNextBuild is the shape of the gained version, through the ecosystems'
// own ordering.
func TestNextBuild(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ eco, installed string }{
		{"debian", "1.5.3-5ubuntu5.4"},
		{"debian", "2.2.40-1.1ubuntu1"},
		{"debian", "1.44.1-1ubuntu1.1"},
		{"debian", "3.0.13-0ubuntu3.5"},
		{"alpine", "3.0.4-r1"},
		{"alpine", "1.36.1-r29"},
	} {
		f := load(t, "testdata/dependency-os-trivy-nofix.json")
		f.Package.InstalledVersion = tc.installed
		f.Message = strings.ReplaceAll(f.Message, "1.5.3-5ubuntu5.4", tc.installed)
		cat := augment.Default()
		cat.FixShare = 1
		c, _, err := augment.Finding(&f, 1, cat, augment.Avoid{})
		if err != nil {
			t.Fatalf("%s: %v", tc.installed, err)
		}
		p := c.Package
		if p.Ecosystem != tc.eco || len(p.FixedVersions) != 1 {
			t.Fatalf("%s: ecosystem %q fixed %q, want %s and one", tc.installed, p.Ecosystem, p.FixedVersions, tc.eco)
		}
		if cmp, err := remedy.Compare(tc.eco, p.InstalledVersion, p.FixedVersions[0]); err != nil || cmp >= 0 {
			t.Errorf("%s: copy's %s is not below its fix %s (%v)", tc.installed, p.InstalledVersion, p.FixedVersions[0], err)
		}
		if tc.eco == "alpine" && !regexp.MustCompile(`-r[0-9]+$`).MatchString(p.FixedVersions[0]) {
			t.Errorf("%s: fix %q lost Alpine's -rN", tc.installed, p.FixedVersions[0])
		}
	}
}
