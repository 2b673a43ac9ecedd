package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

// KICS reads the JSON report of Checkmarx KICS (`kics scan --report-formats
// json`): queries[] that failed, each with the files[] it failed on. One
// finding per query and file entry; KICS's similarity_id is its own stable
// fingerprint of that pair and becomes PartialFingerprint.
type KICS struct{}

var _ Format = KICS{}

func init() { register(KICS{}) }

// Name implements Format.
func (KICS) Name() string { return "kics" }

// Sniff implements Format: "kics_version", or "queries" with
// "total_counter".
func (KICS) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	return !h.array && !h.isSARIF() && (h.top["kics_version"] || (h.top["queries"] && h.top["total_counter"]))
}

type kicsReport struct {
	Version string   `json:"kics_version"`
	Queries jsonList `json:"queries"`
}

type kicsQuery struct {
	Name        string   `json:"query_name"`
	ID          string   `json:"query_id"`
	URL         string   `json:"query_url"`
	Severity    string   `json:"severity"`
	Platform    string   `json:"platform"`
	CWE         jsonText `json:"cwe"`
	Category    string   `json:"category"`
	Description string   `json:"description"`
	Files       jsonList `json:"files"`
}

type kicsFile struct {
	FileName      string `json:"file_name"`
	SimilarityID  string `json:"similarity_id"`
	Line          int    `json:"line"`
	IssueType     string `json:"issue_type"`
	SearchKey     string `json:"search_key"`
	ExpectedValue string `json:"expected_value"`
	ActualValue   string `json:"actual_value"`
	Remediation   string `json:"remediation"`
	ResourceType  string `json:"resource_type"`
	ResourceName  string `json:"resource_name"`
}

// Parse implements Format.
func (KICS) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc kicsReport
	if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	var errs jsonErrs
	var out []finding.Finding
	for i, q := range jsonEach[kicsQuery](ctx, in, "$.queries", doc.Queries, &errs) {
		p := fmt.Sprintf("$.queries[%d].files", i)
		for _, file := range jsonEach[kicsFile](ctx, in, p, q.Files, &errs) {
			out = append(out, kicsFinding(doc.Version, q, file))
		}
	}
	return jsonTidy(out), errs.err(in)
}

func kicsFinding(version string, q kicsQuery, file kicsFile) finding.Finding {
	msg := q.Name
	if file.ExpectedValue != "" || file.ActualValue != "" {
		msg = fmt.Sprintf("%s: expected %s; actual %s", q.Name, file.ExpectedValue, file.ActualValue)
	}
	f := finding.Finding{
		Tools:              []finding.Tool{{Name: "kics", Version: version, RuleID: q.ID}},
		Kind:               finding.KindConfig,
		Severity:           jsonSeverity(q.Severity, finding.SeverityInfo),
		Title:              strings.TrimSpace(q.Name),
		Message:            strings.TrimSpace(msg),
		Description:        strings.TrimSpace(q.Description),
		HelpURI:            q.URL,
		References:         []string{},
		CWE:                jsonCWEs([]string{q.CWE.String()}),
		VulnIDs:            []string{},
		PartialFingerprint: file.SimilarityID,
		Location: finding.Location{
			Path:      sarif.KICSRepoPath(jsonRepoPath(file.FileName)),
			StartLine: file.Line,
		},
	}
	if q.URL != "" {
		f.References = append(f.References, q.URL)
	}
	if f.Title == "" {
		f.Title = q.ID
	}
	if file.SearchKey != "" {
		f.Location.Logical = []string{file.SearchKey}
	}
	if file.Remediation != "" {
		f.Fixes = []finding.Fix{{Description: file.Remediation, Path: f.Location.Path, StartLine: file.Line}}
	}
	f.Properties = jsonProps(
		"platform", q.Platform,
		"category", q.Category,
		"issue_type", file.IssueType,
		"expected_value", file.ExpectedValue,
		"actual_value", file.ActualValue,
		"resource", strings.TrimSpace(file.ResourceType+" "+file.ResourceName),
	)
	return f
}
