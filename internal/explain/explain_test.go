package explain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/explain"
	"github.com/vulntune/vulntune/internal/finding"
)

// fakeEngine answers each prompt through answer (keyed by a word of the
// user turn), in reverse order to prove results do not depend on
// completion order, and counts what it was asked to generate.
type fakeEngine struct {
	answers map[string]string // user-turn substring → answer
	id      string            // AnswerID; "" for an engine without one
	asked   *int
	// grounded, if set, counts the answers asked for with grounded
	// decoding.
	grounded *int
	// looped: answers to user turns holding it stop in a loop.
	looped string
}

func (f fakeEngine) Answer(_ context.Context, req engine.AnswerRequest, onItem func(engine.EvaluateItem), _ func(engine.Event)) (*engine.AnswerSummary, error) {
	if req.RepeatStop == nil || *req.RepeatStop != evaluate.DefaultRepeatStop {
		return nil, &engine.EngineError{Op: "answer", Message: "explain must stop answers in a loop as evaluation does"}
	}
	for i := len(req.Examples) - 1; i >= 0; i-- {
		var ex struct {
			Messages []chat.Message `json:"messages"`
		}
		if err := json.Unmarshal(req.Examples[i], &ex); err != nil {
			return nil, err
		}
		if len(ex.Messages) != 3 || ex.Messages[0].Role != "system" || ex.Messages[2].Content != "" {
			return nil, &engine.EngineError{Op: "answer", Message: "want system, user and an empty assistant turn"}
		}
		if len(req.Grounds) > 0 {
			// Grounded decoding: the ground must hold the prompt it answers.
			if len(req.Grounds) != len(req.Examples) || req.Grounding != engine.GroundingEnforce || !strings.Contains(req.Grounds[i], ex.Messages[1].Content) {
				return nil, &engine.EngineError{Op: "evaluate", Message: "want one ground per example, holding its prompt, to enforce"}
			}
			// And the finding's own answer's lines to hold (evaluate.AnswerPin):
			// every answer narrate writes has an In short line. An empty
			// reference (the prompt turns once overwrote it) holds nothing.
			if len(req.Pins) != len(req.Examples) || req.Pins[i] == nil || len(req.Pins[i].Sections["**In short**"]) != 1 {
				return nil, &engine.EngineError{Op: "evaluate", Message: "want one pin per example, holding its In short line"}
			}
			if f.grounded != nil {
				*f.grounded++
			}
		}
		text := "No idea."
		for k, a := range f.answers {
			if strings.Contains(ex.Messages[1].Content, k) {
				text = a
			}
		}
		reason := "stop"
		if f.looped != "" && strings.Contains(ex.Messages[1].Content, f.looped) {
			reason = "repetition"
		}
		*f.asked++
		onItem(engine.EvaluateItem{Index: i, Text: text, FinishReason: reason, GenerationTokens: 10})
	}
	return &engine.AnswerSummary{}, nil
}

type idEngine struct{ fakeEngine }

func (e idEngine) AnswerID() string { return e.id }

