package sarif

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/vulntune/vulntune/internal/finding"
)

// ruleInfo is what one rule contributes to every result that uses it,
// computed once per rule and shared.
type ruleInfo struct {
	rule        *rule // nil when the result's rule is not in the log
	id          string
	title       string
	description string
	helpURI     string
	refs        []string
	cwe         []string
	tags        []string
	level       string // defaultConfiguration.level
	score       float64
	hasScore    bool
	word        string       // a severity word the tool wrote for the rule
	kind        finding.Kind // set by a tool profile when the rule decides it
	props       map[string]string
}

func newSarifRuleInfo(run *run, r *rule) *ruleInfo {
	info := &ruleInfo{rule: r, id: r.ID, helpURI: r.HelpURI}
	switch {
	case r.ShortDescription != nil && strings.TrimSpace(r.ShortDescription.Text) != "":
		info.title = strings.TrimSpace(r.ShortDescription.Text)
	case r.Name != "":
		info.title = r.Name
	default:
		info.title = r.ID
	}
	switch {
	case r.FullDescription != nil && r.FullDescription.Text != "":
		info.description = r.FullDescription.Text
	case r.Help != nil && r.Help.Text != "":
		info.description = r.Help.Text
	case r.Help != nil:
		info.description = r.Help.Markdown
	}
	if r.DefaultConfiguration != nil {
		info.level = r.DefaultConfiguration.Level
	}
	info.refs = appendURL(nil, r.HelpURI)
	if r.Help != nil {
		info.refs = appendURLs(info.refs, r.Help.Text)
		info.refs = appendURLs(info.refs, r.Help.Markdown)
	}
	info.tags = propStrings(r.Properties, "tags")
	info.cwe = cwes(nil, info.tags...)
	info.cwe = cweProp(info.cwe, r.Properties)
	for _, rel := range r.Relationships {
		info.cwe = run.taxonCWE(info.cwe, &rel.Target)
	}
	info.score, info.hasScore = propScore(r.Properties)
	info.word = propString(r.Properties, "severity")
	if p := run.profile; p != nil && p.rule != nil {
		p.rule(info)
	}
	return info
}

// taxonCWE adds the CWE a taxonomy reference names (result.taxa[],
// rule.relationships[].target). Only references into a taxonomy called CWE
// count, or ids that spell "CWE-n" themselves.
func (run *run) taxonCWE(cwe []string, ref *descriptorRef) []string {
	var tax *component
	if tc := ref.ToolComponent; tc != nil {
		if tc.Index != nil && *tc.Index >= 0 && *tc.Index < len(run.taxonomies) {
			tax = &run.taxonomies[*tc.Index]
		}
		for i := range run.taxonomies {
			if tax != nil {
				break
			}
			t := &run.taxonomies[i]
			if (tc.GUID != "" && strings.EqualFold(t.GUID, tc.GUID)) || (tc.Name != "" && strings.EqualFold(t.Name, tc.Name)) {
				tax = t
			}
		}
		if tax == nil && strings.EqualFold(tc.Name, "cwe") {
			tax = &component{Name: tc.Name}
		}
	}
	id := ref.ID
	if id == "" && tax != nil && ref.Index != nil && *ref.Index >= 0 && *ref.Index < len(tax.Taxa) {
		id = tax.Taxa[*ref.Index].ID
	}
	if id == "" && tax != nil && ref.GUID != "" {
		for i := range tax.Taxa {
			if strings.EqualFold(tax.Taxa[i].GUID, ref.GUID) {
				id = tax.Taxa[i].ID
			}
		}
	}
	if tax != nil && strings.Contains(strings.ToLower(tax.Name), "cwe") {
		if n, err := strconv.Atoi(strings.TrimSpace(id)); err == nil && n > 0 {
			return addUnique(cwe, "CWE-"+strconv.Itoa(n))
		}
	}
	return cwes(cwe, id)
}

// cweRe finds CWE ids in tags and texts: "CWE-79", "cwe-079",
// "external/cwe/cwe-079", "CWE-89: Improper Neutralization...".
var cweRe = regexp.MustCompile(`(?i)\bcwe[-_ ]?0*([1-9][0-9]{0,5})\b`)

// cwes appends the normalised CWE ids ("CWE-79") found in texts.
func cwes(cwe []string, texts ...string) []string {
	for _, t := range texts {
		if len(t) < 4 {
			continue
		}
		for _, m := range cweRe.FindAllStringSubmatch(t, -1) {
			cwe = addUnique(cwe, "CWE-"+m[1])
		}
	}
	return cwe
}

// cweProp reads properties["cwe"]: "CWE-79", ["CWE-79"], or a bare
// number as KICS writes it ("710").
func cweProp(cwe []string, props props) []string {
	for _, v := range propStrings(props, "cwe") {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			cwe = addUnique(cwe, "CWE-"+strconv.Itoa(n))
			continue
		}
		cwe = cwes(cwe, v)
	}
	return cwe
}

func addUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

var urlRe = regexp.MustCompile(`https?://[^\s<>"'()\[\]{}|\\^` + "`" + `]+`)

// appendURLs adds the http(s) URLs in text, without trailing
// punctuation, up to 20 in all.
func appendURLs(refs []string, text string) []string {
	if !strings.Contains(text, "http") {
		return refs
	}
	for _, u := range urlRe.FindAllString(text, 40) {
		refs = appendURL(refs, u)
	}
	return refs
}

func appendURL(refs []string, u string) []string {
	u = strings.TrimRight(u, ".,;:!?*")
	if u == "" || len(refs) >= 20 || !strings.HasPrefix(u, "http") {
		return refs
	}
	return addUnique(refs, u)
}

// propString reads a string (or number, as written) property.
func propString(props props, key string) string {
	v, ok := props[key]
	if !ok {
		return ""
	}
	switch v.Kind() {
	case '"':
		if b, err := jsontext.AppendUnquote(nil, v); err == nil {
			return string(b)
		}
	case '0':
		return string(v)
	}
	return ""
}

// propStrings reads a property that is a string or an array of
// strings; other elements are ignored.
func propStrings(props props, key string) []string {
	v, ok := props[key]
	if !ok {
		return nil
	}
	if v.Kind() == '"' {
		if s := propString(props, key); s != "" {
			return []string{s}
		}
		return nil
	}
	if v.Kind() != '[' {
		return nil
	}
	var out []string
	dec := jsontext.NewDecoder(bytes.NewReader(v), decoderOptions...)
	if _, err := dec.ReadToken(); err != nil {
		return nil
	}
	for dec.PeekKind() != ']' {
		tok, err := dec.ReadToken()
		if err != nil {
			return out
		}
		switch tok.Kind() {
		case '"':
			out = append(out, tok.String())
		case '{', '[':
			if err := dec.SkipValue(); err != nil {
				return out
			}
		}
	}
	return out
}

// propScore reads properties["security-severity"], a 0–10 score
// written as a string ("7.5") or a number.
func propScore(props props) (float64, bool) {
	s := strings.TrimSpace(propString(props, "security-severity"))
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	// "NaN" and "Infinity" parse, and fail both comparisons or the
	// second: a score that is no number counts as missing.
	if err != nil || !(f >= 0 && f <= 10) {
		return 0, false
	}
	return f, true
}
