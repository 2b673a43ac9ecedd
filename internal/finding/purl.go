package finding

import (
	"strings"

	"github.com/package-url/packageurl-go"
)

// PURL builds a package URL for the language ecosystems whose PURL
// follows from name and version alone. It returns "" where it would have to
// guess: OS packages (the PURL names the distribution, which a scanner's
// package entry need not) and Maven names without a group.
func PURL(eco, name, version string) string {
	if name == "" {
		return ""
	}
	ns := ""
	typ := ""
	switch eco {
	case "maven":
		g, a, ok := strings.Cut(strings.ReplaceAll(name, "/", ":"), ":")
		if !ok {
			return ""
		}
		typ, ns, name = packageurl.TypeMaven, g, a
	case "npm":
		typ = packageurl.TypeNPM
		if strings.HasPrefix(name, "@") {
			ns, name, _ = strings.Cut(name, "/")
		}
	case "pypi":
		typ, name = packageurl.TypePyPi, CanonicalPackageName("pypi", name)
	case "go":
		typ = packageurl.TypeGolang
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	case "cargo":
		typ = packageurl.TypeCargo
	case "rubygems":
		typ = packageurl.TypeGem
	case "nuget":
		typ = packageurl.TypeNuget
	case "composer":
		typ = packageurl.TypeComposer
		ns, name, _ = strings.Cut(name, "/")
		if name == "" {
			return ""
		}
	case "hex":
		typ = packageurl.TypeHex
	case "pub":
		typ = packageurl.TypePub
	default:
		return ""
	}
	return packageurl.NewPackageURL(typ, ns, name, version, nil, "").ToString()
}
