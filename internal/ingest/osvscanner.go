package ingest

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// OSVScanner reads the JSON report of OSV-Scanner (`osv-scanner --format
// json`): results[] per scanned source, packages[] per dependency, with the
// full OSV records and OSV-Scanner's groups of aliased vulnerabilities.
type OSVScanner struct{}

var _ Format = OSVScanner{}

func init() { register(OSVScanner{}) }

// Name implements Format.
func (OSVScanner) Name() string { return "osv-scanner" }

// Sniff implements Format: a top-level "results" whose entries carry
// "source" and "packages". A scan that found nothing has "results": [] and
// only "experimental_config" besides, which is recognised too.
func (OSVScanner) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	if h.array || h.isSARIF() || !h.top["results"] {
		return false
	}
	if h.all["packages"] && h.all["source"] {
		return true
	}
	return h.top["experimental_config"] && !h.all["check_id"]
}

type osvReport struct {
	Results jsonList `json:"results"`
}

type osvResult struct {
	Source struct {
		Path string `json:"path"`
		Type string `json:"type"`
	} `json:"source"`
	Packages jsonList `json:"packages"`
}

type osvPackage struct {
	Package struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Ecosystem string `json:"ecosystem"`
	} `json:"package"`
	Vulnerabilities jsonList   `json:"vulnerabilities"`
	Groups          []osvGroup `json:"groups"`
}

type osvGroup struct {
	IDs         []string `json:"ids"`
	Aliases     []string `json:"aliases"`
	MaxSeverity jsonText `json:"max_severity"`
}

type osvVuln struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Details  string   `json:"details"`
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Fixed string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
	References []struct {
		URL string `json:"url"`
	} `json:"references"`
	DatabaseSpecific struct {
		CWEIDs   []string `json:"cwe_ids"`
		Severity jsonText `json:"severity"`
	} `json:"database_specific"`
}

// Parse implements Format.
func (OSVScanner) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc osvReport
	if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	var errs jsonErrs
	var out []finding.Finding
	for i, res := range jsonEach[osvResult](ctx, in, "$.results", doc.Results, &errs) {
		base := "$.results[" + strconv.Itoa(i) + "].packages"
		for j, pkg := range jsonEach[osvPackage](ctx, in, base, res.Packages, &errs) {
			vp := base + "[" + strconv.Itoa(j) + "].vulnerabilities"
			vulns := jsonEach[osvVuln](ctx, in, vp, pkg.Vulnerabilities, &errs)
			out = append(out, osvFindings(res.Source.Path, res.Source.Type, pkg, vulns)...)
		}
	}
	return jsonTidy(out), errs.err(in)
}

// osvFindings makes one finding per group: OSV-Scanner already groups the
// records that are aliases of one vulnerability (a GHSA and its CVE). A
// package without groups (older versions) gets one group per record.
func osvFindings(srcPath, srcType string, pkg osvPackage, vulns []osvVuln) []finding.Finding {
	byID := make(map[string]*osvVuln, len(vulns))
	for i := range vulns {
		byID[vulns[i].ID] = &vulns[i]
	}
	groups := pkg.Groups
	if len(groups) == 0 {
		for _, v := range vulns {
			groups = append(groups, osvGroup{IDs: []string{v.ID}, Aliases: v.Aliases})
		}
	}
	eco := finding.CanonicalEcosystem(pkg.Package.Ecosystem)
	var out []finding.Finding
	for _, g := range groups {
		ids := append(slices.Clone(g.IDs), g.Aliases...)
		var members []*osvVuln
		for _, id := range g.IDs {
			if v := byID[id]; v != nil {
				members = append(members, v)
				ids = append(ids, v.Aliases...)
			}
		}
		canon := finding.CanonicalVulnID(ids)
		if canon == "" {
			continue
		}
		f := finding.Finding{
			Tools:   []finding.Tool{{Name: "osv-scanner", RuleID: canon}},
			Kind:    finding.KindDependency,
			VulnIDs: ids,
			Package: &finding.Package{
				Name:             pkg.Package.Name,
				Ecosystem:        eco,
				PURL:             finding.PURL(eco, pkg.Package.Name, pkg.Package.Version),
				InstalledVersion: pkg.Package.Version,
				FixedVersions:    []string{},
			},
			References: []string{},
		}
		f.Location.Path = jsonRepoPath(srcPath)
		if srcType == "docker" {
			f.Location.Image, f.Location.Path = srcPath, ""
		}
		osvFillFromRecords(&f, members, pkg, g.MaxSeverity.String())
		if f.Title == "" {
			f.Title = canon + " in " + pkg.Package.Name
		}
		out = append(out, f)
	}
	return out
}

