package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// PromptVersion names the prompt text and the answer schema. It is part of
// the cache key, so bump it whenever the system prompt, the user prompt
// layout or the schema changes; testdata/prompt.golden.txt records it.
const PromptVersion = "analyze-v1"

// MinFieldLen and MaxFieldLen bound each answer field in characters (runes).
// Below the minimum a field says nothing; above the maximum a small model is
// usually rambling or repeating, and the narrative has no room for it.
const (
	MinFieldLen = 20
	MaxFieldLen = 600
)

// Answer is the JSON object the model must reply with. Every field is plain
// prose about the one finding in the prompt.
type Answer struct {
	// Summary says in one or two sentences what is wrong and where.
	Summary string `json:"summary"`
	// Impact says what an attacker or accident could cause.
	Impact string `json:"impact"`
	// Exploitation says how the weakness could be reached or triggered.
	Exploitation string `json:"exploitation"`
	// FixRationale says why the remediation removes the weakness.
	FixRationale string `json:"fix_rationale"`
}

// fields lists the answer's fields by JSON name, in schema order.
func (a Answer) fields() []struct{ name, text string } {
	return []struct{ name, text string }{
		{"summary", a.Summary}, {"impact", a.Impact},
		{"exploitation", a.Exploitation}, {"fix_rationale", a.FixRationale},
	}
}

// Reject reasons, the keys of Stats.RejectReasons.
const (
	ReasonNotJSON       = "not_json"
	ReasonMissingField  = "missing_field"
	ReasonTooShort      = "too_short"
	ReasonTooLong       = "too_long"
	ReasonEcho          = "echo_prompt"
	ReasonInjection     = "injection_echo"
	ReasonVulnID        = "unknown_vuln_id"
	ReasonCWE           = "unknown_cwe"
	ReasonVersion       = "unknown_version"
	ReasonPackage       = "unknown_package"
	ReasonPath          = "unknown_path"
	ReasonURL           = "unknown_url"
	ReasonEmptyResponse = "empty_response"
)

// Rejection says why an answer was not accepted: Reason is one of the
// Reason constants, Detail names the field and the offending token.
type Rejection struct {
	Reason string
	Detail string
}

// Error implements error.
func (r *Rejection) Error() string {
	if r.Detail == "" {
		return "answer rejected: " + r.Reason
	}
	return "answer rejected: " + r.Reason + ": " + r.Detail
}

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// maxJSONTries bounds how many '{' positions ParseAnswer tries, so a reply
// full of braces cannot make parsing quadratic.
const maxJSONTries = 64

// ParseAnswer rejects a reply that repeats the prompt's data block, then
// extracts the first JSON object from a model reply and decodes
// it as an Answer. Text around the object (code fences, "Here is the JSON:")
// is ignored, because servers such as mlx_lm.server ignore response_format
// and small models wrap their output. Missing or non-string fields are a
// Rejection, not a parse error: the reply is data, and every bad reply is
// counted the same way.
func ParseAnswer(reply string) (Answer, *Rejection) {
	if strings.TrimSpace(reply) == "" {
		return Answer{}, reject(ReasonEmptyResponse, "the reply is empty")
	}
	if repeatsDataBlock(reply) {
		// Small models often repeat the user message, data block included;
		// the block's JSON would otherwise parse as an "answer".
		return Answer{}, reject(ReasonEcho, "the reply repeats the prompt's data block")
	}
	obj, ok := firstObject(reply)
	if !ok {
		return Answer{}, reject(ReasonNotJSON, "no JSON object in the reply")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(obj, &raw); err != nil {
		return Answer{}, reject(ReasonNotJSON, "%v", err)
	}
	lower := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		lower[strings.ToLower(strings.TrimSpace(k))] = v
	}
	var a Answer
	dst := map[string]*string{
		"summary": &a.Summary, "impact": &a.Impact,
		"exploitation": &a.Exploitation, "fix_rationale": &a.FixRationale,
	}
	for _, f := range a.fields() {
		v, ok := lower[f.name]
		if !ok {
			return Answer{}, reject(ReasonMissingField, "%s", f.name)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return Answer{}, reject(ReasonMissingField, "%s is not a string", f.name)
		}
		*dst[f.name] = strings.TrimSpace(s)
	}
	return a, nil
}

// firstObject returns the first '{' ... '}' span of s that is a complete
// JSON object, trying each opening brace in turn.
func firstObject(s string) ([]byte, bool) {
	b := []byte(s)
	for tries, off := 0, 0; tries < maxJSONTries; tries++ {
		i := bytes.IndexByte(b[off:], '{')
		if i < 0 {
			return nil, false
		}
		off += i
		dec := json.NewDecoder(bytes.NewReader(b[off:]))
		var v json.RawMessage
		if err := dec.Decode(&v); err == nil && len(v) > 0 && v[0] == '{' {
			return v, true
		}
		off++
	}
	return nil, false
}

// repeatsDataBlock reports whether a delimiter line of the prompt appears as
// a line of the reply. Inside a JSON string it is judged by Check instead.
func repeatsDataBlock(reply string) bool {
	for _, l := range strings.Split(reply, "\n") {
		if l = strings.TrimSpace(l); l == dataBegin || l == dataEnd {
			return true
		}
	}
	return false
}
