package augment_test

import (
	"fmt"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/remedy"
)

// moveTo is the default catalogue with every movable copy moving to eco.
func moveTo(eco string) augment.Catalogue {
	cat := augment.Default()
	cat.Ecosystems, cat.EcosystemShare = []string{eco}, 1
	return cat
}

// TestMovedCopy: MovedCopy moves a copy to the ecosystem it is given,
// whatever the share draws, and refuses one Targets does not offer: the
// finding's own, one outside the catalogue, or any for a finding that
// cannot move (a package found in an image).
func TestMovedCopy(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	cat := augment.Default()
	cat.EcosystemShare = 0
	targets := augment.Targets(&f, cat)
	if slices.Contains(targets, "maven") || len(targets) != len(augment.DefaultEcosystems)-1 {
		t.Fatalf("targets of a Maven finding %v: want every default ecosystem but maven", targets)
	}
	for n, eco := range targets {
		c, reps, err := augment.MovedCopy(&f, n+1, cat, augment.Avoid{}, eco)
		if err != nil {
			t.Fatalf("to %s: %v", eco, err)
		}
		if c.Package.Ecosystem != eco || !slices.ContainsFunc(reps, func(r augment.Replacement) bool { return r.Kind == augment.KindEcosystem && r.New == eco }) {
			t.Errorf("to %s: copy in %q, replacements %v", eco, c.Package.Ecosystem, reps)
		}
		if plain, _, _ := augment.Finding(&f, n+1, cat, augment.Avoid{}); plain.Package.Ecosystem != f.Package.Ecosystem {
			t.Errorf("copy %d moved with ecosystem_share 0", n+1)
		}
	}
	image := f
	image.Location.Path = "ghcr.io/acme/app:1.0 (app/lib/guava.jar)"
	for _, tc := range []struct {
		name string
		f    *finding.Finding
		eco  string
	}{
		{"own ecosystem", &f, "maven"},
		{"not in the catalogue", &f, "hex"},
		{"no ecosystem", &f, ""},
		{"found in an image", &image, "npm"},
	} {
		if _, _, err := augment.MovedCopy(tc.f, 1, cat, augment.Avoid{}, tc.eco); err == nil {
			t.Errorf("%s: moved to %q", tc.name, tc.eco)
		}
	}
	if got := augment.Targets(&image, cat); len(got) != 0 {
		t.Errorf("targets of a jar in an image %v: want none", got)
	}
}

