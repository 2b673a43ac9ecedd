package remedy

import (
	"fmt"
	"strings"
)

// imageName returns the image reference from a Trivy-style target such as
// "registry/app:1 (debian 12.5)".
func imageName(d dep) string {
	img := d.f.Location.Image
	if img == "" {
		return ""
	}
	return strings.Fields(img)[0]
}

func osChanges(d dep) []Change {
	file := ""
	if strings.HasPrefix(d.base, "Dockerfile") || strings.HasSuffix(d.base, ".Dockerfile") || strings.HasSuffix(d.base, "Containerfile") {
		file = d.path
	}
	where := "in the Dockerfile that builds the image"
	if img := imageName(d); img != "" {
		where = "in the Dockerfile that builds " + img
	}
	var snippet, note string
	switch d.eco {
	case "debian":
		// No "rm -rf /var/lib/apt/lists/*" after it: Docker hygiene, not the
		// fix, and a path no finding shows, which a model trained on it
		// would learn to recall.
		snippet = fmt.Sprintf("RUN apt-get update && apt-get install -y --only-upgrade %s=%s", d.name, d.version)
		note = "Add this line " + where + ", after the FROM line; --only-upgrade changes the package only if it is installed. The version must be in the image's apt sources."
	case "alpine":
		snippet = fmt.Sprintf("RUN apk add --no-cache --upgrade %s=%s", d.name, d.version)
		note = "Add this line " + where + ", after the FROM line. The version must be in the image's Alpine branch repositories."
	default:
		snippet = fmt.Sprintf("RUN dnf -y update %s-%s && dnf clean all", d.name, d.version)
		note = "Add this line " + where + ", after the FROM line; on images with yum instead of dnf use: yum -y update " + d.name + "-" + d.version + "."
	}
	return []Change{
		{BuildSystem: "dockerfile", File: file, Scope: ScopeAny, Snippet: snippet, Note: note},
		{BuildSystem: "dockerfile", File: file, Scope: ScopeAny, Snippet: "docker build --pull --no-cache .",
			Note: "Alternatively rebuild on a newer base image: --pull fetches the newest build of the FROM tag, whose distribution packages may already include the fix; if that tag no longer gets updates, move FROM to a newer release of the base image."},
	}
}
