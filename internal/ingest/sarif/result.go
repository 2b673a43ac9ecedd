package sarif

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/report"
)

// converter turns the decoded results of one run into findings.
type converter struct {
	p    *parser
	run  *run
	path string // JSON path of the results array
}

func newSarifConverter(p *parser, run *run, path string) *converter {
	return &converter{p: p, run: run, path: path}
}

// resultCtx is what a tool profile sees of one result. Profiles may
// change the severity inputs (word, score, level) before severity is set.
type resultCtx struct {
	run      *run
	res      *result
	info     *ruleInfo
	word     string
	score    float64
	hasScore bool
	level    string
}

// maxFlow caps the code-flow steps kept per finding.
const maxFlow = 100

// result converts one result. Results of kind pass or notApplicable say a
// rule found nothing and are dropped, as are results whose baselineState
// is "absent" (fixed since the baseline run). informational results are
// kept at severity info; review and open results keep their severity and
// are marked with properties["sarif_kind"].
func (c *converter) result(res *result, j int) {
	kind := strings.ToLower(res.Kind)
	switch kind {
	case "pass", "notapplicable":
		return
	}
	if strings.EqualFold(res.BaselineState, "absent") {
		return
	}
	run := c.run
	if res.RuleID == "" && res.RuleIndex == nil && res.Rule == nil && run.profile.ruleID != nil {
		res.RuleID = run.profile.ruleID(res)
	}
	info := run.rule(res)
	ruleID := res.RuleID
	if ruleID == "" && res.Rule != nil {
		ruleID = res.Rule.ID
	}
	if ruleID == "" {
		ruleID = info.id
	}
	f := finding.Finding{
		Tools:       []finding.Tool{{Name: run.name, Version: run.version, RuleID: ruleID}},
		Title:       info.title,
		Description: info.description,
		HelpURI:     info.helpURI,
		References:  slices.Clone(info.refs),
		CWE:         slices.Clone(info.cwe),
	}
	if len(res.Locations) > 0 {
		f.Location = run.location(&res.Locations[0])
		c.warnNotAFile(&res.Locations[0], j)
		for k := 1; k < len(res.Locations); k++ {
			f.Related = append(f.Related, run.location(&res.Locations[k]))
		}
	}
	for k := range res.RelatedLocations {
		f.Related = append(f.Related, run.location(&res.RelatedLocations[k]))
	}
	f.Flow = run.flow(res.CodeFlows)
	f.Message = sarifRender(res, info, run)
	if f.Title == "" {
		f.Title = firstLine(f.Message)
	}
	if f.Title == "" {
		f.Title = "untitled " + run.name + " result"
	}
	for k := range res.Taxa {
		f.CWE = run.taxonCWE(f.CWE, &res.Taxa[k])
	}
	f.CWE = cwes(f.CWE, propStrings(res.Properties, "tags")...)
	f.CWE = cweProp(f.CWE, res.Properties)
	f.Fixes = run.fixes(res.Fixes)
	c.suppression(res, &f)
	if kind == "review" || kind == "open" || kind == "informational" {
		setProp(&f, "sarif_kind", kind)
	}

	x := &resultCtx{run: run, res: res, info: info, word: info.word, score: info.score, hasScore: info.hasScore}
	if s, ok := propScore(res.Properties); ok {
		x.score, x.hasScore = s, true
	}
	if w := propString(res.Properties, "severity"); w != "" {
		x.word = w
	}
	x.level = res.Level
	if x.level == "" {
		x.level = info.level
	}
	if x.level == "" {
		x.level = "warning" // the SARIF default level
	}
	prof := run.profile
	if !prof.noFingerprint {
		f.PartialFingerprint = partialFingerprint(res)
	}
	if prof.result != nil {
		prof.result(x, &f)
	}
	c.severity(x, &f, kind)
	if f.Kind == "" {
		f.Kind = info.kind
	}
	if f.Kind == "" {
		f.Kind = prof.kind
	}
	if f.Kind == "" {
		// A result placed in a file, or at lines of one it could not name
		// (warnNotAFile), points into source text.
		f.Kind = finding.KindOther
		if f.Location.Path != "" || f.Location.StartLine > 0 {
			f.Kind = finding.KindCode
		}
	}
	normalize(&f)
	c.p.emit(f)
}

// severity applies the order: security-severity score, then the tool's own
// word, then the SARIF level.
func (c *converter) severity(x *resultCtx, f *finding.Finding, kind string) {
	switch {
	case x.hasScore:
		f.Severity, f.Score = finding.SeverityFromScore(x.score), x.score
	case x.word != "":
		if s, ok := finding.SeverityFromWord(x.word); ok {
			f.Severity = s
		}
	}
	if f.Severity == "" {
		if s, ok := finding.SeverityFromSARIFLevel(x.level); ok {
			f.Severity = s
		} else {
			f.Severity = finding.SeverityMedium // unknown level: SARIF's default, warning
		}
	}
	if kind == "informational" {
		f.Severity = finding.SeverityInfo
	}
}

// suppression: any suppression whose status is absent or "accepted"
// suppresses the result (SARIF §3.35); "underReview" and "rejected" ones do
// not, and are noted in properties["suppression_status"].
func (c *converter) suppression(res *result, f *finding.Finding) {
	for _, s := range res.Suppressions {
		status := s.Status
		if status == "" || strings.EqualFold(status, "accepted") {
			f.Suppressed = true
			f.Suppression = &finding.Suppression{Kind: s.Kind, Status: "accepted", Justification: s.Justification}
			return
		}
	}
	if len(res.Suppressions) > 0 {
		setProp(f, "suppression_status", res.Suppressions[0].Status)
	}
}

