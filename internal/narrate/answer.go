package narrate

import (
	"fmt"
	"path"
	"strings"
	"unicode"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

// kindImpact says in general terms why a kind of finding matters. It names
// no identifiers, so it cannot contradict the finding.
var kindImpact = map[finding.Kind]string{
	finding.KindDependency: "Anyone who can reach the affected code can exploit a known vulnerability, and its public advisory shows how.",
	finding.KindCode:       "The flagged code pattern is a classic way in for attackers; left in place it can undermine the guarantees the surrounding code relies on.",
	finding.KindConfig:     "Insecure configuration widens the attack surface of everything deployed with it, and it is repeated in every environment built from the same files.",
	finding.KindSecret:     "A committed credential must be treated as compromised: anyone with read access to the repository, its forks or its history can use it.",
	finding.KindWeb:        "The running application exposes this weakness to any client over HTTP, so it can be probed without access to the source.",
	finding.KindLicense:    "A dependency's license can impose obligations (source disclosure, attribution) or forbid the way the software is distributed.",
	finding.KindOther:      "The scanner considers this a security weakness worth fixing before release.",
}

// KindImpact returns the sentence an answer's "Why it matters" gives for a
// finding of kind k ("" for a kind narrate does not know).
func KindImpact(k finding.Kind) string { return kindImpact[k] }

// Answer renders the assistant turn: in short, what it is, where, the fix,
// why it matters, how to verify, references. The actionable facts (id,
// weakness, location, package, fixed version) come first, where a reader
// looks and where a length-bounded generation still reaches them; the
// scanner's free-text description, the longest and least structured part,
// comes after the fix. The facts come from f and rem only.
func Answer(f *finding.Finding, rem remedy.Remediation, prose *Prose) string {
	all := func(string) bool { return true }
	return answer(f, rem, prose, all, all)
}

// answer is Answer keeping, of the text that is not the finding's own
// facts (the scanner's solution steps, its description, the CWE
// catalogue's description), only what shown accepts: what names nothing
// its prompt does not show. The catalogue's entry for CWE-36 carries
// example paths, a scanner's solution may name a weakness or an API the
// prompt never mentions; a model trained on them would learn to recall.
// Links are held to linked, the stricter rule (ident.PagesShown).
func answer(f *finding.Finding, rem remedy.Remediation, prose *Prose, shown, linked func(string) bool) string {
	var b strings.Builder
	section := func(title string) { fmt.Fprintf(&b, "\n%s\n", chat.Heading(title)) }

	b.WriteString(chat.Heading("In short") + "\n")
	b.WriteString(inShort(f, rem) + "\n")

	// What it is.
	section("What it is")
	b.WriteString(whatItIs(f, rem))
	if prose != nil && prose.Summary != "" {
		b.WriteString(" " + prose.Summary)
	}
	b.WriteString("\n")

	// Where.
	section("Where")
	for _, w := range whereLines(f) {
		b.WriteString(bullet(w))
	}

	// Fix.
	section("Fix")
	// For a finding without a package the summary only restates what and
	// where, said just above; the steps are the fix.
	if f.Package != nil || f.Kind == finding.KindSecret || (len(rem.Steps) == 0 && len(rem.Changes) == 0) {
		b.WriteString(strings.TrimSpace(rem.Summary) + "\n")
	}
	// The other fixed versions are left to the prompt, which lists them:
	// the answer names the one to take.
	for _, ch := range shownChanges(rem.Changes, f.Package != nil) {
		head := ch.BuildSystem
		if ch.File != "" {
			head += " (" + fileRef(f, ch.File) + ")"
		}
		if ch.Note != "" {
			head += ": " + strings.TrimSpace(ch.Note)
		}
		fmt.Fprintf(&b, "%s\n```\n%s\n```\n", strings.TrimRight(head, ".")+".", strings.TrimRight(ch.Snippet, "\n"))
	}
	n := 0
	for _, s := range rem.Steps {
		if shown(s) {
			n++
			fmt.Fprintf(&b, "%d. %s\n", n, strings.TrimSpace(s))
		}
	}
	if n == 0 && len(rem.Steps) > 0 {
		b.WriteString("1. " + noStepShown(f) + "\n")
	}
	if prose != nil && prose.FixRationale != "" {
		b.WriteString(prose.FixRationale + "\n")
	}

	// Why it matters.
	section("Why it matters")
	// The severity as the prompt gives it (the score and CVSS vector are
	// not in the prompt: a model trained on them would recall them, and a
	// CVSS 4.0 vector alone costs some 50 tokens of every answer), the
	// description and the kind's impact, on one line: grounded decoding
	// holds the whole line (evaluate.AnswerPin), so a grounded answer gives
	// its own kind's sentence. Split over two lines (narrate v17–v18), the
	// free answers on the other projects invented twice as often (0.31 and
	// 0.34 against 0.14 for one line, bench/RESULTS.md).
	fmt.Fprintf(&b, "Severity: %s. ", f.Severity)
	refs := references(f, rem, func(s string) bool { return shown(s) && linked(s) })
	// One explanation: the scanner's description, cut to a sentence budget
	// (the prompt shows more of it, the advisory all of it), else the
	// weakness's from the CWE catalogue, unless the fix steps quote it.
	explained := false
	if desc, cut := summary(description(f)); desc != "" && shown(desc) && saysSomething(desc) {
		b.WriteString(endSentence(desc) + " ")
		// A pointer to the advisory where there is one (a code finding's
		// link is the weakness's catalogue entry, which is no advisory).
		if cut && len(refs) > 0 && len(f.VulnIDs) > 0 {
			b.WriteString("The advisory below has the details. ")
		}
		explained = true
	}
	b.WriteString(kindImpact[f.Kind])
	if len(rem.CWE) > 0 && rem.CWE[0].Description != "" && !explained {
		c := rem.CWE[0]
		if d, _ := summary(c.Description); !strings.Contains(b.String(), d) && shown(d) {
			fmt.Fprintf(&b, " %s (%s): %s", c.ID, c.Name, d)
		}
	}
	if prose != nil && prose.Impact != "" {
		b.WriteString(" " + prose.Impact)
	}
	if prose != nil && prose.Exploitation != "" {
		b.WriteString(" " + prose.Exploitation)
	}
	b.WriteString("\n")

	// Verify, with the build system whose fix the answer shows: where it
	// cannot tell (a Maven package found in a Jenkins plugin) the
	// remediation covers Maven and Gradle, and a grounded answer kept the
	// Gradle command under its Maven fix.
	verification := rem.Verification
	if shown := shownChanges(rem.Changes, f.Package != nil); f.Package != nil && len(shown) > 0 && len(shown) < len(rem.Changes) {
		verification = remedy.DependencyVerification(f, shown)
	}
	if len(verification) > 0 {
		section("How to verify")
		for _, v := range verification {
			b.WriteString(bullet(strings.TrimSpace(v)))
		}
	}

	// References.
	if len(refs) > 0 {
		section("References")
		for _, r := range refs {
			b.WriteString(bullet(r))
		}
	}
	return strings.TrimSpace(b.String())
}

// bullet is one line of a list section (chat.ListSections): s on one
// line, a value that spans lines (a KICS search key quoting a workflow's
// run block) with its whitespace runs made one space, since the lines of
// a list are bullets and nothing else (the loop guard holds generated
// answers to that).
func bullet(s string) string {
	return "- " + oneLine(s) + "\n"
}

// oneLine is s with its whitespace runs made one space when it spans
// lines, for a line of the answer that must stay one: a bullet, or the
// "In short" line that names a KICS location quoting a run block.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}

func whatItIs(f *finding.Finding, rem remedy.Remediation) string {
	var parts []string
	switch {
	case f.Package != nil:
		// The installed version is left to "Where" and the fix: every copy
		// of a long distribution version ("1:4.13+dfsg1-4ubuntu3.2") is one
		// more place for a small model to garble it.
		// The id and package open the answer's first line already; here
		// the advisory's title says what they are, else the line is
		// repeated. The aliases are left to the prompt, which lists them.
		id := primaryID(f)
		s := fmt.Sprintf("%s in %s", id, f.Package.Name)
		if f.Title != "" && !strings.EqualFold(f.Title, id) {
			s = strings.TrimSuffix(clip(f.Title, 200), ".")
		}
		parts = append(parts, s+".")
	default:
		title := headline(f)
		parts = append(parts, fmt.Sprintf("%s (%s rule %s).", strings.TrimSuffix(clip(title, 200), "."), primaryTool(f).Name, ruleOf(f)))
	}
	if len(rem.CWE) > 0 {
		// The first weakness by name, the others by id: the prompt names
		// them all, and four catalogue names cost a Guava answer 50 tokens.
		c := rem.CWE[0]
		s := fmt.Sprintf("Weakness: %s (%s)", c.ID, c.Name)
		if len(rem.CWE) > 1 {
			ids := make([]string, 0, len(rem.CWE)-1)
			for _, o := range rem.CWE[1:] {
				ids = append(ids, o.ID)
			}
			s += "; also " + strings.Join(ids, ", ")
		}
		parts = append(parts, s+".")
	} else if len(f.CWE) > 0 {
		parts = append(parts, "Weakness: "+strings.Join(f.CWE, ", ")+".")
	}
	return strings.Join(parts, " ")
}

// inShort is the answer's first line, in one shape for every kind:
// "<id> [in <package>] at <place>: <what to do> (<CWEs>)." It opens with an
// identifier the prompt states as a field (the vulnerability id, else the
// CWE, else the rule), never with free text: a small model that opened with
// the title went on copying the scanner's description instead of the fix.
func inShort(f *finding.Finding, rem remedy.Remediation) string {
	var anchor, action string
	tags := f.CWE
	switch c := rem.Choice; {
	case f.Kind == finding.KindLicense:
		anchor = ruleOf(f)
		if f.Package != nil {
			anchor += " in " + f.Package.Name
		}
		action = "check this license against your policy"
		tags = nil
	case f.Package != nil:
		name := remedy.DisplayName(finding.CanonicalEcosystem(f.Package.Ecosystem), f.Package.Name)
		anchor = primaryID(f) + " in " + name
		from := f.Package.InstalledVersion
		switch {
		case c != nil && c.Fixed != "" && c.Status != remedy.StatusNotAffected && from != "":
			action = fmt.Sprintf("upgrade from %s to %s", from, c.Fixed)
		case c != nil && c.Fixed != "" && c.Status != remedy.StatusNotAffected:
			action = fmt.Sprintf("make sure it is at %s or later", c.Fixed)
		case c != nil && c.Status == remedy.StatusNotAffected:
			action = fmt.Sprintf("the installed version already includes the fix (fixed in %s)", c.Fixed)
		default:
			action = remedy.NoFixAction
		}
	default:
		anchor = ruleOf(f)
		if len(f.CWE) > 0 {
			anchor, tags = strings.Join(f.CWE, ", "), nil
		}
		title := strings.TrimSuffix(clip(firstLine(headline(f)), 120), ".")
		switch {
		case f.Kind == finding.KindSecret:
			action = "a committed secret (" + title + "): revoke and rotate it, then purge it from history"
		case len(rem.Changes) > 0:
			action = title + "; apply the change below"
		default:
			action = title
		}
	}
	s := anchor
	if place := where(f); place != "(no location reported)" {
		s += " at " + oneLine(place)
	}
	s += ": " + action
	if len(tags) > 0 {
		s += " (" + strings.Join(tags, ", ") + ")"
	}
	return s + "."
}

// headline is what a finding without a package is, in a phrase: its
// title, unless the title only repeats the rule id (a SARIF rule without a
// short description: codeql's "js/unused-local-variable: js/unused-local-
// variable.") or is empty, where the scanner's message says it ("Unused
// variable foo"), else the rule id. A secret keeps its rule: its message
// is where and when it was committed ("test-rule has detected secret for
// file auth.py at commit 0000000000000000"), no headline, and a commit
// hash of zeros reads as a loop to the loop guard.
func headline(f *finding.Finding) string {
	t := strings.TrimSpace(f.Title)
	if (t == "" || strings.EqualFold(t, ruleOf(f))) && f.Kind != finding.KindSecret {
		if m := firstLine(f.Message); m != "" && !repeatsPackage(m) {
			return m
		}
	}
	if t == "" {
		return ruleOf(f)
	}
	return t
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// primaryID is the id a package finding is known by: its canonical
// vulnerability id, else the rule.
func primaryID(f *finding.Finding) string {
	if id := finding.CanonicalVulnID(f.VulnIDs); id != "" {
		return id
	}
	return ruleOf(f)
}

// description is the scanner's description as answers quote it: bounded,
// one paragraph without markdown headings (advisories carry their own, and
// a model that learns to copy them loses the answer's structure), and
// without the title it often repeats as its first sentence.
func description(f *finding.Finding) string {
	desc := plainText(f.Description)
	if title := strings.TrimSpace(f.Title); title != "" && len(desc) >= len(title) && strings.EqualFold(desc[:len(title)], title) {
		desc = strings.TrimSpace(desc[len(title):])
	}
	if desc == "" {
		return ""
	}
	return clip(desc, maxDescription)
}

// maxDescription bounds, in characters, the scanner's description as the
// prompt shows it.
const maxDescription = 300

// wordClip cuts s to at most n characters at a word boundary and marks the
// cut.
func wordClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:-") + " …"
}

// plainText flattens markdown prose into one paragraph: heading lines are
// left out, the text before one ends as a sentence, and runs of whitespace
// collapse. A heading titles the text under it and says nothing of its
// own; made a sentence, GHSA's "### Impact" and "### Patches" opened and
// closed "Why it matters" ("Severity: high. Impact. With older versions of
// jackson-core … Patches. Anyone who …").
func plainText(s string) string {
	var kept []string
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		if h := strings.TrimLeft(t, "#"); h != t && (h == "" || strings.HasPrefix(h, " ")) {
			if n := len(kept); n > 0 {
				kept[n-1] = endSentence(kept[n-1])
			}
			continue
		}
		if t != "" {
			kept = append(kept, t)
		}
	}
	return strings.Join(strings.Fields(strings.Join(kept, " ")), " ")
}

