package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

// Trivy reads Trivy's JSON report (`trivy <target> --format json`, schema
// version 2): Results[] per target with Vulnerabilities, Misconfigurations,
// Secrets and Licenses, plus ExperimentalModifiedFindings, the findings that
// .trivyignore or a VEX statement took out of the lists, which are kept as
// suppressed findings; and the report of Trivy before v0.20, a top-level
// array of those results. Trivy's SARIF is read by package sarif (trivy.go
// there), which holds the table of Trivy's kinds both formats use.
type Trivy struct{}

var _ Format = Trivy{}

func init() { register(Trivy{}) }

// Name implements Format.
func (Trivy) Name() string { return "trivy" }

// Sniff implements Format: "SchemaVersion" with "Results" or "ArtifactName";
// or, for the reports of Trivy before v0.20 (2021), which had no
// SchemaVersion, a top-level array of results whose first names a "Target"
// with its "Type", "Class" or "Vulnerabilities".
func (Trivy) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	if h.array {
		return h.top["Target"] && (h.top["Type"] || h.top["Class"] || h.top["Vulnerabilities"])
	}
	return h.top["SchemaVersion"] && (h.top["Results"] || h.top["ArtifactName"])
}

type trivyReport struct {
	ArtifactName string   `json:"ArtifactName"`
	ArtifactType string   `json:"ArtifactType"`
	Results      jsonList `json:"Results"`
	Trivy        struct {
		Version string `json:"Version"`
	} `json:"Trivy"`
}

type trivyResult struct {
	Target            string   `json:"Target"`
	Class             string   `json:"Class"`
	Type              string   `json:"Type"`
	Vulnerabilities   jsonList `json:"Vulnerabilities"`
	Misconfigurations jsonList `json:"Misconfigurations"`
	Secrets           jsonList `json:"Secrets"`
	Licenses          jsonList `json:"Licenses"`
	Modified          jsonList `json:"ExperimentalModifiedFindings"`
}

type trivyModified struct {
	Type      string          `json:"Type"`
	Status    string          `json:"Status"`
	Statement string          `json:"Statement"`
	Source    string          `json:"Source"`
	Finding   json.RawMessage `json:"Finding"`
}

// trivyCtx is what every finding of one Result shares.
type trivyCtx struct {
	in      Input
	version string
	image   string
	res     trivyResult
}

// Parse implements Format.
func (Trivy) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc trivyReport
	resultsPath := "$.Results"
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("[")) {
		// Before SchemaVersion the report was the Results array itself.
		resultsPath = "$"
		if err := jsonDecodeDoc(in, "$", data, &doc.Results); err != nil {
			return nil, err
		}
	} else if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	image := ""
	if doc.ArtifactType == "container_image" {
		image = doc.ArtifactName
	}
	var errs jsonErrs
	var out []finding.Finding
	results := jsonEach[trivyResult](ctx, in, resultsPath, doc.Results, &errs)
	if image == "" && resultsPath == "$" {
		// A report from before SchemaVersion names no artifact; the OS
		// result of an image scan names the image in its target.
		for _, res := range results {
			if img, _, ok := sarif.TrivyOSTarget(res.Target); ok {
				image = img
				break
			}
		}
	}
	for i, res := range results {
		tc := trivyCtx{in: in, version: doc.Trivy.Version, image: image, res: res}
		p := fmt.Sprintf("%s[%d].", resultsPath, i)
		for _, v := range jsonEach[trivyVuln](ctx, in, p+"Vulnerabilities", res.Vulnerabilities, &errs) {
			out = append(out, tc.vuln(v))
		}
		for _, m := range jsonEach[trivyMisconf](ctx, in, p+"Misconfigurations", res.Misconfigurations, &errs) {
			if !strings.EqualFold(m.Status, "PASS") {
				out = append(out, tc.misconf(m))
			}
		}
		for _, s := range jsonEach[trivySecret](ctx, in, p+"Secrets", res.Secrets, &errs) {
			out = append(out, tc.secret(s))
		}
		for _, l := range jsonEach[trivyLicense](ctx, in, p+"Licenses", res.Licenses, &errs) {
			out = append(out, tc.license(l))
		}
		for j, m := range jsonEach[trivyModified](ctx, in, p+"ExperimentalModifiedFindings", res.Modified, &errs) {
			f, err := tc.modified(fmt.Sprintf("%sExperimentalModifiedFindings[%d].Finding", p, j), m)
			if err != nil {
				errs.add(err)
				continue
			}
			out = append(out, f)
		}
	}
	return jsonTidy(out), errs.err(in)
}

