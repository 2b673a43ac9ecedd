// Package dataset turns narrated examples into a published-ready dataset
// directory: a leak-free, stratified, seeded train/valid/test split, JSONL
// files in the chat format mlx-lm and TRL read, a metadata sidecar, stats and
// a dataset card, plus the build-time checks that refuse to write a dataset
// with placeholders, secrets, cross-split duplicates, empty answers or answers
// that name what their prompt does not.
package dataset

import (
	"github.com/vulntune/vulntune/internal/chat"
)

// Example is one training example and its metadata. Only Messages is
// written to the split files; Meta goes to examples.meta.jsonl in the same
// line order, because mlx-lm's chat loader only reads "messages" but TRL
// would try to use any extra column.
type Example struct {
	Messages []chat.Message
	Meta     Meta
}

// Meta describes the finding an example was made from.
type Meta struct {
	FindingID string   `json:"finding_id"`
	Kind      string   `json:"kind"`
	Tools     []string `json:"tools"`
	Severity  string   `json:"severity"`
	// Rule is "tool:rule" of the finding's primary tool, what CapPerRule
	// counts by.
	Rule string `json:"rule,omitempty"`
	// Keys are the identity keys used to keep related findings in one
	// split: "pkgvuln:<eco>|<pkg>|<vuln id>" and "rulepath:<rule>|<path>".
	Keys []string `json:"-"`
	// Group is the split group (assigned by Split).
	Group string `json:"group"`
	// Split is train, valid or test (assigned by Split).
	Split string `json:"split"`
	// LLM says whether accepted LLM prose is part of the answer.
	LLM bool `json:"llm"`
	// Phrasing is the index of the user-turn phrasing used.
	Phrasing int `json:"phrasing"`
	// AugmentOf is the finding id of the original an identifier-replaced
	// copy was made from ("" for an original); a copy is in its
	// original's Group and Split.
	AugmentOf string `json:"augment_of,omitempty"`
	// Facts are what a correct answer must name; evaluation scores
	// generated answers against them.
	Facts Facts `json:"facts"`
}

// Facts are the checkable facts of one example's finding.
type Facts struct {
	// Package and FixedVersion: the dependency and the version the
	// remediation recommends ("" when none is known).
	Package      string `json:"package,omitempty"`
	FixedVersion string `json:"fixed_version,omitempty"`
	// InstalledVersion is the package's version the scanner found, the
	// vulnerable one: a fix snippet that pins it fixes nothing.
	InstalledVersion string `json:"installed_version,omitempty"`
	// FixLine is where FixedVersion sits against the installed version,
	// remedy's "same-line" or "other-line" ("" for the other outcomes):
	// an answer whose upgrade sentence claims the other line is wrong.
	FixLine string `json:"fix_line,omitempty"`
	// CWE ids of the finding ("CWE-79").
	CWE []string `json:"cwe"`
	// Location is the file path or URL of the finding.
	Location string `json:"location,omitempty"`
}

// Split names.
const (
	Train = "train"
	Valid = "valid"
	Test  = "test"
)

// Assistant returns the last assistant turn, the answer a model learns.
func (e Example) Assistant() string { return chat.Answer(e.Messages) }

// User returns the first user turn.
func (e Example) User() string { return chat.FirstUser(e.Messages) }

// Prompt returns every turn before the last assistant turn, joined: what the
// model sees when it writes the answer (chat.Prompt).
func (e Example) Prompt() string { return chat.Prompt(e.Messages) }
