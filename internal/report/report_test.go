package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/vulntune/vulntune/internal/report"
)

// render writes dir's report and parses it back.
func render(t *testing.T, opts report.Options) (string, *html.Node) {
	t.Helper()
	out := filepath.Join(t.TempDir(), report.FileName)
	if err := report.WriteFile(out, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, c string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+c+" ")
}

// find returns every element under n that match says yes to.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string) func(*html.Node) bool { return func(n *html.Node) bool { return n.Data == name } }

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// section returns the <section id=id>, failing when there is not one.
func section(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	s := find(doc, func(n *html.Node) bool { return n.Data == "section" && attr(n, "id") == id })
	if len(s) != 1 {
		t.Fatalf("%d section(s) with id %q, want 1", len(s), id)
	}
	return s[0]
}

// selfContained checks the page fetches nothing and runs nothing.
func selfContained(t *testing.T, page string, doc *html.Node) {
	t.Helper()
	if s := find(doc, tag("script")); len(s) > 0 {
		t.Errorf("page has %d <script> element(s); it must work without JS", len(s))
	}
	for _, n := range find(doc, func(n *html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if a.Key == "src" || (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: the page must not load or run anything", n.Data, a.Key, a.Val)
			}
		}
	}
	for _, bad := range []string{"@import", "url(", "/home/", "alice"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestCompleteRun(t *testing.T) {
	runDir, modelDir := completeRun(t)
	page, doc := render(t, report.Options{RunDir: runDir})
	selfContained(t, page, doc)
	if nr := find(doc, func(n *html.Node) bool { return hasClass(n, "not-run") }); len(nr) > 0 {
		t.Errorf("a complete run shows %q", text(nr[0]))
	}

	// Inputs and phases, from run.json; the home-directory input keeps its tail.
	inputs := text(section(t, doc, "inputs"))
	for _, want := range []string{"ci/artifacts/trivy.json", "examples/artifacts/semgrep.sarif", "4200d8867c2c55c7215d7da168e3fcff1d300124b0d0058937a1bf2bb2d97cbe"} {
		if !strings.Contains(inputs, want) {
			t.Errorf("inputs lack %q", want)
		}
	}
	rows := find(section(t, doc, "phases"), tag("tr"))
	if len(rows) != 6 { // header + 5 phases
		t.Fatalf("phases table has %d rows, want 6", len(rows))
	}
	if got := text(rows[3]); !strings.Contains(got, "finetune") || !strings.Contains(got, "12m 34s") || !strings.Contains(got, modelDir) {
		t.Errorf("finetune row %q: want its name, duration and the model it wrote", got)
	}

	// Findings: trivy counted once per finding it reported.
	fs := section(t, doc, "findings")
	if tools := text(find(fs, func(n *html.Node) bool { return hasClass(n, "by-tool") })[0]); !strings.Contains(tools, "trivy2") || !strings.Contains(tools, "grype1") {
		t.Errorf("by-tool table %q", tools)
	}
	if !strings.Contains(text(fs), "1 suppressed") {
		t.Error("findings do not say one is suppressed")
	}
	if bars := find(fs, func(n *html.Node) bool { return hasClass(n, "bar") }); len(bars) != 3 {
		t.Errorf("severity chart has %d bars, want 3", len(bars))
	}

	// Dataset: splits and what was dropped and why.
	ds := section(t, doc, "dataset")
	if got := text(find(ds, func(n *html.Node) bool { return hasClass(n, "splits-by-kind") })[0]); !strings.Contains(got, "trainvalid") || !strings.Contains(got, "dependency11") || !strings.Contains(got, "code01") {
		t.Errorf("splits by kind %q", got)
	}
	if got := text(ds); !strings.Contains(got, "ungrounded-answer") || !strings.Contains(got, "names CWE-1234") {
		t.Errorf("dataset section does not say what was dropped and why: %q", got)
	}
	if mix := find(ds, func(n *html.Node) bool { return hasClass(n, "training-mix") }); len(mix) != 1 || !strings.Contains(text(mix[0]), "dependency/trivy14") ||
		!strings.Contains(text(ds), "3 identifier-replaced copies") {
		t.Errorf("dataset section does not show the training mix with its copies: %q", text(ds))
	}

	// Loss curves: one polyline per series, a point per record.
	svgs := find(section(t, doc, "loss"), tag("svg"))
	if len(svgs) != 1 {
		t.Fatalf("%d loss charts, want 1", len(svgs))
	}
	lines := find(svgs[0], tag("polyline"))
	if len(lines) != 2 || attr(lines[0], "class") != "train" || attr(lines[1], "class") != "valid" {
		t.Fatalf("loss chart polylines %v, want train and valid", lines)
	}
	if n := len(strings.Fields(attr(lines[0], "points"))); n != 20 {
		t.Errorf("train curve has %d points, want 20", n)
	}
	// Examples cut at the max sequence length, from metadata.json.
	if got, want := text(section(t, doc, "loss")), "Max sequence length 768: 36 of 86 training and 10 of 25 validation examples were longer and cut to it (longest 1518 tokens)."; !strings.Contains(got, want) {
		t.Errorf("loss section %q lacks %q", got, want)
	}
	if n := len(strings.Fields(attr(lines[1], "points"))); n != 5 {
		t.Errorf("validation curve has %d points, want 5", n)
	}
	// Loss falls, so the train curve's last point is drawn lower (larger y).
	pts := strings.Fields(attr(lines[0], "points"))
	y := func(p string) float64 {
		v, err := strconv.ParseFloat(p[strings.Index(p, ",")+1:], 64)
		if err != nil {
			t.Fatalf("point %q: %v", p, err)
		}
		return v
	}
	if y0, y1 := y(pts[0]), y(pts[len(pts)-1]); y1 <= y0 {
		t.Errorf("train curve goes from y=%g to y=%g: falling loss must be drawn downwards", y0, y1)
	}

	// Evaluation: in-domain per kind and other projects.
	ev := section(t, doc, "evaluation")
	tables := find(ev, func(n *html.Node) bool { return hasClass(n, "eval") })
	if len(tables) != 2 {
		t.Fatalf("%d evaluation tables, want in-domain and other projects", len(tables))
	}
	heads := find(ev, tag("h3"))
	if len(heads) != 2 || !strings.Contains(text(heads[0]), "In-domain") || text(heads[1]) != "Other projects" {
		t.Errorf("evaluation headings %q, %q", text(heads[0]), text(heads[len(heads)-1]))
	}
	var kinds []string
	for _, tr := range find(find(tables[0], tag("tbody"))[0], tag("tr")) {
		kinds = append(kinds, text(find(tr, tag("td"))[0]))
	}
	if strings.Join(kinds, ",") != "all,code,dependency" {
		t.Errorf("in-domain rows %v, want all, code, dependency", kinds)
	}
	// Other projects: per kind, then per tool below a "by tool" row.
	var otherRows []string
	for _, tr := range find(find(tables[1], tag("tbody"))[0], tag("tr")) {
		otherRows = append(otherRows, text(tr.FirstChild))
	}
	if strings.Join(otherRows, ",") != "all,web,by tool,trivy,zap" {
		t.Errorf("other projects rows %v, want all, web, by tool, trivy, zap", otherRows)
	}
	if worse := find(tables[1], func(n *html.Node) bool { return hasClass(n, "worse") }); len(worse) != 1 || text(worse[0]) != "25%" {
		t.Error("trivy's worse tuned hallucination rate 25% not marked worse")
	}
	// The other projects table's note, wherever the grounded part puts others.
	var otherNote string
	for _, n := range find(ev, func(n *html.Node) bool { return hasClass(n, "note") }) {
		if strings.Contains(text(n), "chosen of") {
			otherNote = text(n)
		}
	}
	if !strings.Contains(otherNote, "64 chosen of 273") {
		t.Errorf("other projects note %q does not say how its findings were chosen", otherNote)
	}
	if better := find(tables[0], func(n *html.Node) bool { return hasClass(n, "better") }); len(better) == 0 || !strings.Contains(text(better[0]), "1.240") {
		t.Error("tuned loss 1.240 not marked better than base")
	}
	if worse := find(tables[0], func(n *html.Node) bool { return hasClass(n, "worse") }); len(worse) != 1 || text(worse[0]) != "2.400" {
		t.Error("code's worse tuned loss 2.400 not marked worse")
	}
	// The whole answer: fix snippets, answers ended and repeating,
	// ungrounded by type.
	all := text(find(find(tables[0], tag("tbody"))[0], tag("tr"))[0])
	for _, w := range []string{"0%100%", "50%100%", "25%0%"} {
		if !strings.Contains(all, w) {
			t.Errorf("overall row %q lacks base→tuned %q (fix snippet, ended, repeating)", all, w)
		}
	}
	// Free beside grounded decoding, for the evaluation that measured both.
	gr := find(ev, func(n *html.Node) bool { return hasClass(n, "grounded") })
	if len(gr) != 1 {
		t.Fatalf("%d free-vs-grounded tables, want the in-domain one", len(gr))
	}
	hall := text(find(find(gr[0], tag("tbody"))[0], tag("tr"))[0])
	if strings.Join(strings.Fields(hall), "") != "hallucination50%0%0%0%" {
		t.Errorf("grounded hallucination row %q, want base free 50%%, grounded 0%%, tuned 0%%, 0%%", hall)
	}
	if better := find(gr[0], func(n *html.Node) bool { return hasClass(n, "better") }); len(better) != 2 {
		t.Errorf("%d grounded figures marked better than free, want 2 (base hallucination, fixed version)", len(better))
	}
	if !strings.Contains(text(ev), "0 of 2 tuned and 1 of 2 base answers") {
		t.Error("the note does not say how many answers were generated again")
	}
	ung := find(ev, func(n *html.Node) bool { return hasClass(n, "ungrounded") })
	if len(ung) != 2 {
		t.Fatalf("%d ungrounded-by-type tables, want one per evaluation", len(ung))
	}
	var byType []string
	for _, tr := range find(find(ung[0], tag("tbody"))[0], tag("tr")) {
		byType = append(byType, text(tr))
	}
	if strings.Join(byType, ",") != "version10,CWE00,vulnerability id00,path00,URL02" {
		t.Errorf("ungrounded by type rows %q", byType)
	}

	// Gate.
	gate := section(t, doc, "gate")
	if v := find(gate, func(n *html.Node) bool { return hasClass(n, "verdict") }); len(v) != 1 || text(v[0]) != "passed" {
		t.Errorf("gate verdict %v", v)
	}
	if !strings.Contains(text(gate), "tuned 1.2400 < base 2.1800") {
		t.Error("gate checks missing")
	}

	// Samples: each answer beside the reference of the same row.
	samples := find(section(t, doc, "samples"), func(n *html.Node) bool { return hasClass(n, "sample") })
	if len(samples) != 2 {
		t.Fatalf("%d samples, want 2", len(samples))
	}
	for i, want := range [][]string{{"REFERENCE-ONE", "BASE-ONE: maybe upgrade <something>.", "TUNED-ONE", "fixed version ✗", "1 ungrounded: 9.9.9"}, {"REFERENCE-TWO", "BASE-TWO", "TUNED-TWO", "CWE ✓"}} {
		if i == 0 {
			want = append(want, "fix snippet ✓")
		}
		got := text(samples[i])
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("sample %d lacks %q", i, w)
			}
		}
	}
	if strings.Contains(page, "<something>") {
		t.Error("an answer's markup reached the page unescaped")
	}
}

