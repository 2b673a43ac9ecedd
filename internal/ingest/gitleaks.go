package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// Gitleaks reads Gitleaks' JSON report (`gitleaks detect -f json`): a
// top-level array of findings.
//
// Commit author, email, message and date identify people and are dropped
// on decode (the struct has no fields for them); Gitleaks' Fingerprint
// (commit:file:rule:line) is dropped too, since ingest computes its own.
// The raw Secret goes only into Finding.Secrets and SecretHash.
type Gitleaks struct{}

var _ Format = Gitleaks{}

func init() { register(Gitleaks{}) }

// gitleaksRedacted is what Gitleaks writes for Secret and Match under
// --redact; it is no secret and must not become one's hash.
const gitleaksRedacted = "REDACTED"

// Name implements Format.
func (Gitleaks) Name() string { return "gitleaks" }

// Sniff implements Format: a top-level array whose first object has
// "RuleID" and "Secret" or "Match" (older versions write RuleID last, so a
// cut-off first object with "Secret" and "StartColumn" counts too). A clean scan is the empty array "[]",
// which says nothing about which tool wrote it; it is left unrecognised
// rather than guessed, and it holds no findings to lose.
func (Gitleaks) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	if !h.array || !(h.top["Secret"] || h.top["Match"]) {
		return false
	}
	return h.top["RuleID"] || (h.top["Secret"] && h.top["StartColumn"])
}

type gitleaksFinding struct {
	Description string   `json:"Description"`
	StartLine   int      `json:"StartLine"`
	EndLine     int      `json:"EndLine"`
	StartColumn int      `json:"StartColumn"`
	Match       string   `json:"Match"`
	Secret      string   `json:"Secret"`
	File        string   `json:"File"`
	Commit      string   `json:"Commit"`
	Entropy     jsonText `json:"Entropy"`
	Tags        []string `json:"Tags"`
	RuleID      string   `json:"RuleID"`
}

// Parse implements Format.
func (Gitleaks) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var list jsonList
	if err := jsonDecodeDoc(in, "$", data, &list); err != nil {
		return nil, err
	}
	var errs jsonErrs
	var out []finding.Finding
	for _, g := range jsonEach[gitleaksFinding](ctx, in, "$", list, &errs) {
		out = append(out, gitleaksToFinding(g))
	}
	return jsonTidy(out), errs.err(in)
}

func gitleaksToFinding(g gitleaksFinding) finding.Finding {
	title := strings.TrimSpace(g.Description)
	if title == "" {
		title = g.RuleID
	}
	f := finding.Finding{
		Tools:      []finding.Tool{{Name: "gitleaks", RuleID: g.RuleID}},
		Kind:       finding.KindSecret,
		Severity:   finding.SeverityHigh, // Gitleaks rates nothing; a leaked credential is high
		Title:      title,
		Message:    title,
		References: []string{},
		CWE:        []string{},
		VulnIDs:    []string{},
		Location: finding.Location{
			Path:      jsonRepoPath(g.File),
			StartLine: g.StartLine,
			EndLine:   g.EndLine,
			StartCol:  g.StartColumn,
			Snippet:   g.Match,
		},
		Properties: jsonProps("commit", g.Commit, "entropy", g.Entropy.String(), "tags", strings.Join(g.Tags, ", ")),
	}
	if g.Secret != "" && g.Secret != gitleaksRedacted {
		sum := sha256.Sum256([]byte(g.Secret))
		f.SecretHash = hex.EncodeToString(sum[:])
		f.Secrets = []string{g.Secret}
	}
	if g.Match != "" && g.Match != gitleaksRedacted && g.Match != g.Secret {
		// The match is the secret with its surroundings ("token = abc..."):
		// registering it as well lets the redactor mask it where it is
		// quoted whole.
		f.Secrets = append(f.Secrets, g.Match)
	}
	return f
}
