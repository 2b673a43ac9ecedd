package finding

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity is the normalised five-level scale every tool maps onto.
type Severity string

// The severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists every Severity, most severe first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// Rank orders severities: critical is 4, info is 0, anything else -1.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	case SeverityInfo:
		return 0
	}
	return -1
}

// UnmarshalJSON accepts only the five known severities, so a hand-edited
// findings file with a typo fails loudly instead of sorting as "unknown".
func (s *Severity) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if Severity(v).Rank() < 0 {
		return fmt.Errorf("severity %q: want one of critical, high, medium, low, info", v)
	}
	*s = Severity(v)
	return nil
}

// SeverityMapping is the one table that says how each tool's severity words
// map onto the normalised scale. It is reproduced in DESIGN.md §3; keep the
// two in agreement. Keys are lower-cased tool words; the "sarif" entry covers
// the SARIF level of any producer whose own words are not listed.
var SeverityMapping = map[string]map[string]Severity{
	// SARIF result.level (and rule defaultConfiguration.level).
	"sarif": {"error": SeverityHigh, "warning": SeverityMedium, "note": SeverityLow, "none": SeverityInfo},
	// Trivy, Grype, OSV-Scanner database_specific, Snyk, Checkov, KICS,
	// Semgrep (JSON extra.severity uses ERROR/WARNING/INFO) and Bandit.
	"words": {
		"critical": SeverityCritical, "very-high": SeverityCritical,
		"high": SeverityHigh, "error": SeverityHigh,
		"medium": SeverityMedium, "moderate": SeverityMedium, "warning": SeverityMedium,
		"low": SeverityLow, "negligible": SeverityLow, "note": SeverityLow,
		"info": SeverityInfo, "informational": SeverityInfo, "unknown": SeverityInfo, "none": SeverityInfo,
	},
	// OWASP ZAP riskcode: 0 informational, 1 low, 2 medium, 3 high.
	"zap": {"0": SeverityInfo, "1": SeverityLow, "2": SeverityMedium, "3": SeverityHigh},
}

// SeverityFromWord maps a tool's severity word (any case) through the "words"
// table; ok is false when the word is unknown.
func SeverityFromWord(word string) (Severity, bool) {
	s, ok := SeverityMapping["words"][strings.ToLower(strings.TrimSpace(word))]
	return s, ok
}

// SeverityFromSARIFLevel maps a SARIF level; ok is false when it is not one.
func SeverityFromSARIFLevel(level string) (Severity, bool) {
	s, ok := SeverityMapping["sarif"][strings.ToLower(strings.TrimSpace(level))]
	return s, ok
}

// SeverityFromScore maps a CVSS-style 0–10 score with the CVSS v3 bands:
// 9.0+ critical, 7.0+ high, 4.0+ medium, 0.1+ low, 0 info. GitHub uses the
// same bands for SARIF security-severity.
func SeverityFromScore(score float64) Severity {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityInfo
}
