package finding

import (
	"bytes"
	"encoding/json"
	"maps"
	"sort"
	"strings"
)

// MergeStats counts what Merge did.
type MergeStats struct {
	// Input is the number of findings before merging.
	Input int `json:"input"`
	// Output is the number of distinct findings after merging.
	Output int `json:"output"`
	// Merged is Input − Output: reports folded into another.
	Merged int `json:"merged"`
	// MultiTool is the number of output findings reported by more than one tool.
	MultiTool int `json:"multi_tool"`
}

// Merge folds findings with the same ID into one and returns them sorted by
// severity (most severe first), then kind, then ID, so output is stable.
// IDs must already be set (see Fingerprint). When two reports disagree, the
// more specific value wins: the higher severity and score, the longer text,
// the union of tools, ids, CWEs, references and fixed versions. Where a
// value is simply taken from one report (the location, the help URI, the
// package's purl), reports are folded in the order of their content, so the
// result does not depend on the order the reports came in.
func Merge(in []Finding) ([]Finding, MergeStats) {
	byID := make(map[string]int, len(in))
	out := make([]Finding, 0, len(in))
	for _, f := range contentOrder(in) {
		if i, ok := byID[f.ID]; ok {
			mergeInto(&out[i], f)
			continue
		}
		byID[f.ID] = len(out)
		f.Tools = uniqTools(f.Tools)
		// Folding adds to the counts: the caller's map stays its own.
		f.Redactions = maps.Clone(f.Redactions)
		out = append(out, f)
	}
	st := MergeStats{Input: len(in), Output: len(out), Merged: len(in) - len(out)}
	for i := range out {
		Normalize(&out[i])
		names := map[string]bool{}
		for _, t := range out[i].Tools {
			names[strings.ToLower(t.Name)] = true
		}
		if len(names) > 1 {
			st.MultiTool++
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Severity.Rank() != y.Severity.Rank() {
			return x.Severity.Rank() > y.Severity.Rank()
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.ID < y.ID
	})
	return out, st
}

// contentOrder returns in sorted by ID and then by each report's JSON
// encoding: a total order on what the reports say, not where they came from
// on the command line or which worker parsed them first.
func contentOrder(in []Finding) []Finding {
	type keyed struct {
		f   Finding
		key []byte
	}
	ks := make([]keyed, len(in))
	for i, f := range in {
		b, err := json.Marshal(f)
		if err != nil {
			// A finding that cannot be encoded keeps its place among
			// equals; the ID still orders it.
			b = nil
		}
		ks[i] = keyed{f, b}
	}
	sort.SliceStable(ks, func(a, b int) bool {
		if ks[a].f.ID != ks[b].f.ID {
			return ks[a].f.ID < ks[b].f.ID
		}
		return bytes.Compare(ks[a].key, ks[b].key) < 0
	})
	out := make([]Finding, len(ks))
	for i := range ks {
		out[i] = ks[i].f
	}
	return out
}

func mergeInto(dst *Finding, src Finding) {
	dst.Tools = uniqTools(append(dst.Tools, src.Tools...))
	if src.Severity.Rank() > dst.Severity.Rank() {
		dst.Severity = src.Severity
	}
	if src.Score > dst.Score {
		dst.Score = src.Score
		if src.CVSSVector != "" {
			dst.CVSSVector = src.CVSSVector
		}
	}
	if dst.CVSSVector == "" {
		dst.CVSSVector = src.CVSSVector
	}
	dst.Title = longer(dst.Title, src.Title)
	dst.Message = longer(dst.Message, src.Message)
	dst.Description = longer(dst.Description, src.Description)
	if dst.HelpURI == "" {
		dst.HelpURI = src.HelpURI
	}
	dst.References = append(dst.References, src.References...)
	dst.CWE = append(dst.CWE, src.CWE...)
	dst.VulnIDs = append(dst.VulnIDs, src.VulnIDs...)
	mergeLocation(&dst.Location, src.Location)
	if len(dst.Related) == 0 {
		dst.Related = src.Related
	}
	if len(dst.Flow) == 0 {
		dst.Flow = src.Flow
	}
	if dst.Package == nil {
		dst.Package = src.Package
	} else if src.Package != nil {
		p := dst.Package
		if p.PURL == "" {
			p.PURL = src.Package.PURL
		}
		if p.Ecosystem == "" {
			p.Ecosystem = src.Package.Ecosystem
		}
		if p.InstalledVersion == "" {
			p.InstalledVersion = src.Package.InstalledVersion
		}
		p.FixedVersions = append(p.FixedVersions, src.Package.FixedVersions...)
	}
	dst.Fixes = append(dst.Fixes, src.Fixes...)
	// A finding stays suppressed only if every report of it is suppressed:
	// one tool's waiver must not hide what another tool still flags.
	if dst.Suppressed && !src.Suppressed {
		dst.Suppressed, dst.Suppression = false, nil
	}
	dst.Sources = append(dst.Sources, src.Sources...)
	dst.Occurrences += src.Occurrences
	for k, v := range src.Properties {
		if dst.Properties == nil {
			dst.Properties = map[string]string{}
		}
		if _, ok := dst.Properties[k]; !ok {
			dst.Properties[k] = v
		}
	}
	if dst.SecretHash == "" {
		dst.SecretHash = src.SecretHash
	}
	dst.Secrets = append(dst.Secrets, src.Secrets...)
	dst.AddRedactions(src.Redactions)
}

func mergeLocation(dst *Location, src Location) {
	if dst.Path == "" {
		dst.Path = src.Path
	}
	if dst.StartLine == 0 {
		dst.StartLine, dst.EndLine, dst.StartCol = src.StartLine, src.EndLine, src.StartCol
	}
	dst.Snippet = longer(dst.Snippet, src.Snippet)
	if dst.URL == "" {
		dst.URL, dst.Method, dst.Param = src.URL, src.Method, src.Param
	}
	if dst.Image == "" {
		dst.Image = src.Image
	}
	dst.Logical = append(dst.Logical, src.Logical...)
}

func longer(a, b string) string {
	if len(b) > len(a) {
		return b
	}
	return a
}

func uniqTools(ts []Tool) []Tool {
	seen := map[Tool]bool{}
	out := ts[:0:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Name != out[b].Name {
			return out[a].Name < out[b].Name
		}
		return out[a].RuleID < out[b].RuleID
	})
	return out
}

