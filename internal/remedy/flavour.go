package remedy

import (
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// flavoured lists Maven artifacts that publish every release in several
// flavours told apart by a version suffix, with the same security fixes in
// each. Advisories often list one flavour only: OSV gives Guava's fixed
// versions as "32.0.0-android", and recommending that to a build on
// "31.1-jre" would swap the library's API level along with the fix.
var flavoured = map[string][]string{
	"com.google.guava:guava":         {"jre", "android"},
	"com.google.guava:guava-testlib": {"jre", "android"},
}

// flavoursOf returns the flavours of a Maven artifact named either way
// ("group:artifact" or "group/artifact"), or nil when it is not flavoured.
func flavoursOf(name string) []string {
	return flavoured[strings.ToLower(DisplayName("maven", name))]
}

// flavourOf returns the flavour suffix of v among flavours, or "".
func flavourOf(v string, flavours []string) string {
	for _, fl := range flavours {
		if strings.HasSuffix(v, "-"+fl) {
			return fl
		}
	}
	return ""
}

// KeepFlavour rewrites the fixed versions of a flavoured Maven artifact
// (see flavoured) into the installed version's flavour, so the choice is
// made among versions the build can take without switching flavours. It
// returns the rewritten list and, for each rewritten version, the one the
// advisory listed. Anything else is returned unchanged, with a nil map.
func KeepFlavour(eco, name, installed string, fixed []string) ([]string, map[string]string) {
	if finding.CanonicalEcosystem(eco) != "maven" {
		return fixed, nil
	}
	flavours := flavoursOf(name)
	want := flavourOf(installed, flavours)
	if want == "" {
		return fixed, nil
	}
	orig := map[string]bool{}
	for _, v := range fixed {
		orig[v] = true
	}
	var listed map[string]string
	out := make([]string, 0, len(fixed))
	seen := map[string]bool{}
	for _, v := range fixed {
		if fl := flavourOf(v, flavours); fl != "" && fl != want {
			w := strings.TrimSuffix(v, fl) + want
			// A version the advisory lists in the wanted flavour as well
			// needs no note of where it came from.
			if !orig[w] && !seen[w] {
				if listed == nil {
					listed = map[string]string{}
				}
				listed[w] = v
			}
			v = w
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, listed
}

// flavourStep tells why the recommended version is not the one the
// advisory lists.
func flavourStep(name, installed string, c Choice) string {
	flavours := flavoursOf(name)
	return fmt.Sprintf("The advisory lists the fix as %s, the %s flavour. %s publishes every release as %s with the same fixes, and the installed %s is the %s flavour, so the upgrade stays on it: switching flavours changes the API the library offers.",
		c.Listed, flavourOf(c.Listed, flavours), name, strings.Join(flavours, " and "), installed, flavourOf(installed, flavours))
}
