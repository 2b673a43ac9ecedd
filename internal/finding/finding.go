// Package finding defines the canonical Finding record that every scanner
// format is normalised into, with its severity scale, stable fingerprint and
// merge rules. It is the contract between ingest and every later phase
// (DESIGN.md §3); nothing here knows about any particular scanner format.
package finding

// Kind classifies what a finding is about. It decides how it is fingerprinted,
// how remediation is chosen and which narrative shape it gets.
type Kind string

// The kinds of finding vulntune knows.
const (
	KindDependency Kind = "dependency"
	KindCode       Kind = "code"
	KindConfig     Kind = "config"
	KindSecret     Kind = "secret"
	KindWeb        Kind = "web"
	KindLicense    Kind = "license"
	KindOther      Kind = "other"
)

// Kinds lists every Kind in a fixed order, for tables and stratification.
var Kinds = []Kind{KindDependency, KindCode, KindConfig, KindSecret, KindWeb, KindLicense, KindOther}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Tool names one scanner that reported a finding.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	RuleID  string `json:"rule_id,omitempty"`
}

// Location says where a finding is. Code, config and secret findings use the
// file fields; web findings use URL, Method and Param; container findings may
// carry an Image. Snippet is always redacted before it leaves ingest.
type Location struct {
	Path      string   `json:"path,omitempty"`
	StartLine int      `json:"start_line,omitempty"`
	EndLine   int      `json:"end_line,omitempty"`
	StartCol  int      `json:"start_column,omitempty"`
	Snippet   string   `json:"snippet,omitempty"`
	URL       string   `json:"url,omitempty"`
	Method    string   `json:"method,omitempty"`
	Param     string   `json:"param,omitempty"`
	Image     string   `json:"image,omitempty"`
	Logical   []string `json:"logical,omitempty"`
}

// Package describes the vulnerable dependency of a dependency finding.
type Package struct {
	Name             string   `json:"name"`
	Ecosystem        string   `json:"ecosystem,omitempty"`
	PURL             string   `json:"purl,omitempty"`
	InstalledVersion string   `json:"installed_version,omitempty"`
	FixedVersions    []string `json:"fixed_versions"`
}

// Source records where a finding was read from. Commit metadata that could
// identify people (author names, emails) is never stored here.
type Source struct {
	Artifact string `json:"artifact,omitempty"`
	ToolFile string `json:"tool_file"`
	RunID    string `json:"run_id,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Branch   string `json:"branch,omitempty"`
}

// Suppression says why a scanner flagged a finding as suppressed.
type Suppression struct {
	Kind          string `json:"kind,omitempty"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}

// Fix is a concrete change a scanner itself proposes (SARIF fixes[], Semgrep
// autofix). Replacements are kept as text so later phases can quote them.
type Fix struct {
	Description string `json:"description,omitempty"`
	Path        string `json:"path,omitempty"`
	StartLine   int    `json:"start_line,omitempty"`
	EndLine     int    `json:"end_line,omitempty"`
	Replacement string `json:"replacement,omitempty"`
}

// Finding is one normalised, deduplicated, redacted scanner result. See
// DESIGN.md §3 for the meaning of each field.
type Finding struct {
	ID          string            `json:"id"`
	Tools       []Tool            `json:"tools"`
	Kind        Kind              `json:"kind"`
	Severity    Severity          `json:"severity"`
	Score       float64           `json:"score,omitempty"`
	CVSSVector  string            `json:"cvss_vector,omitempty"`
	Title       string            `json:"title"`
	Message     string            `json:"message,omitempty"`
	Description string            `json:"description,omitempty"`
	HelpURI     string            `json:"help_uri,omitempty"`
	References  []string          `json:"references"`
	CWE         []string          `json:"cwe"`
	VulnIDs     []string          `json:"vuln_ids"`
	Location    Location          `json:"location"`
	Related     []Location        `json:"related,omitempty"`
	Flow        []Location        `json:"code_flow,omitempty"`
	Package     *Package          `json:"package,omitempty"`
	Fixes       []Fix             `json:"fixes,omitempty"`
	Suppressed  bool              `json:"suppressed"`
	Suppression *Suppression      `json:"suppression,omitempty"`
	Sources     []Source          `json:"sources"`
	Occurrences int               `json:"occurrences"`
	Properties  map[string]string `json:"properties,omitempty"`

	// Redactions counts the masks redaction put into this finding's text,
	// by detector, summed over the reports merged into it: the dataset's
	// card says what was masked from these, not by re-reading the text.
	Redactions map[string]int `json:"redactions,omitempty"`

	// SecretHash is the SHA-256 of a secret a secret scanner found, kept for
	// identity (fingerprint, dedup); the value itself is never stored.
	SecretHash string `json:"secret_hash,omitempty"`
	// PartialFingerprint is the tool's own stable fingerprint, when it gives
	// one; it replaces the line number in the fingerprint so that a finding
	// keeps its id when unrelated lines move.
	PartialFingerprint string `json:"-"`
	// Secrets holds the raw secret values a scanner reported for this
	// finding, only between parsing and redaction; it is never serialised.
	Secrets []string `json:"-"`
}

// AddRedactions adds counts of masks applied to f, by detector.
func (f *Finding) AddRedactions(counts map[string]int) {
	for k, v := range counts {
		if v == 0 {
			continue
		}
		if f.Redactions == nil {
			f.Redactions = map[string]int{}
		}
		f.Redactions[k] += v
	}
}