// maxAliases bounds the aliases a prompt shows.
const maxAliases = 4

func whereLines(f *finding.Finding) []string {
	var out []string
	l := f.Location
	if f.Package != nil {
		s := "Package " + f.Package.Name
		if v := f.Package.InstalledVersion; v != "" {
			s += ", installed version " + v
		}
		out = append(out, s+ecosystemNote(f))
	}
	switch {
	case l.URL != "":
		out = append(out, "Endpoint "+where(f))
	case l.Path != "":
		s := "File " + l.Path
		if l.StartLine > 0 {
			s += fmt.Sprintf(", line %d", l.StartLine)
			if l.EndLine > l.StartLine {
				s += fmt.Sprintf("-%d", l.EndLine)
			}
		}
		out = append(out, s)
	case l.Image != "":
		out = append(out, "Image "+l.Image)
	}
	if len(l.Logical) > 0 {
		out = append(out, "In "+strings.Join(l.Logical, ", "))
	}
	if f.Occurrences > 1 && f.Kind == finding.KindWeb {
		out = append(out, fmt.Sprintf("Seen on %d distinct requests", f.Occurrences))
	}
	if len(out) == 0 {
		out = append(out, "The scanner reported no location.")
	}
	return out
}

// references are the links an answer can give without recalling them: the
// reference pages that name one of the finding's own vulnerability or CWE
// ids (an advisory page, the CWE entry) and that shown accepts (the prompt
// shows the link itself: ident.PagesShown). A link to a commit, a vendor page or
// an advisory mirror is true but not in the prompt, and a model trained to
// write such links invents them.
func references(f *finding.Finding, rem remedy.Remediation, shown func(string) bool) []string {
	var ids []string
	for _, id := range f.VulnIDs {
		ids = append(ids, strings.ToLower(id))
	}
	for _, c := range rem.CWE {
		ids = append(ids, fmt.Sprintf("definitions/%s.html", strings.TrimPrefix(strings.ToUpper(c.ID), "CWE-")))
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		low := strings.ToLower(s)
		if s == "" || seen[low] || len(out) >= maxReferences || !shown(s) {
			return
		}
		for _, id := range ids {
			if strings.Contains(low, id) {
				seen[low] = true
				out = append(out, s)
				return
			}
		}
	}
	add(f.HelpURI)
	for _, r := range rem.References {
		add(r)
	}
	for _, r := range f.References {
		add(r)
	}
	return out
}

