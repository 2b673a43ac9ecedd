package augment

import (
	"regexp"
	"strconv"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

// A copy whose fix moves to a later release line (issue 16): two thirds of
// the samples' dependency fixes are on the installed release line, and a
// tuned model called 10 of the other projects' 11 fixes on a later line
// "the lowest fixed version on the installed release line" (hoek 2.16.3 to
// 4.2.1), a patch upgrade to a user who then skips two majors' release
// notes. Copy n of such a finding may have its fix moved to a later line:
// the recommended fixed version with its major (or, half the time and
// always below 1.0, its minor) one higher, the only fixed version the
// copy has, then replaced like every version (in order and on its own
// line). remedy then writes the copy's other-line answer ("the lowest
// fixed version above the installed one … No fix exists on the installed
// release line") as it does for a finding that came with one.

// movedFix returns the fixed version copy n of f moves its fix to, and the
// version it replaces, or "", "" when it moves none: f is a dependency of a
// language ecosystem whose recommended fix is on the installed release
// line, and the copy falls in cat.LineMoveShare. Go modules are left
// alone: a Go module's next major is another module path (…/v2), which a
// moved version would not write. target is the ecosystem the copy moves
// to ("" when it stays: moveTarget).
func movedFix(f *finding.Finding, n int, cat Catalogue, target string) (moved, old string) {
	p := f.Package
	if p == nil || f.Kind != finding.KindDependency || cat.LineMoveShare <= 0 || len(p.FixedVersions) == 0 || p.InstalledVersion == "" {
		return "", ""
	}
	eco := finding.CanonicalEcosystem(p.Ecosystem)
	if eco == "" || eco == "go" || target == "go" || remedy.OSPackage(eco) {
		return "", ""
	}
	c, err := remedy.ChooseFix(eco, p.InstalledVersion, p.FixedVersions)
	if err != nil || c.Status != remedy.StatusSameLine {
		return "", ""
	}
	rng := Seed(f.ID+"|line", n)
	if rng.Float64() >= cat.LineMoveShare {
		return "", ""
	}
	part := 0
	if rng.IntN(2) == 1 {
		part = 1
	}
	moved = bumpPart(c.Fixed, part)
	if moved == "" {
		return "", ""
	}
	if mc, err := remedy.ChooseFix(eco, p.InstalledVersion, []string{moved}); err != nil || mc.Status != remedy.StatusOtherLine {
		return "", ""
	}
	return moved, c.Fixed
}

// versionNumbers are a version's leading numbers, dot-separated.
var versionNumbers = regexp.MustCompile(`^(v?)([0-9]+)(?:\.([0-9]+))?`)

// bumpPart is v with its major (part 0) or minor (part 1) one higher, the
// rest as it was; below 1.0 the minor always, as 0.x's minor is its
// release line. "" when v has no such part.
func bumpPart(v string, part int) string {
	m := versionNumbers.FindStringSubmatchIndex(v)
	if m == nil {
		return ""
	}
	if v[m[4]:m[5]] == "0" {
		part = 1
	}
	lo, hi := m[4], m[5]
	if part == 1 {
		if m[6] < 0 {
			return ""
		}
		lo, hi = m[6], m[7]
	}
	k, err := strconv.Atoi(v[lo:hi])
	if err != nil {
		return ""
	}
	return v[:lo] + strconv.Itoa(k+1) + v[hi:]
}

// withMovedFix is f with its fix moved: moved the only fixed version, and
// old, wherever the scanner's text names it as a version, moved too, so
// the copy's text agrees with its facts ("fixed in 1.3.12").
func withMovedFix(f *finding.Finding, moved, old string) *finding.Finding {
	c := clone(f)
	c.Package.FixedVersions = []string{moved}
	// A version ends where no version character follows, or a period
	// that ends a sentence ("fixed in 1.3.15."), never "1.3.15.1".
	re := regexp.MustCompile(`(^|[^0-9A-Za-z.+~-])` + regexp.QuoteMeta(old) + `($|[^0-9A-Za-z.+~-]|\.$|\.[^0-9A-Za-z])`)
	rep := func(s string) string { return re.ReplaceAllString(s, "${1}"+moved+"${2}") }
	c.Title, c.Message, c.Description = rep(c.Title), rep(c.Message), rep(c.Description)
	for k, v := range c.Properties {
		c.Properties[k] = rep(v)
	}
	return &c
}