func findings() []finding.Finding {
	tool := func(name, rule string) []finding.Tool { return []finding.Tool{{Name: name, RuleID: rule}} }
	return []finding.Finding{
		{ID: "aaa1", Kind: finding.KindCode, Severity: finding.SeverityHigh, Tools: tool("semgrep", "sqli"),
			Title: "SQL injection", Message: "Query built from input", CWE: []string{"CWE-89"},
			Location: finding.Location{Path: "app/db.py", StartLine: 12}},
		{ID: "bbb2", Kind: finding.KindDependency, Severity: finding.SeverityCritical, Tools: tool("osv-scanner", "GHSA-xxxx-yyyy-zzzz"),
			Title: "Prototype pollution in lodash", VulnIDs: []string{"CVE-2020-8203"}, CWE: []string{"CWE-1321"},
			Location: finding.Location{Path: "package-lock.json"},
			Package:  &finding.Package{Name: "lodash", Ecosystem: "npm", InstalledVersion: "4.17.15", FixedVersions: []string{"4.17.19"}}},
		{ID: "ccc3", Kind: finding.KindCode, Severity: finding.SeverityHigh, Tools: tool("semgrep", "xss"),
			Title: "Cross-site scripting", Message: "Unescaped output", CWE: []string{"CWE-79"},
			Location: finding.Location{Path: "app/db.py", StartLine: 40}},
		{ID: "ddd4", Kind: finding.KindWeb, Severity: finding.SeverityLow, Tools: tool("zap", "10038"),
			Title: "Content Security Policy header not set", CWE: []string{"CWE-693"},
			Location: finding.Location{URL: "http://localhost:8080/", Method: "GET"}},
		{ID: "eee5", Kind: finding.KindCode, Severity: finding.SeverityHigh, Tools: tool("semgrep", "eval"),
			Title: "Use of eval", Suppressed: true, Location: finding.Location{Path: "app/x.py", StartLine: 1}},
	}
}