// maxReferences bounds the links an answer lists: the first of the
// advisory, the rule's page and the weakness's entry. Each further link
// cost some 25 tokens of every answer and said nothing the first did not
// lead to.
const maxReferences = 1

// shownChanges bounds the build-file changes an answer spells out to one
// snippet for a package (the remediation's first: the build system it
// ranks first), and to the scanner's own replacements for code. The
// remediation keeps them all. A Gradle answer with its Kotlin pin, Kotlin
// constraint and Groovy pin ran to 1,100 tokens, longer than the main
// job's training rows (42% of them were cut), and near-identical blocks
// teach a small model repetition, not remediation.
func shownChanges(all []remedy.Change, pkg bool) []remedy.Change {
	if pkg && len(all) > 1 {
		return all[:1]
	}
	return all
}

// fileRef names the file a change goes in. A file the scanner did not
// report (the build script beside a lockfile, which may be build.gradle or
// build.gradle.kts) is named by its file name and placed by the reported
// one: its path is not in the prompt, and an answer that spelled it out
// would teach the model to write paths it was never shown.
func fileRef(f *finding.Finding, file string) string {
	loc := strings.TrimPrefix(f.Location.Path, "./")
	file = strings.TrimPrefix(file, "./")
	switch {
	case loc == "":
		return path.Base(file)
	case file == loc:
		return file
	case path.Dir(file) == path.Dir(loc):
		// By the reported file's name: its path is in "Where" above.
		return path.Base(file) + " beside " + path.Base(loc)
	}
	return path.Base(file) + " of the project holding " + loc
}

