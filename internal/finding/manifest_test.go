package finding_test

import (
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
)

func TestManifestEcosystem(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"web/package-lock.json", "npm"},
		{`C:\src\app\Pipfile.lock`, "pypi"},
		{"PIPFILE", "pypi"},
		{"requirements-dev.txt", "pypi"},
		{"requirements.in", ""},
		{"libs/app.jar", "maven"},
		{"go.sum", "go"},
		{"Directory.Packages.props", "nuget"},
		{"Dockerfile", ""},
		{"src/main.go", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := finding.ManifestEcosystem(tt.path); got != tt.want {
			t.Errorf("ManifestEcosystem(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestManifestNamesHaveEcosystems(t *testing.T) {
	t.Parallel()
	for _, n := range finding.ManifestNames() {
		if n != "Dockerfile" && finding.ManifestEcosystem(n) == "" {
			t.Errorf("%s is in the manifest table without an ecosystem", n)
		}
	}
}
