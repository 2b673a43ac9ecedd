package explain

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
)

// SARIF output without SARIF inputs: a minimal, valid SARIF 2.1.0 log of the explained findings,
// one run whose tool is vulntune, one result per finding, each enriched
// with the answer as fixes[].description.text and with
// properties.vulntune {answer, model, grounded, ungrounded, finish_reason,
// finding_id, remediation}. Results carry the finding id as the partial
// fingerprint "vulntuneFindingId/v1", so a code-scanning UI tracks them
// across runs as vulntune does.
//
// A SARIF fix's artifactChanges (the byte-level edit) is left out: neither
// the model's prose nor remedy's snippet is an edit at a known position,
// and inventing one would misstate the fix.

// SARIFVersion and sarifSchema are what the log declares.
const (
	SARIFVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string   `json:"id"`
	ShortDescription sarifMsg `json:"shortDescription"`
}

type sarifMsg struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	Level               string            `json:"level"`
	Message             sarifMsg          `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Fixes               []sarifFix        `json:"fixes,omitempty"`
	Properties          sarifProps        `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifFix struct {
	Description sarifMsg `json:"description"`
}

type sarifProps struct {
	Vulntune sarifExplain `json:"vulntune"`
}

// sarifExplain is properties.vulntune of each result.
type sarifExplain struct {
	FindingID    string      `json:"finding_id"`
	Severity     string      `json:"severity"`
	Model        string      `json:"model"`
	Answer       string      `json:"answer"`
	FinishReason string      `json:"finish_reason"`
	Grounded     bool        `json:"grounded"`
	Ungrounded   []string    `json:"ungrounded"`
	Remediation  Remediation `json:"remediation"`
}

// sarifLevels maps severities to SARIF levels as ingest reads them back.
var sarifLevels = map[string]string{"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "none"}

// WriteSARIF writes r as a SARIF 2.1.0 log: the input logs enriched when
// every input was a SARIF file and Options.SARIF was set (sarifin.go),
// else the minimal log described above.
func WriteSARIF(w io.Writer, r *Report) error {
	if r.sarifIn != nil {
		return writeEnriched(w, r, r.sarifIn)
	}
	rules := map[string]string{}
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "vulntune", InformationURI: "https://github.com/vulntune/vulntune", Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	for _, e := range r.Findings {
		rule := e.Tool
		if e.Rule != "" {
			rule += "/" + e.Rule
		}
		if rule == "" {
			rule = e.Kind
		}
		if _, ok := rules[rule]; !ok {
			rules[rule] = e.Title
		}
		level := sarifLevels[e.Severity]
		if level == "" {
			level = "warning"
		}
		res := sarifResult{
			RuleID: rule, Level: level, Message: sarifMsg{Text: oneLine(e.Title)},
			PartialFingerprints: map[string]string{"vulntuneFindingId/v1": e.FindingID},
			Properties:          sarifProps{Vulntune: explainProps(r.Model, &e)},
		}
		if res.Message.Text == "" {
			res.Message.Text = rule
		}
		if uri := sarifURI(e); uri != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
			if e.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: e.Line}
			}
			res.Locations = []sarifLocation{loc}
		}
		if text := fixText(&e); text != "" {
			res.Fixes = []sarifFix{{Description: sarifMsg{Text: text}}}
		}
		run.Results = append(run.Results, res)
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d := oneLine(rules[id])
		if d == "" {
			d = id
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: id, ShortDescription: sarifMsg{Text: d}})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: SARIFVersion, Runs: []sarifRun{run}})
}

// sarifURI is the result's artifact: the file, else the URL. An image is
// no artifact a code-scanning UI can open, so it stays in the message.
func sarifURI(e Explanation) string {
	if e.Path != "" {
		return e.Path
	}
	return e.URL
}

// fixText is a result's fix description: the answer, prefixed with the
// grounding verdict when it failed, so a reader of the fix alone sees it.
func fixText(e *Explanation) string {
	if e.Answer == "" {
		return ""
	}
	if !e.Grounded {
		return "[not grounded: names " + strings.Join(e.Ungrounded, ", ") + ", which the finding does not show] " + e.Answer
	}
	return e.Answer
}

func explainProps(model string, e *Explanation) sarifExplain {
	return sarifExplain{
		FindingID: e.FindingID, Severity: e.Severity, Model: model, Answer: e.Answer, FinishReason: e.FinishReason,
		Grounded: e.Grounded, Ungrounded: e.Ungrounded, Remediation: e.Remediation,
	}
}