// modified decodes the finding inside a modified-finding entry by its Type
// (a word of sarif.TrivyKind's table, shared with Trivy's SARIF) and marks
// it suppressed with Trivy's status and statement.
func (tc trivyCtx) modified(path string, m trivyModified) (finding.Finding, error) {
	var f finding.Finding
	var err error
	kind, _ := sarif.TrivyKind(m.Type)
	switch kind {
	case finding.KindDependency:
		var v trivyVuln
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.vuln(v)
		}
	case finding.KindConfig:
		var v trivyMisconf
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.misconf(v)
		}
	case finding.KindSecret:
		var v trivySecret
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.secret(v)
		}
	case finding.KindLicense:
		var v trivyLicense
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.license(v)
		}
	default:
		return f, &InputError{File: tc.in.Name, Offset: -1, JSONPath: path,
			Msg: fmt.Sprintf("modified finding of type %q skipped: want vulnerability, misconfiguration, secret or license", m.Type)}
	}
	if err != nil {
		return f, err
	}
	just := strings.TrimSpace(m.Statement)
	if m.Source != "" {
		just = strings.TrimSpace(just + " (source: " + m.Source + ")")
	}
	f.Suppressed = true
	f.Suppression = &finding.Suppression{Kind: "external", Status: m.Status, Justification: just}
	return f, nil
}

// trivyHash is the SecretHash of a Trivy secret. Trivy never reports the
// raw value, only the matched line with the secret starred out, so the hash
// is of that masked line: stable across runs of one file, but unable to
// match the same secret found by another tool (whose hash is of the value).
func trivyHash(match string) string {
	if match == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(match))
	return hex.EncodeToString(sum[:])
}

// trivyPath returns the file a Result is about, or "" when the target is an
// image or OS description rather than a file ("alpine:3.19 (alpine 3.19.1)";
// reports from before SchemaVersion have no Class to say so).
func (tc trivyCtx) trivyPath() string {
	if tc.res.Class == "os-pkgs" {
		return ""
	}
	if _, _, ok := sarif.TrivyOSTarget(tc.res.Target); ok && tc.res.Class == "" {
		return ""
	}
	return jsonRepoPath(tc.res.Target)
}

type trivyVuln struct {
	VulnerabilityID string `json:"VulnerabilityID"`
	PkgName         string `json:"PkgName"`
	PkgPath         string `json:"PkgPath"`
	PkgIdentifier   struct {
		PURL string `json:"PURL"`
	} `json:"PkgIdentifier"`
	InstalledVersion string                   `json:"InstalledVersion"`
	FixedVersion     string                   `json:"FixedVersion"`
	Status           string                   `json:"Status"`
	SeveritySource   string                   `json:"SeveritySource"`
	PrimaryURL       string                   `json:"PrimaryURL"`
	Title            string                   `json:"Title"`
	Description      string                   `json:"Description"`
	Severity         string                   `json:"Severity"`
	CweIDs           []string                 `json:"CweIDs"`
	CVSS             map[string]trivyCVSSData `json:"CVSS"`
	References       []string                 `json:"References"`
}

type trivyCVSSData struct {
	V2Vector  string  `json:"V2Vector"`
	V3Vector  string  `json:"V3Vector"`
	V40Vector string  `json:"V40Vector"`
	V2Score   float64 `json:"V2Score"`
	V3Score   float64 `json:"V3Score"`
	V40Score  float64 `json:"V40Score"`
}

type trivyCode struct {
	Lines []struct {
		Number  int    `json:"Number"`
		Content string `json:"Content"`
		IsCause bool   `json:"IsCause"`
	} `json:"Lines"`
}

