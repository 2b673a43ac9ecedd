package evaluate

import (
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/remedy"
)

// Ungrounded returns the identifiers answer names (see UngroundedIdents)
// that appear neither in prompt nor among facts, sorted.
func Ungrounded(answer, prompt string, facts dataset.Facts) []string {
	ids := UngroundedIdents(answer, prompt, facts)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.Text
	}
	return out
}

// UngroundedIdents returns, with their kinds, the identifiers answer names
// that appear neither in prompt nor among facts: the dataset's rule
// (ident.UngroundedIdents: vulnerability ids, CWE ids, versions, paths)
// and URLs (ident.UngroundedURLs). The facts count as ground because they
// are the finding's own data: naming them is what the accuracy metrics
// reward, not an invention.
//
// URLs are judged here only, not in the dataset's grounding guarantee:
// reference answers list the finding's own reference links that name its
// ids (an advisory mirror, a vendor tracker) without their prompt showing
// them, and the shared rule would drop those examples. An answer is held to
// the stricter rule because a link the prompt does not show is recalled,
// and a recalled link is what an answer invented (issue 16).
func UngroundedIdents(answer, prompt string, facts dataset.Facts) []ident.Ident {
	ground := Ground(prompt, facts)
	ids := append(ident.UngroundedIdents(answer, ground), ident.UngroundedURLs(answer, ground)...)
	sort.SliceStable(ids, func(i, j int) bool { return ids[i].Text < ids[j].Text })
	return ids
}

// Ground is the text an answer's identifiers must occur in: the prompt and
// the finding's facts. Grounded decoding (the engine's grounded.py) is
// given exactly this text, so its answers have no ungrounded identifier by
// UngroundedIdents.
func Ground(prompt string, facts dataset.Facts) string {
	return prompt + "\n" + facts.Package + "\n" + facts.FixedVersion + "\n" + facts.InstalledVersion + "\n" +
		strings.Join(facts.CWE, "\n") + "\n" + facts.Location
}

// AnswerPin is what grounded decoding holds an answer to facts to beyond
// its ground: fix snippets never with the installed version, as
// snippetScore requires; for a package with a fixed version, fenced
// blocks only of reference's fix snippets, whole (the answer vulntune
// writes from the same facts, narrate's), as snippetVerbatim reads them,
// so the copy-paste line of a dependency's fix is the one
// its build system resolves whatever the weights would have written
// there, and its "Fix" section opening with reference's upgrade
// sentence (the versions and what the upgrade moves to: grounded answers
// wrote "the lowest fixed version on the installed release line. No fix
// exists on the installed release line") and first block (fixLead);
// every answer's "Why it matters" opening with reference's line of
// severity, description and kind's impact, whole (impactLead); only reference's sections (headings); and
// the sections of facts only
// of reference's lines: "Where", the finding's package, file, line, image
// or endpoint as the scanner gave them, "How to verify", the scanner to
// run again on the finding's rule and place and the command that shows
// the resolved version, "In short", the headline vulntune writes
// from the same facts, and "What it is", the title and weakness; and, for a finding with a fixed version, no claim
// that scoring reads as a wrong fix anywhere (wrongFixClaims: the other
// release line, no fix at all). A held section gives every one of its
// lines; their order, and everything outside them, stay the model's. nil when
// there is no rule to hold. A secret finding's (kind, the example's
// Meta.Kind) "Fix" section is held whole, in order (below).
func AnswerPin(facts dataset.Facts, kind, reference string) *engine.Pin {
	pin := &engine.Pin{Installed: facts.InstalledVersion, Fixed: facts.FixedVersion}
	if facts.Package != "" && facts.FixedVersion != "" {
		pin.Blocks = referenceBlocks(reference)
		if lead := fixLead(reference); len(lead) > 0 {
			pin.Leads = map[string][]string{chat.Heading("Fix"): lead}
		}
	}
	// A committed secret's fix is vulntune's own procedure (revoke and
	// rotate, purge history, force-push, prevent), nothing the scanner or
	// the model adds to. Left to the weights, a grounded gitleaks answer
	// on the other projects dropped all of it for "Address the source;
	// the flagged code pattern is a classic way in …" (a code finding's
	// sentence) and a garbled rule check: the one fix that must not be
	// vague. Held as a lead, its steps keep their numbers' order.
	if kind == string(finding.KindSecret) {
		if fix := sectionLines(reference, "Fix"); len(fix) > 0 {
			pin.Leads = map[string][]string{chat.Heading("Fix"): fix}
		}
	}
	// Every finding's "Why it matters" opens with narrate's line of its
	// severity, description and kind's impact: left to the weights, 12 of
	// 35 grounded other-projects answers gave another kind's sentence, and
	// forbidding the other kinds' openings only made them paraphrase it.
	if lead := impactLead(reference); lead != "" {
		if pin.Leads == nil {
			pin.Leads = map[string][]string{}
		}
		pin.Leads[chat.Heading("Why it matters")] = []string{lead}
	}
	if facts.FixedVersion != "" {
		// With the lead held, grounded answers still put the fix on the
		// wrong release line in "What it is" (hoek 2.16.3 to 4.2.1 "the
		// lowest fixed version on the installed release line").
		pin.Forbidden = wrongFixClaims(facts)
	}
	for _, name := range pinnedSections {
		if lines := sectionLines(reference, name); len(lines) > 0 {
			if pin.Sections == nil {
				pin.Sections = map[string][]string{}
			}
			pin.Sections[chat.Heading(name)] = lines
		}
	}
	// Only the sections reference has: grounded answers added a
	// References section to findings without a link and filled it with
	// a How to verify line.
	pin.Headings = headings(reference)
	if len(sectionLines(reference, "Fix")) > 0 {
		pin.Steps = factSteps(reference)
	}
	versions := facts.InstalledVersion != "" && facts.FixedVersion != "" &&
		ident.NormVersion(facts.InstalledVersion) != ident.NormVersion(facts.FixedVersion)
	if !versions && len(pin.Blocks) == 0 && len(pin.Sections) == 0 && len(pin.Leads) == 0 && len(pin.Forbidden) == 0 && len(pin.Headings) == 0 && len(pin.Steps) == 0 {
		return nil
	}
	return pin
}

