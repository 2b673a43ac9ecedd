package remedy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// ChoiceStatus says what ChooseFix concluded.
type ChoiceStatus string

// The outcomes of ChooseFix.
const (
	// StatusSameLine: a fixed version exists on the installed release line.
	StatusSameLine ChoiceStatus = "same-line"
	// StatusOtherLine: the lowest fixed version above the installed one is
	// on a later release line (an upgrade across minor or major versions).
	StatusOtherLine ChoiceStatus = "other-line"
	// StatusNotAffected: a fixed version on the installed release line is at
	// or below the installed version, so per these fixed versions the
	// installed version already has the fix.
	StatusNotAffected ChoiceStatus = "not-affected"
	// StatusNoFixOnLine: fixed versions exist, but only below the installed
	// version on older release lines, which says nothing about this line.
	StatusNoFixOnLine ChoiceStatus = "no-fix-for-line"
	// StatusNoFix: the advisory names no fixed version.
	StatusNoFix ChoiceStatus = "no-fix"
	// StatusInstalledUnknown: the scanner did not report the installed
	// version, so the lowest fixed version is the minimum to reach.
	StatusInstalledUnknown ChoiceStatus = "installed-unknown"
)

// Choice is the fixed version picked for one installed version.
type Choice struct {
	Ecosystem string       `json:"ecosystem"`
	Installed string       `json:"installed"`
	Status    ChoiceStatus `json:"status"`
	// Fixed is the version to move to (for StatusNotAffected, the fixed
	// version the installed one already includes); empty when none.
	Fixed string `json:"fixed,omitempty"`
	// Listed is the fixed version as the advisory listed it when Fixed is
	// the same release in the installed flavour (see KeepFlavour); empty
	// when Fixed is listed as is.
	Listed string `json:"listed,omitempty"`
	// Alternatives are the other fixed versions above the installed one,
	// oldest first.
	Alternatives []string `json:"alternatives"`
	// Unparsed lists fixed-version entries that are not valid versions of the
	// ecosystem; they are left out of the choice rather than guessed at.
	Unparsed []string `json:"unparsed,omitempty"`
}

// NormalizeFixed splits the fixed-version strings scanners produce ("1.2.3,
// 1.3.5", ">= 2.0.1", "1.2.3 || 2.0.0") into single versions, dropping range
// operators, upper bounds ("< 3.0") and duplicates, keeping first-seen order.
func NormalizeFixed(fixed []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fixed {
		for _, part := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == '|' || r == ';' }) {
			part = strings.TrimSpace(part)
			if part == "" || strings.HasPrefix(part, "<") || strings.HasPrefix(part, "!=") {
				continue
			}
			for _, op := range []string{">=", "=>", "==", "~=", ">", "=", "^"} {
				if strings.HasPrefix(part, op) {
					part = strings.TrimSpace(strings.TrimPrefix(part, op))
					break
				}
			}
			if part != "" && !seen[part] {
				seen[part] = true
				out = append(out, part)
			}
		}
	}
	return out
}

// ChooseFix picks the fixed version an installed version should move to: the
// smallest fixed version above it on its own release line when the advisory
// has one (a patch upgrade, least likely to break), otherwise the lowest fixed
// version above it; the other fixed versions above it are alternatives. A
// fixed version at or below the installed one on the same line means the
// installed version already has the fix. A fixed version below it on an older
// line says nothing about the installed line and is not used.
func ChooseFix(eco, installed string, fixed []string) (Choice, error) {
	canon := finding.CanonicalEcosystem(eco)
	c := Choice{Ecosystem: canon, Installed: installed, Alternatives: []string{}}
	if _, err := Compare(canon, installed, installed); err != nil {
		return c, fmt.Errorf("choose fix: installed version: %w", err)
	}
	var above, sameAbove, sameAtOrBelow []string
	line := releaseLine(canon, installed)
	for _, f := range NormalizeFixed(fixed) {
		n, err := Compare(canon, f, installed)
		if err != nil {
			c.Unparsed = append(c.Unparsed, f)
			continue
		}
		same := releaseLine(canon, f) == line
		switch {
		case n > 0:
			above = append(above, f)
			if same {
				sameAbove = append(sameAbove, f)
			}
		case same:
			sameAtOrBelow = append(sameAtOrBelow, f)
		}
	}
	sortVersions(canon, above)
	sortVersions(canon, sameAbove)
	sortVersions(canon, sameAtOrBelow)
	switch {
	case len(sameAbove) > 0:
		c.Status, c.Fixed = StatusSameLine, sameAbove[0]
	case len(sameAtOrBelow) > 0:
		c.Status, c.Fixed = StatusNotAffected, sameAtOrBelow[len(sameAtOrBelow)-1]
	case len(above) > 0:
		c.Status, c.Fixed = StatusOtherLine, above[0]
	case len(NormalizeFixed(fixed)) > len(c.Unparsed):
		c.Status = StatusNoFixOnLine
	default:
		c.Status = StatusNoFix
	}
	for _, v := range above {
		if v != c.Fixed {
			c.Alternatives = append(c.Alternatives, v)
		}
	}
	return c, nil
}

// sortVersions sorts versions already known to parse, oldest first.
func sortVersions(eco string, vs []string) {
	slices.SortStableFunc(vs, func(a, b string) int {
		n, _ := Compare(eco, a, b)
		return n
	})
}

var (
	leadingNumbers = regexp.MustCompile(`^\d+(\.\d+)*`)
	apkRelease     = regexp.MustCompile(`-r\d+$`)
)

// releaseLine names the release line a version belongs to. For language
// ecosystems that is epoch plus major.minor (a missing minor counts as 0);
// for OS packages it is the epoch and upstream version without the
// distribution's revision, so a rebuilt package of the same upstream release
// counts as the same line.
func releaseLine(eco, v string) string {
	switch eco {
	case "debian", "rpm":
		epoch, rest := "0", v
		if i := strings.Index(v, ":"); i >= 0 {
			epoch, rest = v[:i], v[i+1:]
		}
		if i := strings.LastIndex(rest, "-"); i >= 0 {
			rest = rest[:i]
		}
		return epoch + ":" + rest
	case "alpine":
		return apkRelease.ReplaceAllString(v, "")
	}
	epoch := ""
	if eco == "pypi" {
		if i := strings.Index(v, "!"); i >= 0 {
			epoch, v = v[:i+1], v[i+1:]
		}
	}
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(v, "="), "go"), "v")
	parts := strings.Split(leadingNumbers.FindString(v), ".")
	for len(parts) < 2 {
		parts = append(parts, "0")
	}
	if parts[0] == "" {
		parts[0] = "0"
	}
	return epoch + parts[0] + "." + parts[1]
}
