package ingest

import (
	"maps"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

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
// versions of each fixed branch.
func trivySplitVersions(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
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

func (tc trivyCtx) license(l trivyLicense) finding.Finding {
	path := jsonRepoPath(l.FilePath)
	if path == "" {
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
		f.Package = &finding.Package{Name: l.PkgName, Ecosystem: finding.CanonicalEcosystem(tc.res.Type), FixedVersions: []string{}}
	}
	return f
}
