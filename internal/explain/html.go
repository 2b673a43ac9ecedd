package explain

import (
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes r as one self-contained page (no scripts, no network):
// the Markdown report's content, findings grouped by severity then file,
// each answer beside the remediation facts, ungrounded answers marked.
func WriteHTML(w io.Writer, r *Report) error {
	type fileGroup struct {
		Where    string
		Findings []*Explanation
	}
	type sevGroup struct {
		Severity string
		N        int
		Files    []*fileGroup
	}
	var groups []*sevGroup
	for i := range r.Findings {
		e := &r.Findings[i]
		if len(groups) == 0 || groups[len(groups)-1].Severity != e.Severity {
			groups = append(groups, &sevGroup{Severity: e.Severity})
		}
		g := groups[len(groups)-1]
		g.N++
		if len(g.Files) == 0 || g.Files[len(g.Files)-1].Where != where(e) {
			g.Files = append(g.Files, &fileGroup{Where: where(e)})
		}
		f := g.Files[len(g.Files)-1]
		f.Findings = append(f.Findings, e)
	}
	return htmlPage.Execute(w, struct {
		R      *Report
		Groups []*sevGroup
	}{r, groups})
}

var htmlPage = template.Must(template.New("explain").Funcs(template.FuncMap{
	"title": title, "short": shortID, "join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vulntune explain — {{.R.Model}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1b1f24}
h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem}
h3{font-family:ui-monospace,monospace;font-size:1rem;background:#f6f8fa;padding:.3rem .5rem}
.finding{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.answer{white-space:pre-wrap;background:#f6f8fa;padding:.5rem;border-radius:4px}
.flag{color:#9a1c1c;font-weight:bold}
.meta{color:#57606a;font-size:.9rem}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto}
@media (max-width:50rem){.cols{grid-template-columns:1fr}}
</style></head><body>
<h1>vulntune explain</h1>
<p>Model <code>{{.R.Model}}</code> answered {{.R.Summary.Answered}} finding(s): {{.R.Summary.Grounded}} grounded,
{{.R.Summary.Flagged}} flagged as naming what the finding does not show{{if .R.Summary.Cached}} ({{.R.Summary.Cached}} from the cache){{end}}.
Each answer is the model's, verbatim; the remediation facts beside it are vulntune's own.</p>
{{range .Groups}}<h2>{{title .Severity}} ({{.N}})</h2>
{{range .Files}}<h3>{{if .Where}}{{.Where}}{{else}}(no location reported){{end}}</h3>
{{range .Findings}}<div class="finding" id="f-{{.FindingID}}">
<h4>{{.Title}}</h4>
<p class="meta">{{.Tool}} <code>{{.Rule}}</code> · {{.Kind}}{{if .VulnIDs}} · {{join .VulnIDs ", "}}{{end}}{{if .CWE}} · {{join .CWE ", "}}{{end}}{{if .Line}} · line {{.Line}}{{end}} · finding <code>{{short .FindingID}}</code></p>
<div class="cols"><div>
<strong>Model answer</strong>{{if not .Grounded}} <span class="flag">⚠ not grounded: names {{join .Ungrounded ", "}}, which neither the finding nor its prompt shows</span>{{else if eq .FinishReason "length"}} <span class="meta">— cut at the token limit</span>{{else if eq .FinishReason "repetition"}} <span class="meta">— stopped: it went on repeating itself</span>{{end}}{{if .Cached}} <span class="meta">(cached)</span>{{end}}
<div class="answer">{{if .Answer}}{{.Answer}}{{else}}(empty answer){{end}}</div>
</div><div>
<strong>Remediation facts</strong>
<ul>{{with .Remediation}}{{if .Package}}<li>Package <code>{{.Package}}</code>{{if .InstalledVersion}} <code>{{.InstalledVersion}}</code>{{end}}{{if .FixedVersion}} → fixed in <code>{{.FixedVersion}}</code>{{else if .Status}} → no fixed version to move to ({{.Status}}){{end}}</li>{{end}}
{{if .Summary}}<li>{{.Summary}}</li>{{end}}
{{range .Changes}}<li>{{.BuildSystem}}{{if .File}} in <code>{{.File}}</code>{{end}}:<pre>{{.Snippet}}</pre></li>{{end}}
{{if not .Changes}}{{range .Steps}}<li>{{.}}</li>{{end}}{{end}}{{if .References}}<li>See {{range $i, $u := .References}}{{if $i}}, {{end}}<a href="{{$u}}">{{$u}}</a>{{end}}</li>{{end}}{{end}}</ul>
</div></div></div>
{{end}}{{end}}{{end}}
{{if .R.InputErrors}}<h2>Input problems</h2><ul>{{range .R.InputErrors}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .R.InputWarnings}}<h2>Input warnings</h2><ul>{{range .R.InputWarnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))