// partialFingerprint picks the tool's own identity for a result:
// partialFingerprints.primaryLocationLineHash (GitHub, CodeQL), then the
// other partialFingerprints, then fingerprints, each in key order, so the
// same log always gives the same choice. The key is kept with the value so
// two schemes never compare equal by accident.
func partialFingerprint(res *result) string {
	if v := res.PartialFingerprints["primaryLocationLineHash"]; v != "" {
		return "primaryLocationLineHash=" + v
	}
	for _, m := range []map[string]string{res.PartialFingerprints, res.Fingerprints} {
		keys := make([]string, 0, len(m))
		for k, v := range m {
			if v != "" {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			return keys[0] + "=" + m[keys[0]]
		}
	}
	return ""
}

// warnNotAFile tells the user when result j's primary location names no
// file (notAFile): the result is kept without one, as codeql-action keeps
// it after its warning, rather than placed in a file called "not a valid
// URI".
func (c *converter) warnNotAFile(l *location, j int) {
	if l.PhysicalLocation == nil || l.PhysicalLocation.ArtifactLocation == nil {
		return
	}
	if uri, _ := c.run.artifactURI(l.PhysicalLocation.ArtifactLocation); notAFile(uri) {
		c.p.addErr(&report.Error{File: c.p.file, Offset: -1, Warning: true,
			JSONPath: fmt.Sprintf("%s[%d].locations[0].physicalLocation.artifactLocation.uri", c.path, j),
			Msg:      fmt.Sprintf("%q is neither a URI reference nor a file path: the result is kept without a file", uri)})
	}
}

// location converts a SARIF location; http(s) URIs become Location.URL.
func (run *run) location(l *location) finding.Location {
	var loc finding.Location
	if pl := l.PhysicalLocation; pl != nil {
		if pl.ArtifactLocation != nil {
			p := run.resolve(pl.ArtifactLocation)
			if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
				loc.URL = p
			} else {
				loc.Path = p
			}
		}
		r := pl.Region
		if r == nil || r.StartLine <= 0 {
			r = pl.ContextRegion
		}
		if r != nil && r.StartLine > 0 {
			loc.StartLine, loc.EndLine, loc.StartCol = r.StartLine, r.EndLine, max(r.StartColumn, 0)
			if loc.EndLine < loc.StartLine {
				loc.EndLine = loc.StartLine
			}
		}
		switch {
		case pl.Region != nil && pl.Region.Snippet != nil && pl.Region.Snippet.Text != "":
			loc.Snippet = pl.Region.Snippet.Text
		case pl.ContextRegion != nil && pl.ContextRegion.Snippet != nil:
			loc.Snippet = pl.ContextRegion.Snippet.Text
		}
	}
	for _, ll := range l.LogicalLocations {
		name := ll.FullyQualifiedName
		if name == "" {
			name = ll.Name
		}
		if name == "" && ll.Index != nil && *ll.Index >= 0 && *ll.Index < len(run.logical) {
			name = run.logical[*ll.Index].FullyQualifiedName
			if name == "" {
				name = run.logical[*ll.Index].Name
			}
		}
		if name != "" {
			loc.Logical = append(loc.Logical, name)
		}
	}
	return loc
}

// flow keeps the steps of the first thread flow of the first code flow:
// CodeQL lists alternative paths as further flows, and one path is what a
// reader follows.
func (run *run) flow(flows []codeFlow) []finding.Location {
	if len(flows) == 0 || len(flows[0].ThreadFlows) == 0 {
		return nil
	}
	steps := flows[0].ThreadFlows[0].Locations
	out := make([]finding.Location, 0, min(len(steps), maxFlow))
	for _, step := range steps {
		if step.Location == nil || len(out) >= maxFlow {
			continue
		}
		if loc := run.location(step.Location); loc.Path != "" || loc.URL != "" || len(loc.Logical) > 0 {
			out = append(out, loc)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fixes converts fixes[]: one Fix per replacement, or one Fix with only the
// description when a fix lists no changes (including the schema-invalid
// "artifactChanges": null some producers write).
func (run *run) fixes(fixes []fix) []finding.Fix {
	var out []finding.Fix
	for _, fx := range fixes {
		desc := ""
		if fx.Description != nil {
			desc = fx.Description.Text
			if desc == "" {
				desc = fx.Description.Markdown
			}
		}
		n := len(out)
		for _, ch := range fx.ArtifactChanges {
			path := run.resolve(&ch.ArtifactLocation)
			for _, rep := range ch.Replacements {
				fix := finding.Fix{Description: desc, Path: path, StartLine: rep.DeletedRegion.StartLine, EndLine: rep.DeletedRegion.EndLine}
				if fix.EndLine < fix.StartLine {
					fix.EndLine = fix.StartLine
				}
				if rep.InsertedContent != nil {
					fix.Replacement = rep.InsertedContent.Text
				}
				out = append(out, fix)
			}
		}
		if len(out) == n && desc != "" {
			out = append(out, finding.Fix{Description: desc})
		}
	}
	return out
}

func setProp(f *finding.Finding, k, v string) {
	if v == "" {
		return
	}
	if f.Properties == nil {
		f.Properties = map[string]string{}
	}
	f.Properties[k] = v
}

// normalize gives list fields [] rather than null (STYLE §16).
func normalize(f *finding.Finding) {
	if f.References == nil {
		f.References = []string{}
	}
	if f.CWE == nil {
		f.CWE = []string{}
	}
	if f.VulnIDs == nil {
		f.VulnIDs = []string{}
	}
	if f.Package != nil && f.Package.FixedVersions == nil {
		f.Package.FixedVersions = []string{}
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) > 120 {
		cut := 120
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