type trivyMisconf struct {
	Type          string   `json:"Type"`
	ID            string   `json:"ID"`
	AVDID         string   `json:"AVDID"`
	Title         string   `json:"Title"`
	Description   string   `json:"Description"`
	Message       string   `json:"Message"`
	Resolution    string   `json:"Resolution"`
	Severity      string   `json:"Severity"`
	PrimaryURL    string   `json:"PrimaryURL"`
	References    []string `json:"References"`
	Status        string   `json:"Status"`
	CauseMetadata struct {
		Resource  string    `json:"Resource"`
		Provider  string    `json:"Provider"`
		Service   string    `json:"Service"`
		StartLine int       `json:"StartLine"`
		EndLine   int       `json:"EndLine"`
		Code      trivyCode `json:"Code"`
	} `json:"CauseMetadata"`
}

type trivySecret struct {
	RuleID    string    `json:"RuleID"`
	Category  string    `json:"Category"`
	Severity  string    `json:"Severity"`
	Title     string    `json:"Title"`
	StartLine int       `json:"StartLine"`
	EndLine   int       `json:"EndLine"`
	Match     string    `json:"Match"`
	Code      trivyCode `json:"Code"`
}

type trivyLicense struct {
	Severity   string   `json:"Severity"`
	Category   string   `json:"Category"`
	PkgName    string   `json:"PkgName"`
	FilePath   string   `json:"FilePath"`
	Name       string   `json:"Name"`
	Confidence jsonText `json:"Confidence"`
	Link       string   `json:"Link"`
}

func (tc trivyCtx) tool(rule string) []finding.Tool {
	return []finding.Tool{{Name: "trivy", Version: tc.version, RuleID: rule}}
}

func (tc trivyCtx) vuln(v trivyVuln) finding.Finding {
	eco := finding.CanonicalEcosystem(tc.res.Type)
	f := finding.Finding{
		Tools:       tc.tool(v.VulnerabilityID),
		Kind:        finding.KindDependency,
		Severity:    jsonSeverity(v.Severity, finding.SeverityInfo),
		Title:       strings.TrimSpace(v.Title),
		Description: strings.TrimSpace(v.Description),
		HelpURI:     v.PrimaryURL,
		References:  append([]string{}, v.References...),
		CWE:         jsonCWEs(v.CweIDs),
		VulnIDs:     []string{v.VulnerabilityID},
		Package: &finding.Package{
			Name:             v.PkgName,
			Ecosystem:        eco,
			PURL:             v.PkgIdentifier.PURL,
			InstalledVersion: v.InstalledVersion,
			FixedVersions:    trivySplitVersions(v.FixedVersion),
		},
		Location: finding.Location{Path: tc.trivyPath(), Image: tc.image},
	}
	if v.PkgPath != "" {
		f.Location.Path = jsonRepoPath(v.PkgPath)
	}
	if f.Title == "" {
		f.Title = v.VulnerabilityID + " in " + v.PkgName
	}
	f.Message = f.Title
	// The severity source's own vector first (the vendor Trivy took the
	// severity from), then NVD, then any other vendor.
	var best jsonCVSS
	for _, src := range trivyCVSSOrder(v) {
		c := v.CVSS[src]
		for _, vec := range []string{c.V3Vector, c.V40Vector, c.V2Vector} {
			if vec != "" {
				best.consider(vec)
			}
		}
		if best.ok() {
			break
		}
	}
	if best.ok() {
		f.Score, f.CVSSVector = best.score, best.vector
	}
	f.Properties = jsonProps("status", v.Status, "severity_source", v.SeveritySource)
	return f
}

func trivyCVSSOrder(v trivyVuln) []string {
	rest := slices.Sorted(maps.Keys(v.CVSS))
	return append([]string{v.SeveritySource, "nvd", "ghsa", "redhat"}, rest...)
}

// trivySplitVersions splits Trivy's FixedVersion ("1.2.5, 1.3.1") into the
// versions of each fixed branch. Trivy before SchemaVersion passed on the
// Node.js security WG's patched range (">=3.0.2" for NSWG-ECO advisories);
// the version it starts at is the fixed version.
func trivySplitVersions(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ">=")); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// trivySnippet joins the code lines Trivy quotes, cause lines only when it
// marks any, so the snippet is the offending lines and not their context.
func trivySnippet(c trivyCode) string {
	var all, cause []string
	for _, l := range c.Lines {
		all = append(all, l.Content)
		if l.IsCause {
			cause = append(cause, l.Content)
		}
	}
	if len(cause) > 0 {
		return strings.Join(cause, "\n")
	}
	return strings.Join(all, "\n")
}