// goFixedVersions writes a Go module's fixed versions in the form of its
// installed version: Trivy and OSV give "0.37.0" beside "v0.35.0", and the
// answer then read "upgrade from v0.35.0 to 0.37.0" above a fix that pins
// "@v0.37.0" (the dataset's ecosystem moves write the "v" on both). The
// standard library and toolchain are left as reported: their versions'
// own form is "go1.21.1", which the fix writes.
func goFixedVersions(p *Package) {
	if CanonicalEcosystem(p.Ecosystem) != "go" || p.Name == "stdlib" || p.Name == "toolchain" ||
		!strings.HasPrefix(p.InstalledVersion, "v") {
		return
	}
	for i, v := range p.FixedVersions {
		if v != "" && v[0] >= '0' && v[0] <= '9' {
			p.FixedVersions[i] = "v" + v
		}
	}
}

// Normalize sorts and deduplicates every list field and replaces nil lists
// with empty ones, so JSON output has [] rather than null and is stable.
func Normalize(f *Finding) {
	f.References = uniqSorted(f.References)
	f.CWE = uniqSorted(f.CWE)
	f.VulnIDs = uniqVulnIDs(f.VulnIDs)
	f.Location.Logical = uniqSorted(f.Location.Logical)
	if len(f.Location.Logical) == 0 {
		f.Location.Logical = nil
	}
	if f.Package != nil {
		goFixedVersions(f.Package)
		f.Package.FixedVersions = uniqSorted(f.Package.FixedVersions)
	}
	if f.Sources == nil {
		f.Sources = []Source{}
	}
	sort.SliceStable(f.Sources, func(a, b int) bool {
		if f.Sources[a].ToolFile != f.Sources[b].ToolFile {
			return f.Sources[a].ToolFile < f.Sources[b].ToolFile
		}
		return f.Sources[a].RunID < f.Sources[b].RunID
	})
	f.Sources = uniqSources(f.Sources)
	if f.Occurrences < 1 {
		f.Occurrences = 1
	}
	if f.Tools == nil {
		f.Tools = []Tool{}
	}
}

func uniqSources(s []Source) []Source {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func uniqSorted(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// uniqVulnIDs spells every id as VulnIDSpelling does and keeps one of the
// ids that differ only in case (the smallest spelling, so the choice does
// not depend on which tool's finding was merged first), sorted: two tools
// casing one GHSA id differently report one id.
func uniqVulnIDs(in []string) []string {
	byKey := make(map[string]string, len(in))
	for _, s := range in {
		s = VulnIDSpelling(s)
		if s == "" {
			continue
		}
		k := strings.ToUpper(s)
		if old, ok := byKey[k]; !ok || s < old {
			byKey[k] = s
		}
	}
	out := make([]string, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
