package sarif

import (
	"slices"
	"testing"
)

func TestSARIFCWEs(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"CWE-79"}, []string{"CWE-79"}},
		{[]string{"external/cwe/cwe-079", "external/cwe/cwe-116"}, []string{"CWE-79", "CWE-116"}},
		{[]string{"CWE-89: Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')"}, []string{"CWE-89"}},
		{[]string{"cwe_22", "CWE-022", "security"}, []string{"CWE-22"}},
		{[]string{"OWASP-A03:2021 - Injection", "CWE-0", "kcwe-5"}, nil},
	}
	for _, tt := range tests {
		if got := cwes(nil, tt.in...); !slices.Equal(got, tt.want) {
			t.Errorf("cwes(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSARIFSubstitute(t *testing.T) {
	tests := []struct {
		s    string
		args []string
		want string
	}{
		{"{0} flows to {1}.", []string{"a", "b"}, "a flows to b."},
		{"{{literal}} {0}", []string{"x"}, "{literal} x"},
		{"{2} has no argument", []string{"x"}, "{2} has no argument"},
		{"{ 0} {x} {", []string{"x"}, "{ 0} {x} {"},
	}
	for _, tt := range tests {
		if got := substitute(tt.s, tt.args); got != tt.want {
			t.Errorf("substitute(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestSARIFLinks(t *testing.T) {
	one, two := 1, 2
	r := &run{}
	r.prepare()
	res := &result{RelatedLocations: []location{
		{ID: &one, PhysicalLocation: &physicalLocation{ArtifactLocation: &artifactLocation{URI: "src/a.go"}, Region: &region{StartLine: 7}}},
		{ID: &two, LogicalLocations: []logicalLocation{{FullyQualifiedName: "pkg.Func"}}},
	}}
	tests := []struct{ in, want string }{
		{"flows from [user input](1).", "flows from user input (src/a.go:7)."},
		{"see [here](2)", "see here (pkg.Func)"},
		{"see [docs](https://example.test/x)", "see docs (https://example.test/x)"},
		{"unknown [target](9) and [rel](sarif:/runs/0)", "unknown target and rel"},
		{`escaped \[not a link\](1)`, "escaped [not a link](1)"},
		{"half [open(1)", "half [open(1)"},
	}
	for _, tt := range tests {
		if got := links(tt.in, res, r); got != tt.want {
			t.Errorf("links(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSARIFResolve(t *testing.T) {
	r := &run{baseIDs: map[string]artifactLocation{
		"SRCROOT":  {URI: "file:///home/runner/work/app/app/"},
		"WEB":      {URI: "web/", URIBaseID: "SRCROOT"},
		"ROOTPATH": {URI: "file:///"},
	}}
	r.prepare()
	tests := []struct{ uri, base, want string }{
		{"src/a.go", "SRCROOT", "src/a.go"},
		{"app.js", "WEB", "web/app.js"},
		{"file:///home/runner/work/app/app/src/b.go", "", "src/b.go"},
		{"file:///github/workspace/c.py", "", "c.py"},
		{"my%20dir/d.c", "%SRCROOT%", "my dir/d.c"},
		{"./x/../e.go", "", "e.go"},
		{"https://example.test/login", "", "https://example.test/login"},
		{`C:\a\repo\repo\f.cs`, "", "f.cs"},
		{"file:///opt/other/g.go", "", "/opt/other/g.go"},
	}
	for _, tt := range tests {
		if got := r.resolve(&artifactLocation{URI: tt.uri, URIBaseID: tt.base}); got != tt.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tt.uri, tt.base, got, tt.want)
		}
	}
	// Without a file:/// root, common CI checkouts are stripped.
	bare := &run{}
	bare.prepare()
	for uri, want := range map[string]string{
		"file:///github/workspace/c.py":               "c.py",
		"file:///home/runner/work/repo/repo/pkg/x.go": "pkg/x.go",
		"/src/app/main.py":                            "app/main.py",
		"file:///D:/a/repo/repo/src/f.cs":             "src/f.cs",
		"/app/app.jar":                                "/app/app.jar",
	} {
		if got := bare.resolve(&artifactLocation{URI: uri}); got != want {
			t.Errorf("resolve(%q) = %q, want %q", uri, got, want)
		}
	}
}

func TestSARIFImageRepo(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io/hitoshura25/webauthn-server:latest": "hitoshura25/webauthn-server",
		"library/ubuntu:24.04":                       "library/ubuntu",
		"localhost:5000/app@sha256:abc":              "app",
		"alpine":                                     "alpine",
	} {
		if got := imageRepo(in); got != want {
			t.Errorf("imageRepo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSARIFEcosystem(t *testing.T) {
	tests := []struct{ purl, file, want string }{
		{"pkg:npm/lodash@4.17.20", "", "npm"},
		{"", "web/package-lock.json", "npm"},
		{"", "app/app.jar", "maven"},
		{"", "requirements-dev.txt", "pypi"},
		{"", "go.sum", "go"},
		{"", "hitoshura25/webauthn-server", ""},
	}
	for _, tt := range tests {
		if got := ecosystem(tt.purl, tt.file); got != tt.want {
			t.Errorf("ecosystem(%q, %q) = %q, want %q", tt.purl, tt.file, got, tt.want)
		}
	}
}

func TestSARIFCanonicalTool(t *testing.T) {
	for in, want := range map[string]string{
		"Semgrep OSS": "semgrep", "Trivy": "trivy", "SnykCode": "snyk", "Snyk Open Source": "snyk",
		"CodeQL": "codeql", "gitleaks": "gitleaks", "Microsoft DevSkim": "microsoft-devskim", "": "unknown",
	} {
		if got := canonicalTool(in); got != want {
			t.Errorf("canonicalTool(%q) = %q, want %q", in, got, want)
		}
	}
}
