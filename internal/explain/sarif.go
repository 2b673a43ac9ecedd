package explain

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
)

// SARIF output without SARIF inputs: a minimal, valid SARIF 2.1.0 log of
// the explained findings, one run whose tool is vulntune, one result per
// finding, each enriched with the answer in two places: appended to
// message.text (answerNote: what code-scanning UIs such as GitHub's show
// of a result) and, for scripts, as properties.vulntune {answer, model,
// grounded, ungrounded, finish_reason, finding_id, remediation}. Results
// carry the finding id as the partial fingerprint "vulntuneFindingId/v1",
// so a code-scanning UI tracks them across runs as vulntune does.
//
// No fixes[] entry is written: SARIF 2.1.0 requires each fix to carry
// artifactChanges (at least one, each with the artifact and replacements
// of exact regions), and vulntune knows no such edit. The model's answer is
// prose, and remedy's snippet names the line to have, not the bytes to
// replace: vulntune does not read the manifest, so a deletedRegion would
// be a guess, and a wrong edit applied by a UI's "apply fix" is worse than
// none (DESIGN.md §Explain).

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
			RuleID: rule, Level: level, Message: sarifMsg{Text: oneLine(e.Title) + answerNote(r.Model, &e)},
			PartialFingerprints: map[string]string{"vulntuneFindingId/v1": e.FindingID},
			Properties:          sarifProps{Vulntune: explainProps(r.Model, &e)},
		}
		if oneLine(e.Title) == "" {
			res.Message.Text = rule + res.Message.Text
		}
		if uri := sarifURI(e); uri != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
			if e.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: e.Line}
			}
			res.Locations = []sarifLocation{loc}
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

// answerNote is what a result's message gains: a paragraph naming the
// model and the grounding verdict, then the answer; "" when there is no
// answer. A failed verdict comes first, so a reader of the message alone
// sees it before the answer.
func answerNote(model string, e *Explanation) string {
	if e.Answer == "" {
		return ""
	}
	verdict := "grounded"
	if !e.Grounded {
		verdict = "NOT GROUNDED: names " + strings.Join(e.Ungrounded, ", ") + ", which the finding does not show; check before acting"
	}
	return "\n\nvulntune explain (model " + model + ", " + verdict + "):\n" + e.Answer
}

func explainProps(model string, e *Explanation) sarifExplain {
	return sarifExplain{
		FindingID: e.FindingID, Severity: e.Severity, Model: model, Answer: e.Answer, FinishReason: e.FinishReason,
		Grounded: e.Grounded, Ungrounded: e.Ungrounded, Remediation: e.Remediation,
	}
}
