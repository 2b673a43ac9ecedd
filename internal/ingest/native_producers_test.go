package ingest_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
)

// nativeProducerCases are small reports in the shapes real producers write,
// each cut down from a corpus report (examples/corpus, named in the case)
// to the fields a reader got wrong. dir names the format as nativeFormats
// does; the cases are also seeds of that format's fuzz target.
var nativeProducerCases = []struct {
	dir, name string
	doc       string
	check     func(t *testing.T, fs []finding.Finding)
}{
	// osv-scanner over a CycloneDX SBOM (mgfeller/naftis osv.json): the
	// package is the artifact id alone, the advisory's affected package is
	// group:artifact, and its only range is of type ECOSYSTEM.
	{"osv", "ecosystem range, maven artifact id", `{"results":[{"source":{"path":"/home/runner/work/naftis/naftis/bom.json","type":"sbom"},"packages":[{
		"package":{"name":"logback-core","version":"1.2.3","ecosystem":"Maven"},
		"vulnerabilities":[{"id":"GHSA-668q-qrv7-99fm","aliases":["CVE-2021-42550"],"summary":"Deserialization of Untrusted Data in logback",
		 "affected":[{"package":{"name":"ch.qos.logback:logback-core","ecosystem":"Maven","purl":"pkg:maven/ch.qos.logback/logback-core"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.9"}]}]}]}],
		"groups":[{"ids":["GHSA-668q-qrv7-99fm"]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; !slices.Equal(p.FixedVersions, []string{"1.2.9"}) || p.Name != "logback-core" {
				t.Errorf("package %+v", p)
			}
			if fs[0].Location.Path != "bom.json" {
				t.Errorf("path %q", fs[0].Location.Path)
			}
		}},
	// An ECOSYSTEM range of a PyPI advisory (PyPI's OSV records use
	// ECOSYSTEM, not SEMVER), the name spelt differently from the lock file.
	{"osv", "ecosystem range, pypi", `{"results":[{"source":{"path":"uv.lock","type":"lockfile"},"packages":[{
		"package":{"name":"H11","version":"0.14.0","ecosystem":"PyPI"},
		"vulnerabilities":[{"id":"GHSA-vqfr-h8mv-ghfj","aliases":["CVE-2025-43859"],
		 "affected":[{"package":{"name":"h11","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0.16.0"}]},{"type":"GIT","repo":"https://github.com/python-hyper/h11","events":[{"introduced":"0"},{"fixed":"114803a29ce50116dc47951c690ad4892b1a36ed"}]}]}]}]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; !slices.Equal(p.FixedVersions, []string{"0.16.0"}) {
				t.Errorf("fixed versions %v, want the ECOSYSTEM range's 0.16.0 and no GIT commit", p.FixedVersions)
			}
		}},
	// trivy fs over a uv.lock (pab1it0/prometheus-mcp-server
	// trivy-results.json): Type "uv".
	{"trivy", "uv lock file", `{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem","Results":[
		{"Target":"Python","Class":"lang-pkgs","Type":"python-pkg"},
		{"Target":"uv.lock","Class":"lang-pkgs","Type":"uv","Vulnerabilities":[{"VulnerabilityID":"CVE-2025-43859","PkgID":"h11@0.14.0","PkgName":"h11",
		 "PkgIdentifier":{"PURL":"pkg:pypi/h11@0.14.0"},"InstalledVersion":"0.14.0","FixedVersion":"0.16.0","Status":"fixed","SeveritySource":"ghsa",
		 "Title":"h11: h11 accepts some malformed Chunked-Encoding bodies","Severity":"CRITICAL","CweIDs":["CWE-444"]}]}]}`,
		func(t *testing.T, fs []finding.Finding) {
			if p := fs[0].Package; p.Ecosystem != "pypi" || p.Name != "h11" || !slices.Equal(p.FixedVersions, []string{"0.16.0"}) || fs[0].Location.Path != "uv.lock" {
				t.Errorf("package %+v at %q", p, fs[0].Location.Path)
			}
		}},
}

func TestNativeProducerCases(t *testing.T) {
	t.Parallel()
	for _, tt := range nativeProducerCases {
		t.Run(tt.dir+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			format := nativeFormats[tt.dir]
			in := ingest.Input{Name: "case.json", Size: int64(len(tt.doc))}
			fs, err := format.Parse(context.Background(), in, strings.NewReader(tt.doc))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			for _, f := range fs {
				nativeCheckRequired(t, format.Name(), f)
			}
			tt.check(t, fs)
		})
	}
}

// TestNativeCorpusFacts checks facts read by hand from real reports of the
// corpus (examples/corpus/SOURCES.tsv), so a reader that drifts from what
// producers write fails here.
func TestNativeCorpusFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir, file string
		check     func(t *testing.T, fs []finding.Finding)
	}{
		{"osv", "osv-scanner/naftis-osv-scanner-sbom-maven-trimmed.json", func(t *testing.T, fs []finding.Finding) {
			f := nativeFind(t, fs, "CVE-2021-42550")
			if !slices.Equal(f.Package.FixedVersions, []string{"1.2.9"}) {
				t.Errorf("logback-core: fixed %v, want 1.2.9 from the ECOSYSTEM range", f.Package.FixedVersions)
			}
		}},
		{"trivy", "trivy/prometheus-mcp-server-uv-lock.json", func(t *testing.T, fs []finding.Finding) {
			for _, f := range fs {
				if f.Package == nil || f.Package.Ecosystem != "pypi" {
					t.Errorf("%s: package %+v, want the pypi ecosystem for a uv.lock", f.Tools[0].RuleID, f.Package)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			fs, err := nativeParse(t, nativeFormats[tt.dir], filepath.Join(corpus, filepath.FromSlash(tt.file)))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			tt.check(t, fs)
		})
	}
}