// fixLead is what reference's "Fix" section opens with: its upgrade
// sentence and, where a fenced fix snippet follows, everything through
// that block's closing fence (the build system's label line and the
// block). Held to the sentence alone, grounded answers wrote their own
// label line above the block ("gradle-kotlin (build.gradle-kts beside
// gradle-kts.gradlet)" over a Maven block) or left the block out (16 of
// 20 of run W7's other-projects answers). The block's lines are written as
// Blocks holds them, runs of blanks made one, so the two rules agree on
// them.
func fixLead(reference string) []string {
	fix := sectionLines(reference, "Fix")
	if len(fix) == 0 {
		return nil
	}
	lead := []string{fix[0]}
	open := false
	for _, l := range fix[1:] {
		fence := isFence(l)
		if !open && !fence {
			lead = append(lead, l)
			continue
		}
		lead = append(lead, strings.Join(strings.Fields(l), " "))
		if fence && open {
			return lead
		}
		open = open || fence
	}
	return fix[:1]
}

// headings are the section headings of answer that vulntune writes
// (chat.Sections), as chat.Heading writes them, in order.
func headings(answer string) []string {
	var out []string
	for _, name := range chat.Sections {
		h := chat.Heading(name)
		for _, l := range strings.Split(answer, "\n") {
			if strings.TrimSpace(l) == h {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// impactLead is the line reference's "Why it matters" opens with, where
// it gives the severity (narrate's answers do: "Severity: high.", the
// description and the kind's impact, on one line); "" for another answer.
func impactLead(reference string) string {
	why := sectionLines(reference, "Why it matters")
	if len(why) == 0 || !strings.HasPrefix(strings.TrimSpace(why[0]), "Severity:") {
		return ""
	}
	return why[0]
}

// factSteps maps each opening of a fix step that states a fact
// (remedy.FactSteps) to reference's lines that open so, their list marker
// and blanks aside, an empty list where it has none: a line of a grounded
// answer that opens so may only be one of them. AnswerPin holds them for
// a reference with a Fix section (vulntune's answers). Left to the weights, the
// demo model's grounded answers on the other projects wrote 20 weakness
// steps, none the finding's own ("CWE-190 (Integer Overflow or
// Wraparound): The product of an integer and a signed integer is
// undefined", a secret's value or a rule id called the weakness), and
// 9 documented-fix steps that were not the finding's (a link for a
// finding without one, "https. (click the flagged code)").
func factSteps(reference string) map[string][]string {
	out := map[string][]string{}
	for _, o := range remedy.FactSteps {
		out[o] = []string{}
	}
	for _, l := range strings.Split(reference, "\n") {
		t := StepText(l)
		for _, o := range remedy.FactSteps {
			if len(t) >= len(o) && strings.EqualFold(t[:len(o)], o) && !slices.Contains(out[o], t) {
				out[o] = append(out[o], t)
			}
		}
	}
	return out
}

// StepText is line as a fix step is compared (factSteps, pin.py's
// StepLines) and as RepeatedLine counts lines: its list marker and
// surrounding blanks aside.
func StepText(line string) string {
	return strings.TrimSpace(listMarkerRE.ReplaceAllString(line, ""))
}

// listMarkerRE is a list item's marker at a line's start: "1. ", "- "
// (LIST_MARKER_RE in repeat.py, which the loop guard's item rule and the
// grounded pin read lines by).
var listMarkerRE = regexp.MustCompile(`^\s*(?:\d+[.)]|[-*+])\s+`)

// pinnedSections are the sections AnswerPin holds to the reference's
// lines: vulntune's facts, nothing the model adds to. "How to verify" was
// the model's own until grounded answers on the other projects re-ran
// "krics" and "gosen", confirmed "rule 0110" gone for KSV-0110 and checked
// a Cargo crate with `./gradlew dependencyInsight`; "In short" until they
// headed answers "upgrade from 2.0.1 to 2.0.1", "CVE-2023-28755 in
// ruby-3.0 at 3.0.4-r1" (a version for the place) and "CWE:
// CWE(cWE_CWE_CWE_Severity: info)." (bench/RESULTS.md); "What it is"
// (the advisory's or rule's title and the weakness) until they wrote
// "Weakness: CVE-2022-41717 (go)", "Severity: high." or the release line
// claim there, in 12 of 35 answers of the demo's model.
var pinnedSections = []string{"In short", "What it is", "Where", "How to verify"}

// sectionLines are the non-blank lines of answer's section name
// ("Where"), up to the next bold line. A heading is read as a model may
// write it, case, asterisks, colons and blanks aside ("**where:**"), so
// generated answers (whereAgrees) and reference answers (AnswerPin) are
// read alike.
func sectionLines(answer, name string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(answer, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "**"):
			in = strings.EqualFold(strings.Trim(t, "*: "), name)
		case in && t != "":
			out = append(out, l)
		}
	}
	return out
}