func (tc trivyCtx) misconf(m trivyMisconf) finding.Finding {
	rule := m.ID
	if rule == "" {
		rule = m.AVDID
	}
	f := finding.Finding{
		Tools:       tc.tool(rule),
		Kind:        finding.KindConfig,
		Severity:    jsonSeverity(m.Severity, finding.SeverityInfo),
		Title:       strings.TrimSpace(m.Title),
		Message:     strings.TrimSpace(m.Message),
		Description: strings.TrimSpace(m.Description),
		HelpURI:     m.PrimaryURL,
		References:  append([]string{}, m.References...),
		VulnIDs:     []string{},
		Location: finding.Location{
			Path:      jsonRepoPath(tc.res.Target),
			StartLine: m.CauseMetadata.StartLine,
			EndLine:   m.CauseMetadata.EndLine,
			Snippet:   trivySnippet(m.CauseMetadata.Code),
			Image:     tc.image,
		},
	}
	if r := m.CauseMetadata.Resource; r != "" {
		f.Location.Logical = []string{r}
	}
	if m.Resolution != "" {
		f.Fixes = []finding.Fix{{Description: strings.TrimSpace(m.Resolution)}}
	}
	if f.Title == "" {
		f.Title = rule
	}
	f.Properties = jsonProps("avd_id", m.AVDID, "type", m.Type, "provider", m.CauseMetadata.Provider, "service", m.CauseMetadata.Service)
	return f
}

func (tc trivyCtx) secret(s trivySecret) finding.Finding {
	f := finding.Finding{
		Tools:      tc.tool(s.RuleID),
		Kind:       finding.KindSecret,
		Severity:   jsonSeverity(s.Severity, finding.SeverityHigh),
		Title:      strings.TrimSpace(s.Title),
		Message:    strings.TrimSpace(s.Title),
		References: []string{},
		VulnIDs:    []string{},
		Location: finding.Location{
			Path:      jsonRepoPath(tc.res.Target),
			StartLine: s.StartLine,
			EndLine:   s.EndLine,
			Snippet:   s.Match,
			Image:     tc.image,
		},
		SecretHash: trivyHash(s.Match),
		Properties: jsonProps("category", s.Category),
	}
	if f.Title == "" {
		f.Title, f.Message = s.RuleID, s.RuleID
	}
	return f
}

// trivyLicenseTargets are the Targets Trivy gives license results that
// no file holds, with the ecosystem each stands for: its package licenses
// are grouped under "OS Packages" or, for language packages found without
// a file path (jars in an image), under the type's label (trivy's
// langpkg.PkgTargets), and loose license files under one label too.
// None is a path: "File Java" sent readers and the model looking for one.
var trivyLicenseTargets = map[string]string{
	"OS Packages": "", "Loose File License(s)": "",
	"Java": "maven", "Node.js": "npm", "Python": "pypi", "Ruby": "rubygems", "Conda": "conda", "Kubernetes": "",
}

func (tc trivyCtx) license(l trivyLicense) finding.Finding {
	path := jsonRepoPath(l.FilePath)
	eco := finding.CanonicalEcosystem(tc.res.Type)
	if label, ok := trivyLicenseTargets[tc.res.Target]; ok {
		if eco == "" {
			eco = label
		}
	} else if path == "" {
		path = tc.trivyPath()
	}
	title := "License " + l.Name
	if l.PkgName != "" {
		title += " in package " + l.PkgName
	}
	if l.Category != "" {
		title += " (" + l.Category + ")"
	}
	f := finding.Finding{
		Tools:      tc.tool(l.Name),
		Kind:       finding.KindLicense,
		Severity:   jsonSeverity(l.Severity, finding.SeverityInfo),
		Title:      title,
		Message:    title,
		HelpURI:    l.Link,
		References: []string{},
		VulnIDs:    []string{},
		Location:   finding.Location{Path: path, Image: tc.image},
		Properties: jsonProps("license", l.Name, "category", l.Category, "confidence", l.Confidence.String()),
	}
	if l.PkgName != "" {
		f.Package = &finding.Package{Name: l.PkgName, Ecosystem: eco, FixedVersions: []string{}}
	}
	return f
}
