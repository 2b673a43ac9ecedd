package ingest

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vulntune/vulntune/internal/finding"
)

// Grype reads Grype's JSON report (`grype <target> -o json`): matches[] of
// a vulnerability, its related records and the matched artifact, and a
// descriptor naming the tool.
type Grype struct{}

var _ Format = Grype{}

func init() { register(Grype{}) }

// Name implements Format.
func (Grype) Name() string { return "grype" }

// Sniff implements Format: "matches" with "descriptor", or, since Grype
// writes the descriptor last, matches whose entries hold "vulnerability"
// and "artifact", "matchDetails" or a vulnerability's "dataSource".
func (Grype) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	if h.array || h.isSARIF() || !h.top["matches"] {
		return false
	}
	return h.top["descriptor"] ||
		(h.all["vulnerability"] && (h.all["artifact"] || h.all["matchDetails"] || h.all["dataSource"]))
}

type grypeReport struct {
	Matches    jsonList `json:"matches"`
	Descriptor struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"descriptor"`
}

type grypeVuln struct {
	ID          string   `json:"id"`
	DataSource  string   `json:"dataSource"`
	Severity    string   `json:"severity"`
	URLs        []string `json:"urls"`
	Description string   `json:"description"`
	CVSS        []struct {
		Vector  string `json:"vector"`
		Metrics struct {
			BaseScore float64 `json:"baseScore"`
		} `json:"metrics"`
	} `json:"cvss"`
	Fix struct {
		Versions []string `json:"versions"`
		State    string   `json:"state"`
	} `json:"fix"`
	CWEs []json.RawMessage `json:"cwes"`
}

type grypeMatch struct {
	Vulnerability          grypeVuln   `json:"vulnerability"`
	RelatedVulnerabilities []grypeVuln `json:"relatedVulnerabilities"`
	Artifact               struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Type      string `json:"type"`
		PURL      string `json:"purl"`
		Locations []struct {
			Path string `json:"path"`
		} `json:"locations"`
	} `json:"artifact"`
}

// Parse implements Format.
func (Grype) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc grypeReport
	if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	var errs jsonErrs
	var out []finding.Finding
	for _, m := range jsonEach[grypeMatch](ctx, in, "$.matches", doc.Matches, &errs) {
		out = append(out, grypeFinding(doc.Descriptor.Version, m))
	}
	return jsonTidy(out), errs.err(in)
}

func grypeFinding(version string, m grypeMatch) finding.Finding {
	v, a := m.Vulnerability, m.Artifact
	eco := grypeEcosystem(a.Type)
	ids := []string{v.ID}
	f := finding.Finding{
		Tools:       []finding.Tool{{Name: "grype", Version: version, RuleID: v.ID}},
		Kind:        finding.KindDependency,
		Severity:    jsonSeverity(v.Severity, finding.SeverityInfo),
		Description: strings.TrimSpace(v.Description),
		HelpURI:     v.DataSource,
		References:  append([]string{}, v.URLs...),
		CWE:         grypeCWEs(v.CWEs),
		Package: &finding.Package{
			Name:             grypeName(eco, a.Name, a.PURL),
			Ecosystem:        eco,
			PURL:             a.PURL,
			InstalledVersion: a.Version,
			FixedVersions:    []string{},
		},
	}
	if v.Fix.State == "fixed" {
		f.Package.FixedVersions = append(f.Package.FixedVersions, v.Fix.Versions...)
	}
	var best jsonCVSS
	for _, c := range v.CVSS {
		best.consider(c.Vector)
	}
	for _, rv := range m.RelatedVulnerabilities {
		ids = append(ids, rv.ID)
		if f.Description == "" {
			f.Description = strings.TrimSpace(rv.Description)
		}
		f.References = append(f.References, rv.URLs...)
		f.CWE = append(f.CWE, grypeCWEs(rv.CWEs)...)
		if !best.ok() {
			for _, c := range rv.CVSS {
				best.consider(c.Vector)
			}
		}
	}
	f.VulnIDs = ids
	if best.ok() {
		f.Score, f.CVSSVector = best.score, best.vector
	}
	if len(a.Locations) > 0 {
		f.Location.Path = jsonRepoPath(a.Locations[0].Path)
	}
	f.Title = finding.CanonicalVulnID(ids) + " in " + f.Package.Name + " " + a.Version
	f.Message = f.Title
	f.Properties = jsonProps("fix_state", v.Fix.State, "artifact_type", a.Type)
	return f
}

// grypeEcosystem maps Grype's artifact types (Syft package types) onto the
// canonical ecosystem names.
func grypeEcosystem(typ string) string {
	switch typ {
	case "java-archive", "jenkins-plugin":
		return "maven"
	case "python", "wheel", "egg":
		return "pypi"
	case "go-module":
		return "go"
	case "rust-crate":
		return "cargo"
	case "gem":
		return "rubygems"
	case "dotnet":
		return "nuget"
	case "php-composer":
		return "composer"
	case "dart-pub":
		return "pub"
	case "hex", "erlang-otp":
		return "hex"
	}
	return finding.CanonicalEcosystem(typ)
}

// grypeName returns the package name other tools use. Grype names a Java
// archive by its artifact id alone ("log4j-core"); OSV-Scanner and Trivy
// say "org.apache.logging.log4j:log4j-core", which the PURL's namespace
// gives, so the two reports of one CVE merge.
func grypeName(eco, name, purl string) string {
	if eco != "maven" || purl == "" {
		return name
	}
	p, err := packageurl.FromString(purl)
	if err != nil || p.Namespace == "" {
		return name
	}
	return p.Namespace + ":" + p.Name
}

// grypeCWEs reads "cwes", which Grype versions write as strings or as
// objects with a "cwe" field.
func grypeCWEs(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
			continue
		}
		var o struct {
			CWE string `json:"cwe"`
		}
		if json.Unmarshal(r, &o) == nil {
			out = append(out, o.CWE)
		}
	}
	return jsonCWEs(out)
}