// TestMoveEcosystem: a dependency copy moved to another ecosystem has that
// ecosystem's package names, lock file (in the copy's directory), version
// shape and purl, its versions in their original order, no word of the
// original's ecosystem left in its text, and an answer whose fix is the
// new ecosystem's, pinning the copy's fixed version.
func TestMoveEcosystem(t *testing.T) {
	t.Parallel()
	semver := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	gover := regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
	atLeast3 := regexp.MustCompile(`^\d+(\.\d+){2,}$`)
	cases := []struct {
		src, eco string
		files    []string
		shape    *regexp.Regexp
		purl     string
		// fix is the snippet the answer must hold, given the copy's
		// package name and fixed version.
		fix func(name, v string) []string
	}{
		{"maven-gradle-lockfile", "npm", []string{"package-lock.json", "yarn.lock", "pnpm-lock.yaml"}, semver, "pkg:npm/",
			func(n, v string) []string {
				return []string{"npm install " + n + "@" + v, "yarn add " + n + "@" + v, "pnpm add " + n + "@" + v}
			}},
		{"maven-gradle-lockfile", "pypi", []string{"requirements.txt", "poetry.lock", "Pipfile.lock", "uv.lock"}, atLeast3, "pkg:pypi/",
			func(n, v string) []string { return []string{n + "==" + v, n + ">=" + v, n + ` = ">=` + v + `"`} }},
		{"maven-gradle-lockfile", "go", []string{"go.mod"}, gover, "pkg:golang/",
			func(n, v string) []string { return []string{"go get " + n + "@" + v, "require " + n + " " + v} }},
		{"maven-gradle-lockfile", "cargo", []string{"Cargo.lock"}, semver, "pkg:cargo/",
			func(n, v string) []string { return []string{"cargo update -p " + n + " --precise " + v} }},
		{"maven-gradle-lockfile", "rubygems", []string{"Gemfile.lock"}, atLeast3, "pkg:gem/",
			func(n, v string) []string { return []string{"gem '" + n + "', '>= " + v + "'"} }},
		{"maven-gradle-lockfile", "nuget", []string{"packages.lock.json"}, atLeast3, "pkg:nuget/",
			func(n, v string) []string { return []string{"dotnet add package " + n + " --version " + v} }},
		{"maven-gradle-lockfile", "composer", []string{"composer.lock"}, semver, "pkg:composer/",
			func(n, v string) []string { return []string{"composer require " + n + ":^" + v} }},
		{"npm-yarn-transitive", "maven", []string{"gradle.lockfile", "pom.xml", "build.gradle.kts"}, atLeast3, "",
			func(n, v string) []string {
				return []string{"<version>" + v + "</version>", fmt.Sprintf("implementation(\"%s:%s\")", n, v), fmt.Sprintf("implementation('%s:%s')", n, v)}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.src+"-to-"+tc.eco, func(t *testing.T) {
			t.Parallel()
			f := load(t, "testdata/dependency-"+tc.src+".json")
			srcEco := f.Package.Ecosystem
			cat := moveTo(tc.eco)
			for n := 1; n <= 6; n++ {
				c, reps, err := augment.Finding(&f, n, cat, augment.Avoid{})
				if err != nil {
					t.Fatal(err)
				}
				if again, reps2, _ := augment.Finding(&f, n, cat, augment.Avoid{}); !reflect.DeepEqual(c, again) || !reflect.DeepEqual(reps, reps2) {
					t.Fatalf("copy %d: two draws differ", n)
				}
				p := c.Package
				if p.Ecosystem != tc.eco {
					t.Fatalf("copy %d: ecosystem %q, want %q", n, p.Ecosystem, tc.eco)
				}
				pool := augment.DefaultPackages[tc.eco]
				if tc.eco == "go" {
					if !slices.ContainsFunc(pool, func(s string) bool { return strings.HasPrefix(p.Name, strings.TrimSuffix(s, "/v2")) }) {
						t.Errorf("copy %d: package %q is not from the go pool", n, p.Name)
					}
				} else if !slices.Contains(pool, p.Name) {
					t.Errorf("copy %d: package %q is not from the %s pool", n, p.Name, tc.eco)
				}
				if b := path.Base(c.Location.Path); !slices.Contains(tc.files, b) {
					t.Errorf("copy %d: location %q, want one of %q", n, c.Location.Path, tc.files)
				}
				if path.Dir(c.Location.Path) == "." {
					t.Errorf("copy %d: location %q lost its directory", n, c.Location.Path)
				}
				for _, v := range append([]string{p.InstalledVersion}, p.FixedVersions...) {
					if !tc.shape.MatchString(v) {
						t.Errorf("copy %d: version %q is not in %s's shape", n, v, tc.eco)
					}
				}
				// The order of installed and fixed versions is the original's.
				for i, fv := range p.FixedVersions {
					want, _ := remedy.Compare(srcEco, f.Package.InstalledVersion, f.Package.FixedVersions[i])
					got, err := remedy.Compare(tc.eco, p.InstalledVersion, fv)
					if err != nil || got != want {
						t.Errorf("copy %d: %s vs %s orders %d (%v), the original %d", n, p.InstalledVersion, fv, got, err, want)
					}
				}
				if tc.eco == "go" {
					if mj := strings.SplitN(strings.TrimPrefix(p.InstalledVersion, "v"), ".", 2)[0]; mj != "0" && mj != "1" && !strings.HasSuffix(p.Name, "/v"+mj) {
						t.Errorf("copy %d: module %s at %s lacks its major version suffix", n, p.Name, p.InstalledVersion)
					}
				}
				if f.Package.PURL != "" && !strings.HasPrefix(p.PURL, tc.purl) {
					t.Errorf("copy %d: purl %q, want %s...", n, p.PURL, tc.purl)
				}
				text := strings.Join([]string{c.Title, c.Message, c.Description}, "\n")
				for _, w := range []string{"Java ", "Maven", "gradle.lockfile", "yarn.lock", f.Package.Name} {
					if strings.Contains(text, w) {
						t.Errorf("copy %d still names %q: %s", n, w, text)
					}
				}

				e := narrated(t, &c)
				answer := e.Messages[len(e.Messages)-1].Content
				name := remedy.DisplayName(tc.eco, p.Name)
				if !slices.ContainsFunc(tc.fix(name, e.Meta.Facts.FixedVersion), func(s string) bool { return strings.Contains(answer, s) }) {
					t.Errorf("copy %d: answer has none of %q:\n%s", n, tc.fix(name, e.Meta.Facts.FixedVersion), answer)
				}
				if tc.eco != "maven" && regexp.MustCompile(`(?i)gradle|implementation\(|<dependency>`).MatchString(answer) {
					t.Errorf("copy %d: a %s answer with a Gradle or Maven fix:\n%s", n, tc.eco, answer)
				}
				if left := augment.Leftovers(strings.Join([]string{e.Messages[1].Content, answer}, "\n"), reps); len(left) > 0 {
					t.Errorf("copy %d keeps %q", n, left)
				}
				e.Meta.Split = dataset.Train
				if pr := dataset.CheckExamples([]dataset.Example{e}, 0); len(pr) > 0 {
					t.Errorf("copy %d: build checks: %v", n, pr)
				}
			}
		})
	}
}

// TestMoveToDirectory: with directory_share 1 a copy moved out of a lock
// file is located at the lock file's directory, and its answer is still
// its new ecosystem's upgrade (for Go, of the built binary); share 0
// keeps the file, and about half move at 0.5.
func TestMoveToDirectory(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	for _, eco := range []string{"npm", "go", "cargo", "pypi"} {
		cat := moveTo(eco)
		cat.DirectoryShare = 1
		for n := 1; n <= 4; n++ {
			c, _, err := augment.Finding(&f, n, cat, augment.Avoid{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Package.Ecosystem != eco {
				t.Fatalf("%s copy %d: did not move (%s)", eco, n, c.Package.Ecosystem)
			}
			if p := c.Location.Path; p == "" || strings.Contains(p, ".") || finding.ManifestEcosystem(p) != "" {
				t.Errorf("%s copy %d: location %q, want the lock file's directory", eco, n, p)
			}
			e := narrated(t, &c)
			answer := e.Messages[len(e.Messages)-1].Content
			if !strings.Contains(answer, "- File "+c.Location.Path+"\n") || !strings.Contains(answer, "```\n") || !strings.Contains(answer, e.Meta.Facts.FixedVersion) {
				t.Errorf("%s copy %d: the answer does not locate it at %s or give a fix pinning %s:\n%s", eco, n, c.Location.Path, e.Meta.Facts.FixedVersion, answer)
			}
			if eco == "go" && !strings.Contains(answer, "found the module in a built binary") {
				t.Errorf("go copy %d: no word of the built binary:\n%s", n, answer)
			}
			if regexp.MustCompile(`(?i)gradle|implementation\(`).MatchString(answer) {
				t.Errorf("%s copy %d: a Gradle fix:\n%s", eco, n, answer)
			}
		}
		cat.DirectoryShare = 0
		if c, _, _ := augment.Finding(&f, 1, cat, augment.Avoid{}); finding.ManifestEcosystem(c.Location.Path) != eco {
			t.Errorf("share 0: %s copy at %q, want its lock file", eco, c.Location.Path)
		}
	}
	half := moveTo("npm")
	half.DirectoryShare = 0.5
	inDir := 0
	for n := 1; n <= 200; n++ {
		f.ID = fmt.Sprintf("finding-%d", n)
		c, _, err := augment.Finding(&f, 1, half, augment.Avoid{})
		if err != nil {
			t.Fatal(err)
		}
		if finding.ManifestEcosystem(c.Location.Path) == "" {
			inDir++
		}
	}
	if inDir < 70 || inDir > 130 {
		t.Errorf("%d of 200 copies in a directory at share 0.5", inDir)
	}
}

// TestMoveShare: about the configured share of dependency copies move,
// spread over the configured ecosystems; share 0 moves none, and findings
// that are not in a lock file (a jar in an image) never move.
func TestMoveShare(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	count := func(cat augment.Catalogue, f finding.Finding) map[string]int {
		by := map[string]int{}
		for n := 1; n <= 400; n++ {
			f.ID = fmt.Sprintf("finding-%d", n) // a fresh draw each time
			c, _, err := augment.Finding(&f, 1, cat, augment.Avoid{})
			if err != nil {
				t.Fatal(err)
			}
			by[c.Package.Ecosystem]++
		}
		return by
	}
	still := augment.Default()
	still.EcosystemShare = 0
	if by := count(still, f); by["maven"] != 400 {
		t.Errorf("copies moved with share 0: %v", by)
	}
	moving := augment.Default()
	moving.EcosystemShare = 0.75
	by := count(moving, f)
	// 400 draws: the share that stays within some 3.5 standard deviations.
	if stay := 400 * (1 - moving.EcosystemShare); math.Abs(float64(by["maven"])-stay) > 30 {
		t.Errorf("%d of 400 copies stayed with share %g (want about %.0f): %v", by["maven"], moving.EcosystemShare, stay, by)
	}
	for _, e := range augment.DefaultEcosystems {
		if e != "maven" && by[e] == 0 {
			t.Errorf("no copy moved to %s: %v", e, by)
		}
	}
	cat := augment.Default()
	cat.EcosystemShare = 0
	if by := count(cat, f); by["maven"] != 400 {
		t.Errorf("share 0 moved copies: %v", by)
	}
	jar := f
	jar.Location.Path = "app/app.jar"
	if by := count(moveTo("npm"), jar); by["maven"] != 400 {
		t.Errorf("a jar's copies moved: %v", by)
	}
}

// TestMoveAvoid: a moved copy takes no held-out package of its new
// ecosystem.
func TestMoveAvoid(t *testing.T) {
	t.Parallel()
	f := load(t, "testdata/dependency-maven-gradle-lockfile.json")
	avoid := augment.Avoid{Packages: map[string]bool{}}
	for _, nm := range augment.DefaultPackages["npm"] {
		if nm != "lumen-yaml" {
			avoid.Packages["npm|"+finding.CanonicalPackageName("npm", nm)] = true
		}
	}
	for n := 1; n <= 10; n++ {
		c, _, err := augment.Finding(&f, n, moveTo("npm"), avoid)
		if err != nil {
			t.Fatal(err)
		}
		if c.Package.Name != "lumen-yaml" {
			t.Errorf("copy %d took %s", n, c.Package.Name)
		}
	}
}

// TestMoveGolden compares moved copies with reviewed goldens, as
// TestGolden does copies that stay.
func TestMoveGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ src, eco string }{
		{"maven-gradle-lockfile", "npm"}, {"maven-gradle-lockfile", "go"}, {"npm-yarn-transitive", "maven"},
	} {
		t.Run(tc.src+"-to-"+tc.eco, func(t *testing.T) {
			t.Parallel()
			f := load(t, "testdata/dependency-"+tc.src+".json")
			c, reps, err := augment.Finding(&f, 1, moveTo(tc.eco), augment.Avoid{})
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "testdata/dependency-"+tc.src+".to-"+tc.eco+".copy1.golden.txt", []byte(render(reps, narrated(t, &c))))
		})
	}
}