// writeFindings writes fs as a findings.jsonl and returns its path.
func writeFindings(t *testing.T, fs []finding.Finding) string {
	t.Helper()
	var b bytes.Buffer
	for _, f := range fs {
		line, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	p := filepath.Join(t.TempDir(), "findings.jsonl")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func modelDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "My-Model")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var answers = map[string]string{
	"lodash": "Upgrade lodash to 4.17.19 (CVE-2020-8203) in package-lock.json.",
	"CWE-89": "Use parameters in app/db.py; see CVE-2099-1234 and CWE-89.", // invents a CVE
	"CWE-79": "Escape output in db.py (CWE-79).",
}

func run(t *testing.T, opts explain.Options) *explain.Report {
	t.Helper()
	r, err := explain.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunSelectsAndChecks(t *testing.T) {
	t.Parallel()
	in := writeFindings(t, findings())
	tests := []struct {
		name    string
		min     finding.Severity
		limit   int
		wantIDs []string
		sum     explain.Summary // the counts only
	}{
		{"all but suppressed, most severe first, by file then line", "", 0,
			[]string{"bbb2", "aaa1", "ccc3", "ddd4"},
			explain.Summary{Findings: 5, Suppressed: 1, Answered: 4, Grounded: 3, Flagged: 1}},
		{"min severity high", finding.SeverityHigh, 0,
			[]string{"bbb2", "aaa1", "ccc3"},
			explain.Summary{Findings: 5, Suppressed: 1, BelowSeverity: 1, Answered: 3, Grounded: 2, Flagged: 1}},
		{"limit keeps the most severe", "", 2,
			[]string{"bbb2", "aaa1"},
			explain.Summary{Findings: 5, Suppressed: 1, OverLimit: 2, Answered: 2, Grounded: 1, Flagged: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			asked := 0
			r := run(t, explain.Options{Inputs: []string{in}, ModelDir: modelDir(t), Engine: fakeEngine{answers: answers, asked: &asked},
				MinSeverity: tt.min, Limit: tt.limit})
			var ids []string
			for _, e := range r.Findings {
				ids = append(ids, e.FindingID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("findings %v, want %v", ids, tt.wantIDs)
			}
			got := r.Summary
			got.Seconds, got.GenerationTokens, got.TokensPerSecond = 0, 0, 0
			if got != tt.sum {
				t.Errorf("summary %+v, want %+v", got, tt.sum)
			}
			if asked != len(tt.wantIDs) || r.Summary.GenerationTokens != 10*asked {
				t.Errorf("engine asked %d times, %d tokens counted; want %d", asked, r.Summary.GenerationTokens, len(tt.wantIDs))
			}
			if r.Model != "My-Model" || r.Schema != explain.SchemaVersion {
				t.Errorf("model %q schema %d", r.Model, r.Schema)
			}
		})
	}
}

func TestRunGroundingAndFacts(t *testing.T) {
	t.Parallel()
	asked := 0
	r := run(t, explain.Options{Inputs: []string{writeFindings(t, findings())}, ModelDir: modelDir(t),
		Engine: fakeEngine{answers: answers, asked: &asked}})
	by := map[string]explain.Explanation{}
	for _, e := range r.Findings {
		by[e.FindingID] = e
	}
	sqli, dep := by["aaa1"], by["bbb2"]
	if sqli.Grounded || !slices.Equal(sqli.Ungrounded, []string{"CVE-2099-1234"}) {
		t.Errorf("SQL injection answer: grounded %v, ungrounded %v; want flagged for CVE-2099-1234", sqli.Grounded, sqli.Ungrounded)
	}
	if sqli.Answer != answers["CWE-89"] {
		t.Errorf("flagged answer changed: %q", sqli.Answer)
	}
	if !dep.Grounded || dep.Names.FixedVersion == nil || !*dep.Names.FixedVersion {
		t.Errorf("lodash answer: grounded %v, names fixed version %v", dep.Grounded, dep.Names.FixedVersion)
	}
	rem := dep.Remediation
	if rem.FixedVersion != "4.17.19" || rem.Package != "lodash" || rem.InstalledVersion != "4.17.15" {
		t.Errorf("remediation %+v, want lodash 4.17.15 → 4.17.19", rem)
	}
	if len(rem.Changes) == 0 || !strings.Contains(rem.Changes[0].Snippet, "4.17.19") {
		t.Errorf("remediation changes %+v, want an upgrade snippet to 4.17.19", rem.Changes)
	}
	if by["ddd4"].Names.FixedVersion != nil {
		t.Error("a web finding has no fixed version to name")
	}
}

// TestLoopedAnswer: an answer the engine stopped in a loop is counted,
// marked, and checked as a cut answer is: its last word, which the stop may
// have cut short (here an id cut to "CVE-2099-1234"), is not taken for an
// invented identifier.
func TestLoopedAnswer(t *testing.T) {
	t.Parallel()
	asked := 0
	cut := map[string]string{"CWE-79": "Escape output in db.py (CWE-79). See CVE-2099-1234"}
	r := run(t, explain.Options{Inputs: []string{writeFindings(t, findings())}, ModelDir: modelDir(t),
		Engine: fakeEngine{answers: cut, asked: &asked, looped: "CWE-79"}})
	if r.Summary.Looped != 1 {
		t.Errorf("%d answers counted as stopped in a loop, want 1", r.Summary.Looped)
	}
	for _, e := range r.Findings {
		if e.FindingID != "ccc3" {
			continue
		}
		if e.FinishReason != "repetition" || !e.Grounded || e.Answer != cut["CWE-79"] {
			t.Errorf("looped answer: finish %q, grounded %v (ungrounded %v), answer %q", e.FinishReason, e.Grounded, e.Ungrounded, e.Answer)
		}
	}
	var b bytes.Buffer
	if err := explain.WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "stopped: it went on repeating itself") {
		t.Errorf("markdown does not mark the looped answer:\n%s", b.String())
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	asked := 0
	r := run(t, explain.Options{Inputs: []string{writeFindings(t, findings())}, ModelDir: modelDir(t),
		Engine: fakeEngine{answers: answers, asked: &asked}})
	var b bytes.Buffer
	if err := explain.WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	// Severity sections in order, each file once under its severity.
	order := []string{"## Critical (1)", "### `package-lock.json`", "## High (2)", "### `app/db.py`",
		"#### SQL injection", "#### Cross-site scripting", "## Low (1)", "### `http://localhost:8080/`"}
	at := 0
	for _, s := range order {
		i := strings.Index(md[at:], s)
		if i < 0 {
			t.Fatalf("markdown lacks %q after offset %d:\n%s", s, at, md)
		}
		at += i + len(s)
	}
	if strings.Count(md, "### `app/db.py`") != 1 {
		t.Error("app/db.py's findings are not grouped under one heading")
	}
	for _, want := range []string{
		"⚠️ **not grounded**: names `CVE-2099-1234`",
		"> " + answers["CWE-89"], // shown, not hidden
		"fixed in `4.17.19`",
		"- See https://cwe.mitre.org/data/definitions/89.html", // the canonical pages answers no longer link
		"Model `My-Model` answered 4 finding(s): 3 grounded, 1 flagged",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Use of eval") {
		t.Error("suppressed finding explained")
	}
}

func TestJSONAndSARIFShapes(t *testing.T) {
	t.Parallel()
	asked := 0
	r := run(t, explain.Options{Inputs: []string{writeFindings(t, findings())}, ModelDir: modelDir(t),
		Engine: fakeEngine{answers: answers, asked: &asked}})
	var b bytes.Buffer
	if err := explain.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "model", "max_tokens", "findings", "summary", "input_errors"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	f0 := doc["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"finding_id", "severity", "answer", "grounded", "ungrounded", "remediation", "names", "cached"} {
		if _, ok := f0[k]; !ok {
			t.Errorf("JSON finding lacks %q", k)
		}
	}

	b.Reset()
	if err := explain.WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Fixes []struct {
					Description struct {
						Text string `json:"text"`
					} `json:"description"`
				} `json:"fixes"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Properties          struct {
					Vulntune struct {
						FindingID  string   `json:"finding_id"`
						Model      string   `json:"model"`
						Answer     string   `json:"answer"`
						Grounded   *bool    `json:"grounded"`
						Ungrounded []string `json:"ungrounded"`
					} `json:"vulntune"`
				} `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatalf("SARIF is not well-formed: %v", err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 4 {
		t.Fatalf("SARIF version %q, %d runs; want 2.1.0 with one run of 4 results", log.Version, len(log.Runs))
	}
	rules := map[string]bool{}
	for _, ru := range log.Runs[0].Tool.Driver.Rules {
		rules[ru.ID] = true
	}
	for _, res := range log.Runs[0].Results {
		v := res.Properties.Vulntune
		if !rules[res.RuleID] || res.Level == "" || res.Message.Text == "" {
			t.Errorf("result %s: rule %q (declared %v), level %q, message %q", v.FindingID, res.RuleID, rules[res.RuleID], res.Level, res.Message.Text)
		}
		if v.Model != "My-Model" || v.Answer == "" || v.Grounded == nil || res.PartialFingerprints["vulntuneFindingId/v1"] != v.FindingID {
			t.Errorf("result %s: properties.vulntune %+v", v.FindingID, v)
		}
		// No fix: vulntune knows no artifact change, which SARIF requires
		// of every fix; the answer follows the scanner's message instead.
		if len(res.Fixes) != 0 {
			t.Errorf("result %s: fixes %+v, want none", v.FindingID, res.Fixes)
		}
		if !strings.HasSuffix(res.Message.Text, "):\n"+v.Answer) || !strings.Contains(res.Message.Text, "(model My-Model, ") {
			t.Errorf("result %s: message %q does not end with the answer %q", v.FindingID, res.Message.Text, v.Answer)
		}
		if flagged := strings.Contains(res.Message.Text, "NOT GROUNDED: names CVE-2099-1234"); flagged != (v.FindingID == "aaa1") {
			t.Errorf("result %s: message %q marks the answer flagged: %v", v.FindingID, res.Message.Text, flagged)
		}
	}
}

// TestGroundedByDefault: answers are asked for with grounded decoding
// unless Options.Free says otherwise, and the report says which.
func TestGroundedByDefault(t *testing.T) {
	t.Parallel()
	in := writeFindings(t, findings())
	for _, free := range []bool{false, true} {
		asked, grounded := 0, 0
		r := run(t, explain.Options{Inputs: []string{in}, ModelDir: modelDir(t), Free: free,
			Engine: fakeEngine{answers: answers, asked: &asked, grounded: &grounded}})
		want, decoding := asked, "grounded"
		if free {
			want, decoding = 0, "free"
		}
		if asked == 0 || grounded != want || r.Decoding != decoding {
			t.Errorf("free %v: %d of %d answers grounded, decoding %q; want %d, %q", free, grounded, asked, r.Decoding, want, decoding)
		}
	}
}

func TestCacheHitsOnSecondRun(t *testing.T) {
	t.Parallel()
	in, model, cacheDir := writeFindings(t, findings()), modelDir(t), t.TempDir()
	asked := 0
	eng := idEngine{fakeEngine{answers: answers, id: "engine-1", asked: &asked}}
	opts := explain.Options{Inputs: []string{in}, ModelDir: model, Engine: eng, CacheDir: cacheDir, Now: time.Now}
	first := run(t, opts)
	if asked != 4 || first.Summary.Cached != 0 {
		t.Fatalf("first run: %d generated, %d cached; want 4, 0", asked, first.Summary.Cached)
	}
	second := run(t, opts)
	if asked != 4 || second.Summary.Cached != 4 || second.Summary.GenerationTokens != 0 {
		t.Errorf("second run generated %d more, %d cached; want 0, 4", asked-4, second.Summary.Cached)
	}
	for i := range second.Findings {
		a, b := first.Findings[i], second.Findings[i]
		if a.Answer != b.Answer || a.Grounded != b.Grounded || !b.Cached {
			t.Errorf("finding %s: cached answer differs: %+v vs %+v", a.FindingID, a, b)
		}
	}
	// Another max_tokens, another engine or changed model files miss.
	misses := []struct {
		name   string
		change func(o *explain.Options)
	}{
		{"max tokens", func(o *explain.Options) { o.MaxTokens = 17 }},
		{"free decoding", func(o *explain.Options) { o.Free = true }},
		{"engine", func(o *explain.Options) {
			o.Engine = idEngine{fakeEngine{answers: answers, id: "engine-2", asked: &asked}}
		}},
		{"model files", func(o *explain.Options) {
			os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("new weights"), 0o644)
		}},
	}
	for _, m := range misses {
		o := opts
		m.change(&o)
		before := asked
		r := run(t, o)
		if asked-before != 4 || r.Summary.Cached != 0 {
			t.Errorf("%s changed: %d generated, %d cached; want 4, 0", m.name, asked-before, r.Summary.Cached)
		}
	}
	// Only the new finding of a grown scan is generated.
	more := append(findings(), finding.Finding{ID: "fff6", Kind: finding.KindCode, Severity: finding.SeverityMedium,
		Tools: []finding.Tool{{Name: "semgrep", RuleID: "ssrf"}}, Title: "SSRF", Location: finding.Location{Path: "app/net.py", StartLine: 3}})
	o := opts
	o.Inputs = []string{writeFindings(t, more)}
	before := asked
	if r := run(t, o); asked-before != 1 || r.Summary.Cached != 4 {
		t.Errorf("grown scan: %d generated, %d cached; want 1, 4", asked-before, r.Summary.Cached)
	}
}

func TestRunReadsReports(t *testing.T) {
	t.Parallel()
	// A report and a findings.jsonl together; a finding in both counts once.
	report := filepath.Join("..", "..", "examples", "artifacts", "zap")
	if _, err := os.Stat(report); err != nil {
		t.Skip("no examples/artifacts")
	}
	asked := 0
	r := run(t, explain.Options{Inputs: []string{report, writeFindings(t, findings()[:1])}, ModelDir: modelDir(t),
		Engine: fakeEngine{answers: answers, asked: &asked}, TempDir: t.TempDir()})
	kinds := map[string]int{}
	for _, e := range r.Findings {
		kinds[e.Kind]++
	}
	if kinds["web"] != 9 || kinds["code"] != 1 || len(r.InputErrors) != 0 {
		t.Errorf("kinds %v, input errors %v; want ZAP's 9 web findings and the one code finding", kinds, r.InputErrors)
	}
}

func TestRunRefuses(t *testing.T) {
	t.Parallel()
	asked := 0
	eng := fakeEngine{asked: &asked}
	tests := []struct {
		name string
		opts explain.Options
		want string
	}{
		{"no model", explain.Options{Engine: eng}, "model dir"},
		{"no engine", explain.Options{ModelDir: "m"}, "engine"},
		{"bad severity", explain.Options{ModelDir: "m", Engine: eng, MinSeverity: "urgent"}, "unknown severity"},
	}
	for _, tt := range tests {
		if _, err := explain.Run(context.Background(), tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestSARIFEnrichesInput: with SARIF inputs only, the SARIF output is the
// input logs with the explained results enriched and the others untouched.
func TestSARIFEnrichesInput(t *testing.T) {
	t.Parallel()
	arts := filepath.Join("..", "..", "examples", "artifacts")
	in := []string{filepath.Join(arts, "checkov", "checkov-results.sarif"), filepath.Join(arts, "trivy", "webauthn-comprehensive.sarif")}
	if _, err := os.Stat(in[1]); err != nil {
		t.Skip("no examples/artifacts")
	}
	inputResults := 0
	var drivers []string
	for _, p := range in {
		b, _ := os.ReadFile(p)
		var lg struct {
			Runs []struct {
				Tool struct {
					Driver struct {
						Name string `json:"name"`
					} `json:"driver"`
				} `json:"tool"`
				Results []json.RawMessage `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(b, &lg); err != nil {
			t.Fatal(err)
		}
		for _, r := range lg.Runs {
			inputResults += len(r.Results)
			drivers = append(drivers, r.Tool.Driver.Name)
		}
	}
	asked := 0
	r := run(t, explain.Options{Inputs: in, ModelDir: modelDir(t), Engine: fakeEngine{answers: map[string]string{
		"CWE-": "See CVE-2099-0001.", // every answer to a finding with a CWE invents a CVE
	}, asked: &asked}, SARIF: true, Limit: 5, TempDir: t.TempDir()})
	explained := map[string]bool{}
	for _, e := range r.Findings {
		explained[e.FindingID] = true
	}
	var b bytes.Buffer
	if err := explain.WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name string `json:"name"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID  string `json:"ruleId"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatalf("SARIF is not well-formed: %v", err)
	}
	if out.Version != "2.1.0" || len(out.Runs) != len(drivers) {
		t.Fatalf("version %q, %d runs; want 2.1.0 and the %d input runs", out.Version, len(out.Runs), len(drivers))
	}
	total, enriched := 0, map[string]bool{}
	for i, run := range out.Runs {
		if run.Tool.Driver.Name != drivers[i] {
			t.Errorf("run %d: driver %q, want the input's %q", i, run.Tool.Driver.Name, drivers[i])
		}
		for _, res := range run.Results {
			total++
			raw, ok := res.Properties["vulntune"]
			if !ok {
				if strings.Contains(res.Message.Text, "vulntune explain (") {
					t.Errorf("result %s: an answer in the message but no properties.vulntune", res.RuleID)
				}
				continue
			}
			var v struct {
				FindingID string `json:"finding_id"`
				Model     string `json:"model"`
				Answer    string `json:"answer"`
				Grounded  *bool  `json:"grounded"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			enriched[v.FindingID] = true
			if !explained[v.FindingID] || v.Model != "My-Model" || v.Answer == "" || v.Grounded == nil {
				t.Errorf("result %s: properties.vulntune %+v", res.RuleID, v)
			}
			msg := res.Message.Text
			if !strings.HasSuffix(msg, "):\n"+v.Answer) || strings.Contains(msg, "NOT GROUNDED") == *v.Grounded {
				t.Errorf("result %s: message %q for answer %q (grounded %v)", res.RuleID, msg, v.Answer, *v.Grounded)
			}
		}
	}
	if total != inputResults {
		t.Errorf("%d results out, %d in", total, inputResults)
	}
	if len(enriched) != len(explained) || len(explained) != 5 {
		t.Errorf("%d findings enriched, %d explained (want 5, all)", len(enriched), len(explained))
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	asked := 0
	fs := findings()
	fs[0].Title = "SQL injection <script>alert(1)</script>"
	r := run(t, explain.Options{Inputs: []string{writeFindings(t, fs)}, ModelDir: modelDir(t),
		Engine: fakeEngine{answers: answers, asked: &asked}})
	var b bytes.Buffer
	if err := explain.Write(&b, r, "html"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<!DOCTYPE html>", "<h2>Critical (1)</h2>", "<h3>app/db.py</h3>",
		"⚠ not grounded: names CVE-2099-1234", "fixed in <code>4.17.19</code>", "&lt;script&gt;",
		`<a href="https://cwe.mitre.org/data/definitions/89.html">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained: nothing the page loads comes from the network (the
	// facts' advisory links are anchors a reader follows, never loaded).
	for _, bad := range []string{"<script", `src="http`, "<link", "url(http", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page has %q: not self-contained or not escaped", bad)
		}
	}
	if strings.Count(page, "<h3>app/db.py</h3>") != 1 {
		t.Error("app/db.py's findings are not grouped")
	}
}

// recordEngine answers as fakeEngine does and keeps the requests sent.
type recordEngine struct {
	fakeEngine
	reqs *[]engine.AnswerRequest
}

func (r recordEngine) Answer(ctx context.Context, req engine.AnswerRequest, onItem func(engine.EvaluateItem), onEvent func(engine.Event)) (*engine.AnswerSummary, error) {
	*r.reqs = append(*r.reqs, req)
	return r.fakeEngine.Answer(ctx, req, onItem, onEvent)
}

// TestGroundsFollowFromPrompts: the engine answers identical prompts
// once, under the first one's ground, and the cache keys answers by prompt
// alone. That is sound only while a ground adds nothing to its prompt:
// every fact of the finding (package, versions, CWEs, location) is one the
// prompt shows, so identical prompts carry identical grounds. Checked over
// every finding of the samples and of the corpus.
func TestGroundsFollowFromPrompts(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"artifacts", "corpus"} {
		in := filepath.Join("..", "..", "examples", dir)
		if _, err := os.Stat(in); err != nil {
			t.Skipf("no examples/%s", dir)
		}
		var reqs []engine.AnswerRequest
		asked := 0
		run(t, explain.Options{Inputs: []string{in}, ModelDir: modelDir(t), TempDir: t.TempDir(),
			Engine: recordEngine{fakeEngine{answers: answers, asked: &asked}, &reqs}})
		first := map[string]string{} // prompt → its first ground
		checked := 0
		for _, req := range reqs {
			if len(req.Grounds) != len(req.Examples) {
				t.Fatalf("%s: %d grounds for %d prompts", dir, len(req.Grounds), len(req.Examples))
			}
			for i, ex := range req.Examples {
				var m struct {
					Messages []chat.Message `json:"messages"`
				}
				if err := json.Unmarshal(ex, &m); err != nil {
					t.Fatalf("%s: example %d: %v", dir, i, err)
				}
				prompt, ground := chat.Prompt(m.Messages), req.Grounds[i]
				facts, ok := strings.CutPrefix(ground, prompt)
				if !ok {
					t.Fatalf("%s: example %d: the ground does not start with its prompt", dir, i)
				}
				for _, fact := range strings.Split(facts, "\n") {
					if fact != "" && !strings.Contains(prompt, fact) {
						t.Errorf("%s: example %d: fact %q is not in its prompt:\n%s", dir, i, fact, prompt)
					}
				}
				if g, seen := first[string(ex)]; seen && g != ground {
					t.Errorf("%s: example %d repeats an earlier prompt with another ground", dir, i)
				}
				first[string(ex)] = ground
				checked++
			}
		}
		if checked != asked || checked == 0 {
			t.Errorf("%s: %d grounds checked for %d findings answered", dir, checked, asked)
		}
	}
}
