package remedy

import (
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// toolName names the scanner that reported the finding, for "re-run X".
func toolName(f *finding.Finding) string {
	if f != nil && len(f.Tools) > 0 && f.Tools[0].Name != "" {
		return f.Tools[0].Name
	}
	return "the scanner"
}

// rescan is the verification step every finding gets: run the reporting
// scanner again and see the finding gone.
func rescan(f *finding.Finding) string {
	what := "the finding"
	if id := finding.CanonicalVulnID(f.VulnIDs); id != "" {
		what = id
	} else if len(f.Tools) > 0 && f.Tools[0].RuleID != "" {
		what = "rule " + f.Tools[0].RuleID
	}
	return fmt.Sprintf("Re-run %s on the same target and confirm %s is no longer reported%s.", toolName(f), what, wherePhrase(f, "for"))
}

// DependencyVerification lists the commands that show which version of
// f's package the build now resolves, for the build systems of changes,
// and the scanner's re-run. An answer that shows some of the changes
// verifies with those (narrate).
func DependencyVerification(f *finding.Finding, changes []Change) []string {
	p := f.Package
	eco := finding.CanonicalEcosystem(p.Ecosystem)
	name := DisplayName(eco, p.Name)
	systems := map[string]bool{}
	for _, c := range changes {
		systems[c.BuildSystem] = true
	}
	var out []string
	img := ""
	if f.Location.Image != "" {
		img = strings.Fields(f.Location.Image)[0]
	}
	switch eco {
	case "maven":
		if systems["maven"] {
			out = append(out, fmt.Sprintf("mvn dependency:tree -Dincludes=%s shows the version Maven resolves.", name))
		}
		if systems["gradle-kotlin"] || systems["gradle-groovy"] {
			_, a, _ := strings.Cut(name, ":")
			out = append(out, fmt.Sprintf("./gradlew dependencyInsight --dependency %s shows the version Gradle resolves and why.", firstNonEmpty(a, name)))
		}
	case "npm":
		switch {
		case systems["yarn"]:
			out = append(out, "yarn why "+name+" lists every resolved copy.")
		case systems["pnpm"]:
			out = append(out, "pnpm why "+name+" lists every resolved copy.")
		default:
			out = append(out, "npm ls "+name+" --all lists every resolved copy; none may be below the fixed version.")
		}
	case "pypi":
		out = append(out, "pip show "+name+" in the rebuilt environment shows the installed version.")
	case "go":
		if name == "stdlib" || name == "toolchain" {
			out = append(out, "go version (and go version -m on the built binary) shows the toolchain used.")
		} else {
			out = append(out, "go list -m "+name+" shows the version the build selects.")
		}
	case "cargo":
		out = append(out, "cargo tree -i "+name+" shows the resolved version and what depends on it.")
	case "rubygems":
		out = append(out, "bundle info "+name+" shows the locked version.")
	case "nuget":
		out = append(out, "dotnet list package --include-transitive shows the resolved version.")
	case "composer":
		out = append(out, "composer show "+name+" shows the installed version.")
	case "debian", "alpine", "rpm":
		q := map[string]string{"debian": "dpkg-query -W " + name, "alpine": "apk info -v " + name, "rpm": "rpm -q " + name}[eco]
		if img != "" {
			out = append(out, fmt.Sprintf("Rebuild the image, then docker run --rm %s %s shows the installed version.", img, q))
		} else {
			out = append(out, "Rebuild the image, then "+q+" inside it shows the installed version.")
		}
	}
	return append(out, rescan(f))
}
