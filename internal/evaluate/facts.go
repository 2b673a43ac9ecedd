package evaluate

import (
	"path"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/remedy"
)

// Scores is how one answer fares against its example's facts. A nil
// accuracy field means the example is not eligible for that metric (a
// finding without a fixed version has no fixed version to name).
type Scores struct {
	// FixedVersion: the answer names the package and the recommended fixed
	// version (dependency findings with a known fix), and neither its first
	// ("In short") line nor a fix snippet says otherwise, nor does it say
	// that no release fixes it or that the fix is on the other release
	// line (wrongFixClaims).
	FixedVersion *bool `json:"fixed_version"`
	// Snippet: every fix snippet (code block, upgrade command) that names
	// the package gives it the fixed version, never the installed one,
	// and none names it without a version where one belongs (a command
	// that only shows or relocks versions, npm ls or bundle update, is
	// left out); nil when the example has no fixed version or the answer
	// no such snippet. Scoring against a reference answer (evaluation)
	// also wants each such snippet written as the reference writes its
	// fix (snippetVerbatim).
	Snippet *bool `json:"snippet"`
	// CWE: the answer names at least one of the finding's CWE ids.
	CWE *bool `json:"cwe"`
	// Location: the answer names the finding's path or URL, and the
	// location its "Where" section gives is that one (whereAgrees).
	Location *bool `json:"location"`
	// SnippetWritten: the answer has a scored fix snippet (Snippet is not
	// nil) where the reference answer has one; nil when the reference has
	// none or is not known (explain). Snippet alone cannot see an answer
	// that leaves the fix out.
	SnippetWritten *bool `json:"snippet_written,omitempty"`
	// Ecosystem: the ecosystem the answer's package line names ("installed
	// version 0.1.0 (go)") is the reference answer's; nil when the
	// reference names none or is not known. The fix's build system follows
	// it, and no other score reads it: "(npm)" for a Go module is a wrong
	// answer whose snippet may be unscored.
	Ecosystem *bool `json:"ecosystem,omitempty"`
	// Ungrounded lists identifiers the answer names that are neither in the
	// prompt nor among the finding's facts; non-empty means hallucinated.
	Ungrounded []string `json:"ungrounded"`
	// UngroundedByKind counts the Ungrounded identifiers by kind
	// (ident.Kinds).
	UngroundedByKind map[string]int `json:"ungrounded_by_kind,omitempty"`
}

// completeText drops the last word of an answer the length bound or the
// repetition stop cut off:
// it may be a fragment ("CWE-7" of "CWE-770") that is no claim at all, and
// scoring it would count the cut, not the model, as a hallucination.
func completeText(text, finishReason string) string {
	if finishReason != FinishLength && finishReason != FinishRepetition {
		return text
	}
	if i := strings.LastIndexAny(text, " \t\n"); i >= 0 {
		return text[:i]
	}
	return ""
}

// Score checks answer against facts; prompt is the system and user text the
// model was given.
func Score(answer, prompt string, f dataset.Facts) Scores {
	s := Scores{Ungrounded: []string{}}
	for _, id := range UngroundedIdents(answer, prompt, f) {
		s.Ungrounded = append(s.Ungrounded, id.Text)
		if s.UngroundedByKind == nil {
			s.UngroundedByKind = map[string]int{}
		}
		s.UngroundedByKind[id.Kind]++
	}
	if f.FixedVersion != "" {
		s.Snippet = snippetScore(answer, f)
		ok := namesPackage(answer, f.Package) && namesVersion(answer, f.FixedVersion) &&
			firstLineAgrees(answer, f) && (s.Snippet == nil || *s.Snippet) && !saysAny(answer, wrongFixClaims(f))
		s.FixedVersion = &ok
	}
	if len(f.CWE) > 0 {
		ok := namesCWE(answer, f.CWE)
		s.CWE = &ok
	}
	if f.Location != "" {
		ok := namesLocation(answer, f.Location) && whereAgrees(answer, prompt, f.Location)
		s.Location = &ok
	}
	return s
}

// wrongFixClaims are the phrases, lower-cased, that make an answer's fix
// wrong for a finding with a fixed version, wherever the answer says
// them: that no release fixes it, in vulntune's words (remedy.NoFixClaims),
// and that the fix sits on the other release line than f.FixLine, in the
// openings of vulntune's words (remedy.LineContradictions): "the lowest
// fixed version on the installed release line" for hoek 2.16.3 to 4.2.1
// tells a user the upgrade is a patch when it crosses two majors. Scoring
// reads them (Score) and grounded decoding forbids them (AnswerPin).
func wrongFixClaims(f dataset.Facts) []string {
	return append(remedy.LineContradictions(remedy.ChoiceStatus(f.FixLine)), remedy.NoFixClaims...)
}

