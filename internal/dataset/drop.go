package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/redact"
)

// Reasons an example is dropped: the build checks that judge one example.
const (
	ReasonEmptyAnswer = "empty answer"
	ReasonShortAnswer = "answer too short"
	ReasonTruncated   = "answer truncated"
	ReasonPlaceholder = "placeholder text"
	ReasonUngrounded  = "names what its prompt lacks"
	ReasonSecretLike  = "looks like a secret"
)

// Drop is one example a build check left out of the dataset. Detail says
// what failed without quoting the example: nothing of a dropped example is
// written, and its text may hold what the check was there to stop.
type Drop struct {
	FindingID string `json:"finding_id"`
	Reason    string `json:"reason"`
	Detail    string `json:"detail"`
}

// Screen runs the checks that judge one example at a time and splits ex
// into the examples that pass them and the drops: a real report from an
// unfamiliar tool can produce one example that breaks the grounding
// contract or trips a secret detector, and that must cost the example,
// not the dataset. Drops are sorted by finding id.
func Screen(ex []Example) (kept []Example, drops []Drop) {
	kept, drops = make([]Example, 0, len(ex)), []Drop{}
	for _, e := range ex {
		if p := exampleProblems(e); len(p) > 0 {
			drops = append(drops, p[0])
			continue
		}
		kept = append(kept, e)
	}
	sort.SliceStable(drops, func(a, b int) bool { return drops[a].FindingID < drops[b].FindingID })
	return kept, drops
}

// DropCounts counts drops by reason.
func DropCounts(drops []Drop) map[string]int {
	out := map[string]int{}
	for _, d := range drops {
		out[d.Reason]++
	}
	return out
}

// exampleProblems lists what is wrong with one example, most basic first.
func exampleProblems(e Example) []Drop {
	var out []Drop
	add := func(reason, format string, args ...any) {
		out = append(out, Drop{FindingID: e.Meta.FindingID, Reason: reason, Detail: fmt.Sprintf(format, args...)})
	}
	a := e.Assistant()
	switch {
	case strings.TrimSpace(a) == "":
		add(ReasonEmptyAnswer, "the assistant turn is empty")
		return out
	case len(a) < minAnswer:
		add(ReasonShortAnswer, "%d characters, the minimum is %d", len(a), minAnswer)
	case truncated(a):
		add(ReasonTruncated, "it ends mid-sentence or inside an open code block")
	}
	if placeholder.MatchString(a) {
		add(ReasonPlaceholder, "template or TODO text in the answer")
	}
	// The dataset's grounding contract: an answer names no vulnerability
	// id, CWE, version or path its prompt does not carry, so the model
	// learns to read facts, never to recall them (the rule evaluation's
	// hallucination rate holds the tuned model to).
	if u := ident.UngroundedIdents(a, e.Prompt()); len(u) > 0 {
		add(ReasonUngrounded, "the answer names %s its prompt does not show", countKinds(u))
	}
	// The final scan reads the files as written, JSON escapes and all; so
	// does this, on the lines this example would become.
	for _, line := range exampleLines(e) {
		for _, m := range redact.Scan(line) {
			add(ReasonSecretLike, "the %s detector matches its text", m.Detector)
		}
	}
	return out
}

// countKinds says how many identifiers of each kind u holds ("1 CWE and 2
// paths"), never which.
func countKinds(u []ident.Ident) string {
	n := map[string]int{}
	var kinds []string
	for _, id := range u {
		if n[id.Kind] == 0 {
			kinds = append(kinds, id.Kind)
		}
		n[id.Kind]++
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		s := fmt.Sprintf("%d %s", n[k], k)
		if n[k] > 1 {
			s += "s"
		}
		parts[i] = s
	}
	return strings.Join(parts, " and ")
}

// exampleLines renders e as Write writes it: its split line and its
// metadata line.
func exampleLines(e Example) []string {
	var out []string
	for _, v := range []any{splitRow(e), e.Meta} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err == nil {
			out = append(out, strings.TrimSuffix(b.String(), "\n"))
		}
	}
	return out
}

// splitRow is one line of a split file: the messages alone.
func splitRow(e Example) any {
	return struct {
		Messages []chat.Message `json:"messages"`
	}{e.Messages}
}