// osvFillFromRecords fills text, references, CWEs, fixed versions and
// severity from the OSV records of one group.
func osvFillFromRecords(f *finding.Finding, members []*osvVuln, pkg osvPackage, maxSeverity string) {
	var best jsonCVSS
	word := ""
	for _, v := range members {
		if f.Title == "" {
			f.Title = strings.TrimSpace(v.Summary)
		}
		if f.Description == "" {
			f.Description = strings.TrimSpace(v.Details)
		}
		for _, ref := range v.References {
			f.References = append(f.References, ref.URL)
		}
		f.CWE = append(f.CWE, jsonCWEs(v.DatabaseSpecific.CWEIDs)...)
		f.Package.FixedVersions = append(f.Package.FixedVersions, osvFixed(v, pkg)...)
		for _, s := range v.Severity {
			if strings.HasPrefix(s.Type, "CVSS_V") {
				best.consider(s.Score)
			}
		}
		if word == "" {
			word = v.DatabaseSpecific.Severity.String()
		}
	}
	if len(members) > 0 {
		f.HelpURI = "https://osv.dev/vulnerability/" + members[0].ID
	}
	switch score, err := strconv.ParseFloat(maxSeverity, 64); {
	case best.ok():
		f.Score, f.CVSSVector = best.score, best.vector
		f.Severity = finding.SeverityFromScore(best.score)
	case err == nil && score > 0 && score <= 10: // NaN and ±Inf fail this too
		f.Score = jsonRound1(score)
		f.Severity = finding.SeverityFromScore(score)
	default:
		// No rating at all maps like an "unknown" word: info.
		f.Severity = jsonSeverity(word, finding.SeverityInfo)
	}
	f.Message = f.Title
}

// osvFixed collects the "fixed" events of the ECOSYSTEM and SEMVER ranges of
// the affected entries that name this package. GIT ranges hold commit
// hashes, which are no version a user can upgrade to.
func osvFixed(v *osvVuln, pkg osvPackage) []string {
	eco := finding.CanonicalEcosystem(pkg.Package.Ecosystem)
	name := finding.CanonicalPackageName(eco, pkg.Package.Name)
	var out []string
	for _, a := range v.Affected {
		ae := finding.CanonicalEcosystem(a.Package.Ecosystem)
		if ae != eco || !osvSamePackage(eco, name, finding.CanonicalPackageName(ae, a.Package.Name)) {
			continue
		}
		for _, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" && rg.Type != "SEMVER" {
				continue
			}
			for _, ev := range rg.Events {
				if ev.Fixed != "" {
					out = append(out, ev.Fixed)
				}
			}
		}
	}
	return out
}

// osvSamePackage says whether an affected entry's package (canonical name
// got) is the scanned package (canonical name want). A scan of an SBOM
// names a Maven package by its artifact id alone ("logback-core") while the
// advisory names group and artifact ("ch.qos.logback:logback-core"), so the
// ECOSYSTEM range of a Maven GHSA gave no fixed version.
func osvSamePackage(eco, want, got string) bool {
	if got == want {
		return true
	}
	return eco == "maven" && want != "" && !strings.Contains(want, ":") && strings.HasSuffix(got, ":"+want)
}