// saysAny reports whether answer, lower-cased, holds one of phrases.
func saysAny(answer string, phrases []string) bool {
	low := strings.ToLower(answer)
	for _, c := range phrases {
		if strings.Contains(low, c) {
			return true
		}
	}
	return false
}

// namesPackage accepts the full name, or for a Maven group:artifact or a
// path-like name (Go modules, scoped npm) its last part: answers say
// "guava" as often as "com.google.guava:guava", and the version check that
// goes with it keeps the match specific.
func namesPackage(answer, pkg string) bool {
	if pkg == "" {
		return true // a fixed version without a package name: the version decides
	}
	low := strings.ToLower(answer)
	p := strings.ToLower(pkg)
	if ident.ContainsWord(low, p) {
		return true
	}
	if i := strings.LastIndexAny(p, ":/"); i >= 0 && i+1 < len(p) {
		return ident.ContainsWord(low, p[i+1:])
	}
	return false
}

// namesVersion looks for want among the versions of answer (versionTokens),
// compared without a "v" prefix or trailing ".0" parts.
func namesVersion(answer, want string) bool {
	w := ident.NormVersion(want)
	for _, m := range versionTokens(answer) {
		if ident.NormVersion(m) == w {
			return true
		}
	}
	return false
}

func namesCWE(answer string, ids []string) bool {
	named := map[string]bool{}
	for _, m := range ident.CWERE.FindAllString(answer, -1) {
		named[ident.NormCWE(m)] = true
	}
	for _, id := range ids {
		if named[ident.NormCWE(id)] {
			return true
		}
	}
	return false
}

// namesLocation accepts a URL without regard to scheme, the case of its
// host or a trailing slash (NormURL), and a path either whole or by its file name. The file name alone
// counts because answers shorten deep paths ("OpenTelemetryTracer.kt") and
// within one repository's findings the file name almost always identifies
// the file; the whole path is not required to be repeated verbatim.
func namesLocation(answer, loc string) bool {
	low := strings.ToLower(answer)
	if strings.Contains(loc, "://") {
		u := ident.NormURL(loc)
		for _, m := range ident.URLRE.FindAllString(answer, -1) {
			if ident.NormURL(m) == u {
				return true
			}
		}
		return false
	}
	p := strings.ToLower(strings.TrimPrefix(loc, "./"))
	return ident.ContainsWord(low, p) || ident.ContainsWord(low, path.Base(p))
}

// whereLineRE is a location line of an answer's "Where" section
// (narrate's whereLines): "File path, line 12-14", "Endpoint GET url (…)",
// "Image name". A path may hold spaces ("My Documents/App.java").
var whereLineRE = regexp.MustCompile(`^(?:[-*]\s+)?(File|Endpoint|Image)\s+(?:(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE)\s+)?(.+?)(?:,\s+line\s+(\d+)(?:-\d+)?)?(?:\s+\(.*\))?$`)

// whereAgrees says whether the location lines of answer's "Where" section
// name loc, and a line number they give is one the prompt gives ("path:48"
// or "line 48"). The first line can be right while this section invents a
// file ("File ch.qos.logback, line 15-16"), and a reader takes both.
func whereAgrees(answer, prompt, loc string) bool {
	for _, l := range sectionLines(answer, "Where") {
		m := whereLineRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		if !namesLocation(m[2], loc) {
			return false
		}
		if m[3] != "" && !regexp.MustCompile(`(?i)(?::|\blines?:?\s*)`+m[3]+`\b`).MatchString(prompt) {
			return false
		}
	}
	return true
}

// ecosystemRE is the package line's ecosystem (narrate's whereLines).
var ecosystemRE = regexp.MustCompile(`installed version \S+ \(([^()\n]+)\)`)

// namedEcosystem is the ecosystem of the first package line of text, or ""
// when it has none.
func namedEcosystem(text string) string {
	if m := ecosystemRE.FindStringSubmatch(text); m != nil {
		return strings.ToLower(strings.TrimSpace(m[1]))
	}
	return ""
}

// ScoreAnswer scores a generated answer as evaluation does: Score of the
// answer with the last word of a length-cut answer dropped (completeText).
// `vulntune explain` checks its answers with it.
func ScoreAnswer(text, finishReason, prompt string, f dataset.Facts) Scores {
	return Score(completeText(text, finishReason), prompt, f)
}
