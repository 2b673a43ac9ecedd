package ingest

import (
	"strings"

	"golang.org/x/net/html"
)

// zapHTMLText turns the HTML fragments ZAP writes into its desc, solution,
// otherinfo and reference fields into readable text: paragraphs separated
// by a blank line, <br> as a line break, list items on their own lines,
// entities decoded, and whitespace inside a paragraph collapsed, so words on
// either side of a tag are never glued together. Fields without markup
// pass through with only whitespace tidied.
func zapHTMLText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return zapTidy(s)
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // inside <script> or <style>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return zapTidy(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "p", "div", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote":
				b.WriteString("\n\n")
			case "br", "tr":
				b.WriteString("\n")
			case "li":
				if tt == html.StartTagToken {
					b.WriteString("\n- ")
				}
			case "td", "th":
				b.WriteString(" ")
			}
		}
	}
}

// zapTidy collapses runs of spaces within lines, trims every line, and
// keeps at most one blank line between paragraphs.
func zapTidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