// maxSummary is the sentence budget, in characters, of the scanner's
// description in an answer. Advisory descriptions run to 300 characters in
// the prompt (and thousands in the advisory); the answer says what the
// weakness does in a sentence or two and leaves the rest to the prompt and
// the advisory, which keeps dependency answers inside the training
// sequence length.
const maxSummary = 200

// summary is s cut to whole sentences within maxSummary characters: the
// first sentence, and the next ones while they fit. Sentences of one or
// two words are left out: they are the headings plainText turned into
// sentences ("Summary.", "Details.") and list numbers ("1."). A first
// sentence longer than the budget is kept whole up to the prompt's own
// bound on the description, else cut at a word. cut reports whether text
// was left out.
func summary(s string) (out string, cut bool) {
	s = strings.TrimSpace(s)
	if len(s) <= maxSummary {
		return s, false
	}
	start := 0
	for _, end := range sentenceEnds(s) {
		sent := strings.TrimSpace(s[start:end])
		start = end
		if len(strings.Fields(sent)) < 3 {
			continue
		}
		if out == "" && len(sent) > maxDescription {
			out = wordClip(sent, maxSummary)
			break
		}
		if out == "" {
			out = sent
			continue
		}
		if len(out)+1+len(sent) > maxSummary {
			break
		}
		out += " " + sent
	}
	if out == "" {
		out = wordClip(s, maxSummary)
	}
	return out, len(out) < len(s)
}

