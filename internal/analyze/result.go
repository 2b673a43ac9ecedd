package analyze

import (
	"sort"
	"time"
)

// Analysis is an accepted, grounded answer for one finding.
type Analysis struct {
	Answer
	FindingID     string `json:"finding_id"`
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	// Cached is true when the reply came from the cache, not a call.
	Cached bool `json:"cached"`
}

// Stats counts what one Analyze call did. Requested = CacheHits + fresh
// answers + Errors; Accepted + Rejected counts every answer, cached or not.
type Stats struct {
	Requested int `json:"requested"`
	CacheHits int `json:"cache_hits"`
	// Calls counts HTTP requests sent, retries included.
	Calls         int            `json:"calls"`
	Accepted      int            `json:"accepted"`
	Rejected      int            `json:"rejected"`
	RejectReasons map[string]int `json:"reject_reasons"`
	// Errors counts findings that got no answer (request failed after all
	// retries, or the finding had no id).
	Errors   int           `json:"errors"`
	Duration time.Duration `json:"duration_ns"`
}

// PerMinute is the throughput of the run in findings per minute, or 0 when
// nothing was timed.
func (s Stats) PerMinute() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Requested) / s.Duration.Minutes()
}

// SortedReasons returns the reject reasons of s, most frequent first, for
// reports.
func (s Stats) SortedReasons() []string {
	keys := make([]string, 0, len(s.RejectReasons))
	for k := range s.RejectReasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.RejectReasons[keys[i]] != s.RejectReasons[keys[j]] {
			return s.RejectReasons[keys[i]] > s.RejectReasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
