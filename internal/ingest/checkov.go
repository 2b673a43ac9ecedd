package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// Checkov reads Checkov's JSON report (`checkov -o json`): one object per
// framework {check_type, results{failed_checks, passed_checks,
// skipped_checks}, summary}, or an array of them when several frameworks
// ran. A scan with nothing to check prints the bare summary object, which
// is recognised and yields no findings.
//
// Checkov's open-source checks carry no severity (it is null unless the
// scan is connected to Prisma Cloud). An unrated failed check maps to
// checkovDefaultSeverity, low: it is a real but unweighed deviation from a
// hardening baseline, and it must not outrank checks that a tool did rate
// medium or higher when findings are sorted and sampled.
type Checkov struct{}

var _ Format = Checkov{}

func init() { register(Checkov{}) }

const checkovDefaultSeverity = finding.SeverityLow

// Name implements Format.
func (Checkov) Name() string { return "checkov" }

// Sniff implements Format: "check_type" with "results", at the top or in
// the first element of an array, or the bare summary with
// "checkov_version".
func (Checkov) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	if h.isSARIF() {
		return false
	}
	return (h.top["check_type"] && (h.top["results"] || h.top["summary"])) ||
		(!h.array && h.top["checkov_version"] && h.top["resource_count"])
}

type checkovReport struct {
	CheckType string `json:"check_type"`
	Results   struct {
		Failed  jsonList `json:"failed_checks"`
		Skipped jsonList `json:"skipped_checks"`
	} `json:"results"`
	Summary struct {
		Version string `json:"checkov_version"`
	} `json:"summary"`
}

type checkovCheck struct {
	CheckID     string `json:"check_id"`
	BCCheckID   string `json:"bc_check_id"`
	CheckName   string `json:"check_name"`
	CheckResult struct {
		Result          string `json:"result"`
		SuppressComment string `json:"suppress_comment"`
	} `json:"check_result"`
	FilePath      string         `json:"file_path"`
	RepoFilePath  string         `json:"repo_file_path"`
	FileLineRange []int          `json:"file_line_range"`
	Resource      string         `json:"resource"`
	Guideline     string         `json:"guideline"`
	Severity      jsonText       `json:"severity"`
	Description   string         `json:"description"`
	CodeBlock     [][2]jsonText  `json:"code_block"`
	Details       jsonTexts      `json:"details"`
	Vuln          *checkovVulnID `json:"vulnerability_details"`
}

// checkovVulnID is the part of an SCA check's vulnerability_details that
// makes it a dependency finding.
type checkovVulnID struct {
	ID             string   `json:"id"`
	PackageName    string   `json:"package_name"`
	PackageVersion string   `json:"package_version"`
	FixedVersion   jsonText `json:"fixed_version"`
	CVSS           jsonText `json:"cvss"`
	Vector         string   `json:"vector"`
	Description    string   `json:"description"`
	Link           string   `json:"link"`
}

// Parse implements Format.
func (Checkov) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var list jsonList
	if err := jsonDecodeDoc(in, "$", data, &list); err != nil {
		return nil, err
	}
	isArray := bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("["))
	var errs jsonErrs
	var out []finding.Finding
	for i, raw := range list {
		p := "$"
		if isArray {
			p = fmt.Sprintf("$[%d]", i)
		}
		var rep checkovReport
		if err := jsonDecodeElem(in, p, raw, &rep); err != nil {
			errs.add(err)
			continue
		}
		for _, c := range jsonEach[checkovCheck](ctx, in, p+".results.failed_checks", rep.Results.Failed, &errs) {
			out = append(out, checkovFinding(rep, c, false))
		}
		for _, c := range jsonEach[checkovCheck](ctx, in, p+".results.skipped_checks", rep.Results.Skipped, &errs) {
			out = append(out, checkovFinding(rep, c, true))
		}
	}
	return jsonTidy(out), errs.err(in)
}

func checkovFinding(rep checkovReport, c checkovCheck, skipped bool) finding.Finding {
	file := c.RepoFilePath
	if file == "" {
		file = c.FilePath
	}
	f := finding.Finding{
		Tools:       []finding.Tool{{Name: "checkov", Version: rep.Summary.Version, RuleID: c.CheckID}},
		Kind:        finding.KindConfig,
		Severity:    jsonSeverity(c.Severity.String(), checkovDefaultSeverity),
		Title:       strings.TrimSpace(c.CheckName),
		Message:     strings.TrimSpace(c.CheckName),
		Description: strings.TrimSpace(c.Description),
		HelpURI:     c.Guideline,
		References:  []string{},
		CWE:         []string{},
		VulnIDs:     []string{},
		Location:    finding.Location{Path: strings.TrimPrefix(jsonRepoPath(file), "/")},
	}
	if f.Title == "" {
		f.Title, f.Message = c.CheckID, c.CheckID
	}
	if c.Guideline != "" {
		f.References = append(f.References, c.Guideline)
	}
	if len(c.FileLineRange) > 0 {
		f.Location.StartLine = c.FileLineRange[0]
		f.Location.EndLine = c.FileLineRange[len(c.FileLineRange)-1]
	}
	if c.Resource != "" {
		f.Location.Logical = []string{c.Resource}
	}
	var code []string
	for _, l := range c.CodeBlock {
		code = append(code, strings.TrimRight(string(l[1]), "\n"))
	}
	f.Location.Snippet = strings.Join(code, "\n")
	if v := c.Vuln; v != nil && v.ID != "" && v.PackageName != "" {
		checkovDependency(&f, *v)
	}
	if skipped {
		f.Suppressed = true
		f.Suppression = &finding.Suppression{Kind: "inSource", Status: "skipped", Justification: strings.TrimSpace(c.CheckResult.SuppressComment)}
	}
	f.Properties = jsonProps("check_type", rep.CheckType, "bc_check_id", c.BCCheckID)
	return f
}

// checkovDependency turns an SCA check (check_type sca_package, check ids
// like CKV_CVE_2021_44228) into a dependency finding keyed like every other
// scanner's report of the same CVE.
func checkovDependency(f *finding.Finding, v checkovVulnID) {
	f.Kind = finding.KindDependency
	f.VulnIDs = []string{v.ID}
	f.Tools[0].RuleID = v.ID
	f.Package = &finding.Package{
		Name:             v.PackageName,
		Ecosystem:        finding.ManifestEcosystem(f.Location.Path),
		InstalledVersion: v.PackageVersion,
		FixedVersions:    trivySplitVersions(v.FixedVersion.String()),
	}
	if f.Description == "" {
		f.Description = strings.TrimSpace(v.Description)
	}
	if v.Link != "" {
		f.References = append(f.References, v.Link)
	}
	var best jsonCVSS
	best.consider(v.Vector)
	if best.ok() {
		f.Score, f.CVSSVector = best.score, best.vector
	}
}
