package remedy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	gemver "github.com/aquasecurity/go-gem-version"
	pep440 "github.com/aquasecurity/go-pep440-version"
	"github.com/aquasecurity/go-version/pkg/semver"
	anyver "github.com/aquasecurity/go-version/pkg/version"
	apkver "github.com/knqyf263/go-apk-version"
	debver "github.com/knqyf263/go-deb-version"
	rpmver "github.com/knqyf263/go-rpm-version"
	mvnver "github.com/masahiro331/go-mvn-version"
	gosemver "golang.org/x/mod/semver"

	"github.com/vulntune/vulntune/internal/finding"
)

// VersionError says a version string could not be read under an ecosystem's
// rules.
type VersionError struct {
	Ecosystem string
	Version   string
	Err       error
}

func (e *VersionError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s version %q is not valid", e.Ecosystem, e.Version)
	}
	return fmt.Sprintf("%s version %q is not valid: %v", e.Ecosystem, e.Version, e.Err)
}

func (e *VersionError) Unwrap() error { return e.Err }

// comparer orders two versions of one ecosystem; it reports a parse error for
// whichever argument it cannot read.
type comparer func(a, b string) (int, error)

// comparers maps canonical ecosystem names (finding.CanonicalEcosystem) onto
// their ordering rules.
var comparers = map[string]comparer{
	"maven":    cmpMaven,
	"npm":      cmpSemver,
	"cargo":    cmpSemver,
	"pub":      cmpSemver,
	"hex":      cmpSemver,
	"nuget":    cmpAny,
	"composer": cmpAny,
	"pypi":     cmpPEP440,
	"go":       cmpGo,
	"rubygems": cmpGem,
	"debian":   cmpDeb,
	"alpine":   cmpAPK,
	"rpm":      cmpRPM,
}

// Supported reports whether Compare knows the ordering rules of eco (any
// spelling finding.CanonicalEcosystem understands).
func Supported(eco string) bool {
	_, ok := comparers[finding.CanonicalEcosystem(eco)]
	return ok
}

// Compare orders versions a and b under the rules of ecosystem eco: -1 when a
// is older, 0 when they are the same version, +1 when a is newer. A version
// that is not valid in that ecosystem gives a *VersionError naming both.
func Compare(eco, a, b string) (int, error) {
	canon := finding.CanonicalEcosystem(eco)
	c, ok := comparers[canon]
	if !ok {
		return 0, fmt.Errorf("compare %q and %q: no version rules for ecosystem %q", a, b, eco)
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	for _, v := range []string{a, b} {
		if v == "" || strings.ContainsAny(v, " \t\r\n") {
			return 0, &VersionError{Ecosystem: canon, Version: v}
		}
	}
	n, err := c(a, b)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			ve.Ecosystem = canon
		}
		return 0, err
	}
	return sign(n), nil
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// parse2 parses both arguments with one parser and wraps the first failure.
func parse2[V any](eco string, parse func(string) (V, error), a, b string) (V, V, error) {
	va, err := parse(a)
	if err != nil {
		return va, va, &VersionError{Ecosystem: eco, Version: a, Err: err}
	}
	vb, err := parse(b)
	if err != nil {
		return va, vb, &VersionError{Ecosystem: eco, Version: b, Err: err}
	}
	return va, vb, nil
}

// mavenSyntax rejects what Maven would never publish; ComparableVersion
// itself accepts any string.
var mavenSyntax = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+-]*$`)

func cmpMaven(a, b string) (int, error) {
	for _, v := range []string{a, b} {
		if !mavenSyntax.MatchString(v) {
			return 0, &VersionError{Ecosystem: "maven", Version: v}
		}
	}
	va, vb, err := parse2("maven", mvnver.NewVersion, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// cmpSemver accepts npm's and Cargo's leading "v" and "=" as their tools do.
func cmpSemver(a, b string) (int, error) {
	trim := func(s string) (semver.Version, error) {
		return semver.Parse(strings.TrimPrefix(strings.TrimPrefix(s, "="), "v"))
	}
	va, vb, err := parse2("semver", trim, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func cmpAny(a, b string) (int, error) {
	va, vb, err := parse2("nuget/composer", anyver.Parse, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func cmpPEP440(a, b string) (int, error) {
	va, vb, err := parse2("pypi", pep440.Parse, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// goVersion adds the "v" the Go command requires; scanners often drop it.
func goVersion(s string) string {
	s = strings.TrimPrefix(s, "go")
	if !strings.HasPrefix(s, "v") {
		s = "v" + s
	}
	return s
}

func cmpGo(a, b string) (int, error) {
	va, vb := goVersion(a), goVersion(b)
	for i, v := range []string{va, vb} {
		if !gosemver.IsValid(v) {
			return 0, &VersionError{Ecosystem: "go", Version: []string{a, b}[i]}
		}
	}
	return gosemver.Compare(va, vb), nil
}

func cmpGem(a, b string) (int, error) {
	va, vb, err := parse2("rubygems", gemver.NewVersion, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func cmpDeb(a, b string) (int, error) {
	va, vb, err := parse2("debian", debver.NewVersion, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// apkSyntax is apk-tools' grammar (version.c): digits, an optional letter,
// suffixes, an optional commit hash and the -rN package release. The library
// accepts strings apk itself would reject, such as "x1".
var apkSyntax = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?(-r[0-9]+)?$`)

func cmpAPK(a, b string) (int, error) {
	for _, v := range []string{a, b} {
		if !apkSyntax.MatchString(v) {
			return 0, &VersionError{Ecosystem: "alpine", Version: v}
		}
	}
	va, vb, err := parse2("alpine", apkver.NewVersion, a, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// rpmSyntax is what rpm allows in [epoch:]version[-release]; go-rpm-version
// accepts anything, so validity is checked here.
var rpmSyntax = regexp.MustCompile(`^([0-9]+:)?[0-9A-Za-z._+~^]+(-[0-9A-Za-z._+~^]+)?$`)

func cmpRPM(a, b string) (int, error) {
	for _, v := range []string{a, b} {
		if !rpmSyntax.MatchString(v) {
			return 0, &VersionError{Ecosystem: "rpm", Version: v}
		}
	}
	return rpmver.NewVersion(a).Compare(rpmver.NewVersion(b)), nil
}