// saysSomething reports whether a description says more than identifiers:
// Snyk's "(CVE-2018-3728) hoek@2.16.3" and Dockle's link to its checkpoint
// page only repeat the In short line's id and package or the References,
// so "Why it matters" goes on to the weakness's description instead. Two
// words with letters and no digit, link or "@" are enough.
func saysSomething(desc string) bool {
	n := 0
	for _, w := range strings.Fields(desc) {
		w = strings.Trim(w, "()[]{}.,;:!?\"'`")
		if strings.ContainsAny(w, "0123456789@") || strings.Contains(w, "://") ||
			!strings.ContainsFunc(w, unicode.IsLetter) {
			continue
		}
		if n++; n == 2 {
			return true
		}
	}
	return false
}

// endSentence is s ending as a sentence, so the kind's impact sentence after
// it in "Why it matters" starts one of its own: a description that ends
// without a mark (KICS's "… 3389 open", Trivy's "(CVE-…) pkg@ver") ran
// on into it ("3389 open Insecure configuration widens …"), in 8 of the
// other projects' 35 answers. A closing quote or bracket after the mark,
// and the ellipsis of a cut, end one already; a trailing comma, colon or
// semicolon gives way to the stop.
func endSentence(s string) string {
	t := strings.TrimRight(s, ")]\"'`’”")
	if strings.HasSuffix(t, "…") || (t != "" && strings.IndexByte(".!?", t[len(t)-1]) >= 0) {
		return s
	}
	return strings.TrimRight(s, ",;: ") + "."
}

// sentenceEnds are the offsets just past each sentence's final mark: a '.',
// '!' or '?' followed by a space and an upper-case letter or a digit, so
// that "e.g. the", "1.2.3" and "example.com" do not end one; the last is
// the end of s.
func sentenceEnds(s string) []int {
	var out []int
	for i := 0; i+2 < len(s); i++ {
		if strings.IndexByte(".!?", s[i]) < 0 || s[i+1] != ' ' {
			continue
		}
		if c := s[i+2]; (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			out = append(out, i+1)
		}
	}
	return append(out, len(s))
}

// noStepShown is the fix step of an answer whose remediation steps all
// name something its prompt does not show. It states what to change in
// the finding's own terms without repeating its location or message: the
// "Where" section gives the place, and a step that restated both taught
// the tuned model to loop on them.
func noStepShown(f *finding.Finding) string {
	switch f.Kind {
	case finding.KindWeb:
		return "Change the response the alert describes where it is produced (the application, or the server or proxy in front of it), then scan the endpoint again."
	case finding.KindCode:
		return "Rewrite the flagged code so that the pattern the rule describes is gone, then re-run the scanner."
	case finding.KindConfig:
		return "Set the flagged setting to the secure value the rule describes, then re-run the scanner."
	}
	return "Make the change the rule describes at the reported place, then re-run the scanner."
}
