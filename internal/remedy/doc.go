// Package remedy turns the facts of a finding into a deterministic, grounded
// remediation: which fixed version to move to (ordered by each ecosystem's own
// version rules), the concrete change for the build system in use, guidance
// for code, config and web findings from the scanner's own help and the
// shipped CWE catalogue, and the steps for a leaked secret. Nothing in a
// Remediation is invented: every version, identifier, path and reference
// comes from the finding or from a table shipped in this package.
//
// Version ordering uses one well-kept library per scheme rather than home-made
// parsers, because each scheme has corner cases that a re-implementation gets
// wrong (the system vulntune replaces sorted versions as strings):
//
//   - github.com/masahiro331/go-mvn-version: Maven ComparableVersion
//     (qualifier order alpha < beta < milestone < rc < snapshot < release <
//     sp); used by Trivy; maintained (2026).
//   - github.com/aquasecurity/go-version: semver 2.0 (pkg/semver) for npm and
//     Cargo, and semver-like versions with any number of segments
//     (pkg/version) for NuGet's four-part versions and Composer; used by
//     Trivy.
//   - github.com/aquasecurity/go-pep440-version: PEP 440 (epochs, pre, post,
//     dev and local versions); used by Trivy.
//   - github.com/aquasecurity/go-gem-version: Gem::Version (letters make a
//     prerelease); used by Trivy; the algorithm it copies has not changed.
//   - golang.org/x/mod/semver: the Go command's own ordering, including
//     pseudo-versions and +incompatible.
//   - github.com/knqyf263/go-deb-version: dpkg's verrevcmp (epochs, "~").
//   - github.com/knqyf263/go-rpm-version: rpmvercmp (epochs, "~", "^").
//   - github.com/knqyf263/go-apk-version: apk-tools' version.c (suffixes
//     _alpha/_beta/_pre/_rc/_p and -rN); small and stable, like the C code it
//     ports.
package remedy
