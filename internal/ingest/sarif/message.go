package sarif

import (
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// sarifRender renders a result message as plain text: the text itself, or
// the rule's messageStrings[id] template; {n} placeholders filled from
// arguments; embedded links "[text](id)" to related locations written as
// "text (path:line)".
func sarifRender(res *result, info *ruleInfo, run *run) string {
	m := &res.Message
	text := m.Text
	templated := false
	if text == "" && m.ID != "" && info.rule != nil {
		if ms, ok := info.rule.MessageStrings[m.ID]; ok {
			text, templated = ms.Text, true
			if text == "" {
				text = ms.Markdown
			}
		}
	}
	if text == "" {
		text = m.Markdown
	}
	if templated || len(m.Arguments) > 0 {
		text = substitute(text, m.Arguments)
	}
	if strings.Contains(text, "](") {
		text = links(text, res, run)
	}
	return text
}

// substitute fills "{0}", "{1}"... from args and unescapes "{{" and
// "}}" (SARIF §3.11.5). A placeholder without an argument stays as written.
func substitute(s string, args []string) string {
	if !strings.ContainsAny(s, "{}") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(s) && s[i+1] == c:
			b.WriteByte(c)
			i++
		case c == '{':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i+1 && j < len(s) && s[j] == '}' {
				if n, err := strconv.Atoi(s[i+1 : j]); err == nil && n < len(args) {
					b.WriteString(args[n])
					i = j
					continue
				}
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// links rewrites embedded links (SARIF §3.11.6). "[text](n)" names the
// location whose id is n among relatedLocations (then locations) and
// becomes "text (path:line)"; "[text](https://...)" becomes "text (url)";
// other targets keep only the text. "\[" and "\]" are literal brackets.
func links(s string, res *result, run *run) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '[' || s[i+1] == ']') {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if c != '[' {
			b.WriteByte(c)
			continue
		}
		text, target, end, ok := linkAt(s, i)
		if !ok {
			b.WriteByte(c)
			continue
		}
		b.WriteString(text)
		if where := linkTarget(target, res, run); where != "" && where != text {
			b.WriteString(" (" + where + ")")
		}
		i = end - 1
	}
	return b.String()
}

// linkAt parses "[text](target)" starting at s[i] == '['; end is the
// index after ')'.
func linkAt(s string, i int) (text, target string, end int, ok bool) {
	var t strings.Builder
	j := i + 1
	for ; j < len(s) && s[j] != ']'; j++ {
		if s[j] == '[' {
			return "", "", 0, false
		}
		if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '[' || s[j+1] == ']') {
			j++
		}
		t.WriteByte(s[j])
	}
	if j+1 >= len(s) || s[j] != ']' || s[j+1] != '(' {
		return "", "", 0, false
	}
	k := strings.IndexByte(s[j+2:], ')')
	if k < 0 {
		return "", "", 0, false
	}
	return t.String(), s[j+2 : j+2+k], j + 3 + k, true
}

func linkTarget(target string, res *result, run *run) string {
	target = strings.TrimSpace(target)
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return target
	}
	id, err := strconv.Atoi(target)
	if err != nil {
		return ""
	}
	for _, list := range [][]location{res.RelatedLocations, res.Locations} {
		for k := range list {
			if list[k].ID != nil && *list[k].ID == id {
				return where(run.location(&list[k]))
			}
		}
	}
	return ""
}

// where writes a location as "path:line", or its logical name.
func where(loc finding.Location) string {
	where := loc.Path
	if where == "" {
		where = loc.URL
	}
	if where == "" {
		if len(loc.Logical) > 0 {
			return loc.Logical[0]
		}
		return ""
	}
	if loc.StartLine > 0 {
		where += ":" + strconv.Itoa(loc.StartLine)
	}
	return where
}