func TestSkippedFineTuning(t *testing.T) {
	dir := skippedRun(t)
	page, doc := render(t, report.Options{RunDir: dir})
	selfContained(t, page, doc)
	for _, id := range []string{"loss", "evaluation", "gate", "samples"} {
		nr := find(section(t, doc, id), func(n *html.Node) bool { return hasClass(n, "not-run") })
		if len(nr) != 1 || !strings.Contains(text(nr[0]), "skipped (--skip-fine-tuning)") {
			t.Errorf("section %s does not say it was skipped with run.json's reason", id)
		}
	}
	for _, id := range []string{"findings", "dataset", "inputs"} {
		if nr := find(section(t, doc, id), func(n *html.Node) bool { return hasClass(n, "not-run") }); len(nr) > 0 {
			t.Errorf("section %s: %q", id, text(nr[0]))
		}
	}
	if n := len(find(doc, tag("table"))); n < 6 {
		t.Errorf("%d tables, want phases, inputs, findings and dataset tables", n)
	}
}

// A failed gate is a verdict, with the error validate gave; a failed
// finetune leaves every later part "not run" with its error.
func TestFailedPhases(t *testing.T) {
	runDir, _ := completeRun(t)
	b, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	failGate := bytes.Replace(b, []byte(`"status": "done",
      "summary"`), []byte(`"status": "failed", "error": "quality gate: held-out loss: tuned 2.5 does not beat base 2.1",
      "summary"`), 1)
	if bytes.Equal(failGate, b) {
		t.Fatal("fixture: validate phase not found in run.json")
	}
	if err := os.WriteFile(filepath.Join(runDir, "run.json"), failGate, 0o644); err != nil {
		t.Fatal(err)
	}
	_, doc := render(t, report.Options{RunDir: runDir})
	gate := section(t, doc, "gate")
	if v := find(gate, func(n *html.Node) bool { return hasClass(n, "verdict") }); len(v) != 1 || text(v[0]) != "failed" || !strings.Contains(text(gate), "does not beat base 2.1") {
		t.Errorf("failed gate shows %q", text(gate))
	}
	if nr := find(section(t, doc, "evaluation"), func(n *html.Node) bool { return hasClass(n, "not-run") }); len(nr) > 0 {
		t.Error("a failed gate hides the evaluation it judged")
	}
}
