package ingest

import (
	"context"
	"io"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// Semgrep reads Semgrep's own JSON output (`semgrep --json`). The same scan
// as SARIF is read by the SARIF format; both produce the same fingerprint
// (rule id, path, start line), so a run that uploads both merges.
type Semgrep struct{}

var _ Format = Semgrep{}

func init() { register(Semgrep{}) }

// semgrepHiddenText is what Semgrep prints instead of the matched lines and
// fingerprint when the scan ran without logging in.
const semgrepHiddenText = "requires login"

// Name implements Format.
func (Semgrep) Name() string { return "semgrep" }

// Sniff implements Format: "results" whose entries have "check_id" and
// "extra", or, when no result made it into the head, Semgrep's other
// top-level keys "errors", "paths" and "version".
func (Semgrep) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	if h.array || h.isSARIF() {
		return false
	}
	if h.top["results"] && h.all["check_id"] && h.all["extra"] {
		return true
	}
	return h.top["errors"] && h.top["paths"] && (h.top["version"] || h.top["results"])
}

type semgrepReport struct {
	Version string   `json:"version"`
	Results jsonList `json:"results"`
}

type semgrepResult struct {
	CheckID string `json:"check_id"`
	Path    string `json:"path"`
	Start   struct {
		Line int `json:"line"`
		Col  int `json:"col"`
	} `json:"start"`
	End struct {
		Line int `json:"line"`
	} `json:"end"`
	Extra struct {
		Message   string   `json:"message"`
		Severity  jsonText `json:"severity"`
		Lines     string   `json:"lines"`
		Fix       *string  `json:"fix"`
		IsIgnored bool     `json:"is_ignored"`
		Metadata  struct {
			CWE        jsonTexts `json:"cwe"`
			OWASP      jsonTexts `json:"owasp"`
			References jsonTexts `json:"references"`
			Confidence jsonText  `json:"confidence"`
			Likelihood jsonText  `json:"likelihood"`
			Impact     jsonText  `json:"impact"`
			Category   jsonText  `json:"category"`
			Source     jsonText  `json:"source"`
		} `json:"metadata"`
	} `json:"extra"`
}

// Parse implements Format.
func (Semgrep) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc semgrepReport
	if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	var errs jsonErrs
	var out []finding.Finding
	for _, res := range jsonEach[semgrepResult](ctx, in, "$.results", doc.Results, &errs) {
		if res.CheckID == "" {
			continue
		}
		out = append(out, semgrepFinding(doc.Version, res))
	}
	return jsonTidy(out), errs.err(in)
}

func semgrepFinding(version string, res semgrepResult) finding.Finding {
	x := res.Extra
	md := x.Metadata
	msg := strings.TrimSpace(x.Message)
	f := finding.Finding{
		// PartialFingerprint stays empty: Semgrep's JSON fingerprint is not
		// the one its SARIF carries, and the two outputs must merge.
		Tools:      []finding.Tool{{Name: "semgrep", Version: version, RuleID: res.CheckID}},
		Kind:       finding.KindCode,
		Severity:   jsonSeverity(x.Severity.String(), finding.SeverityMedium),
		Title:      jsonTitle(msg),
		Message:    msg,
		HelpURI:    md.Source.String(),
		References: append([]string{}, md.References...),
		CWE:        jsonCWEs(md.CWE),
		VulnIDs:    []string{},
		Suppressed: x.IsIgnored,
		Location: finding.Location{
			Path:      finding.CleanPath(res.Path),
			StartLine: res.Start.Line,
			EndLine:   res.End.Line,
			StartCol:  res.Start.Col,
		},
	}
	if f.Title == "" {
		f.Title = res.CheckID
	}
	if lines := strings.TrimRight(x.Lines, "\n"); strings.TrimSpace(lines) != semgrepHiddenText {
		f.Location.Snippet = lines
	}
	if x.Fix != nil {
		f.Fixes = []finding.Fix{{
			Description: "Semgrep autofix",
			Path:        f.Location.Path,
			StartLine:   res.Start.Line,
			EndLine:     res.End.Line,
			Replacement: *x.Fix,
		}}
	}
	if x.IsIgnored {
		f.Suppression = &finding.Suppression{Kind: "inSource", Justification: "nosemgrep comment"}
	}
	f.Properties = jsonProps(
		"confidence", strings.ToLower(md.Confidence.String()),
		"likelihood", strings.ToLower(md.Likelihood.String()),
		"impact", strings.ToLower(md.Impact.String()),
		"category", md.Category.String(),
		"owasp", strings.Join(md.OWASP, "; "),
	)
	return f
}
