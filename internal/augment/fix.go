package augment

import (
	"regexp"
	"strconv"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

// A copy that gains a fix (issue 16): none of the samples'
// operating-system package findings has a fixed version, so a model tuned
// on them never saw the image-build fix (`RUN apt-get install -y
// --only-upgrade name=version`) and wrote a Gradle line for Debian and
// Alpine packages of other projects. Copy n of such a finding may gain a
// fixed version: the installed one's next build on the same release line
// (1.5.3-5ubuntu5.4 gains 1.5.3-5ubuntu5.5), then replaced like every
// version, and the ecosystem its version names. remedy then writes the
// copy's image-build fix as it does for a finding that came with one.

// osFlavours name a distribution's ecosystem by its version's shape, for
// findings whose scanner did not say (Trivy's SARIF): Ubuntu and Debian
// revisions, Alpine's -rN, Red Hat's .elN.
var osFlavours = []struct {
	re  *regexp.Regexp
	eco string
}{
	{regexp.MustCompile(`^[0-9][^ ]*-[0-9][^ ]*(ubuntu|deb)[0-9.+~a-z]*$`), "debian"},
	{regexp.MustCompile(`^[0-9][^ ]*-r[0-9]+$`), "alpine"},
	{regexp.MustCompile(`^[0-9][^ ]*\.el[0-9]+[^ ]*$`), "rpm"},
}

// lastNumber is the version's last run of digits.
var lastNumber = regexp.MustCompile(`[0-9]+([^0-9]*)$`)

// gainedFix returns the ecosystem and fixed version copy n of f gains, or
// "", "" when it gains none: f is an operating-system package found in an
// image with no fix known, its ecosystem given or read from its version,
// and the copy falls in cat.FixShare.
func gainedFix(f *finding.Finding, n int, cat Catalogue) (eco, fixed string) {
	p := f.Package
	if p == nil || f.Kind != finding.KindDependency || cat.FixShare <= 0 || len(p.FixedVersions) > 0 ||
		p.InstalledVersion == "" || f.Location.Image == "" {
		return "", ""
	}
	eco = finding.CanonicalEcosystem(p.Ecosystem)
	if eco == "" {
		for _, fl := range osFlavours {
			if fl.re.MatchString(p.InstalledVersion) {
				eco = fl.eco
				break
			}
		}
	}
	if !remedy.OSPackage(eco) {
		return "", ""
	}
	if Seed(f.ID+"|fix", n).Float64() >= cat.FixShare {
		return "", ""
	}
	return eco, nextBuild(p.InstalledVersion)
}

// nextBuild is v with its last number one higher: the next build on the
// installed release line ("" when v has no digits).
func nextBuild(v string) string {
	loc := lastNumber.FindStringSubmatchIndex(v)
	if loc == nil {
		return ""
	}
	k, err := strconv.Atoi(v[loc[0]:loc[2]])
	if err != nil {
		return ""
	}
	return v[:loc[0]] + strconv.Itoa(k+1) + v[loc[2]:]
}

// withFix is f with the fix gained: the package's ecosystem and fixed
// version, and the scanner's empty "Fixed Version:" line (Trivy's message)
// filled in, so the copy's text agrees with its facts.
func withFix(f *finding.Finding, eco, fixed string) *finding.Finding {
	c := clone(f)
	c.Package.Ecosystem = eco
	c.Package.FixedVersions = []string{fixed}
	c.Message = emptyFixedLine.ReplaceAllString(c.Message, "${1} "+fixed)
	return &c
}

// emptyFixedLine is Trivy's "Fixed Version:" line with nothing after it.
var emptyFixedLine = regexp.MustCompile(`(?m)^(Fixed Version:)[ \t]*$`)
