package augment_test

import (
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/remedy"
)

// TestMovedFixLine: with line_move_share 1, every copy of a dependency
// finding whose fix is on the installed release line moves it to a later
// line: one fixed version, above the installed one on another line, which
// the copy's answer recommends as remedy writes an other-line upgrade, and
// none of the original's versions left in its text; with share 0, and for
// a Go module, the fix stays on the installed line.
func TestMovedFixLine(t *testing.T) {
	t.Parallel()
	orig := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	move := augment.Default()
	move.LineMoveShare, move.EcosystemShare = 1, 0
	for n := 1; n <= 4; n++ {
		c, reps, err := augment.Finding(&orig, n, move, augment.Avoid{})
		if err != nil {
			t.Fatal(err)
		}
		p := c.Package
		if len(p.FixedVersions) != 1 {
			t.Fatalf("copy %d: fixed %q, want one fixed version", n, p.FixedVersions)
		}
		choice, err := remedy.ChooseFix(p.Ecosystem, p.InstalledVersion, p.FixedVersions)
		if err != nil || choice.Status != remedy.StatusOtherLine {
			t.Errorf("copy %d: %s to %s is %q (%v), want %q", n, p.InstalledVersion, p.FixedVersions[0], choice.Status, err, remedy.StatusOtherLine)
		}
		if last := reps[len(reps)-1]; last.Kind != augment.KindFixLine || last.New != p.FixedVersions[0] {
			t.Errorf("copy %d: last replacement %+v, want the moved fix %s", n, last, p.FixedVersions[0])
		}
		e := narrated(t, &c)
		answer := e.Messages[len(e.Messages)-1].Content
		if e.Meta.Facts.FixLine != string(remedy.StatusOtherLine) || !strings.Contains(answer, "No fix exists on the installed release line") {
			t.Errorf("copy %d: fix line %q, answer:\n%s", n, e.Meta.Facts.FixLine, answer)
		}
		text := e.Messages[0].Content + answer
		for _, v := range []string{"1.3.5", "1.3.15", "1.5.13"} {
			if strings.Contains(text, v) {
				t.Errorf("copy %d: the original's version %s is left in the copy", n, v)
			}
		}
		e.Meta.Split = dataset.Train
		if probs := dataset.CheckExamples([]dataset.Example{e}, 0); len(probs) > 0 {
			t.Errorf("copy %d: build checks: %v", n, probs)
		}
		if n == 1 {
			golden.Assert(t, "testdata/dependency-maven-gradle-lockfile.moves-line.copy1.golden.txt", []byte(render(reps, e)))
		}
	}

	stay := augment.Default()
	stay.LineMoveShare, stay.EcosystemShare = 0, 0
	goMod := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	goMod.Package.Ecosystem, goMod.Package.Name, goMod.Package.PURL = "go", "golang.org/x/net", ""
	goMod.Package.InstalledVersion, goMod.Package.FixedVersions = "v0.3.5", []string{"v0.3.7"}
	goMod.Location.Path = "go.sum"
	for name, tc := range map[string]struct {
		cat  augment.Catalogue
		file string
	}{"share 0": {stay, "maven"}, "a Go module": {move, "go"}} {
		f := orig
		if tc.file == "go" {
			f = goMod
		}
		c, _, err := augment.Finding(&f, 1, tc.cat, augment.Avoid{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if choice, err := remedy.ChooseFix(c.Package.Ecosystem, c.Package.InstalledVersion, c.Package.FixedVersions); err != nil || choice.Status != remedy.StatusSameLine {
			t.Errorf("%s: the copy's fix is %q (%v), want it left on the installed line", name, choice.Status, err)
		}
	}
}
