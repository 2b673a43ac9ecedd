package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/jsonfile"
	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/train"
)

// page is what the template shows.
type page struct {
	RunDir        string
	Created       string
	Updated       string
	Model         string
	Inputs        []input
	InputBytes    int64
	Phases        []phaseRow
	Interruptions []string
	Findings      findings
	Dataset       datasetPart
	Loss          lossPart
	Eval          evalPart
	Gate          gatePart
	Samples       samplesPart
}

type input struct {
	Path, SHA256 string
	Bytes        int64
}

type phaseRow struct {
	Name, Status, Duration, Detail string
}

type count struct {
	Name string
	N    int
}

type findings struct {
	NotRun     string
	Total      int
	Suppressed int
	ByTool     []count
	ByKind     []count
	BySeverity []count
	Chart      *chart
}

type datasetPart struct {
	NotRun   string
	Examples int
	Splits   []string // split names, in order
	// Rows are kind → count per split, in Splits' order.
	ByKind, BySeverity []splitRow
	Dropped            []count
	DroppedExamples    []dataset.Drop
	MoreDropped        int
	Capped             []count
	MaxPerRule         int
	// Copies are the identifier-replaced copies in train; Mix the
	// training split by kind/tool before and after them (nil: none).
	Copies int
	Mix    []mixRow
}

// mixRow is one kind/tool of the training split without and with copies.
type mixRow struct {
	Name          string
	Before, After int
}

type splitRow struct {
	Name   string
	Counts []int
}

type lossPart struct {
	NotRun      string
	Chart       *chart
	Train, Eval int // points
	// Cut says how many examples trained cut at the max sequence length
	// (metadata.json), "" when the model records no token lengths.
	Cut string
}

type evalPart struct {
	NotRun string
	Tables []evalTable
}

type evalTable struct {
	Title, Note string
	Rows        []evalRow
	// Tools are the same figures by the tool that reported the finding.
	Tools []evalRow
	// Ungrounded counts the ungrounded identifiers of all answers by type.
	Ungrounded []ungroundedRow
	// Grounded compares free and grounded decoding, nil when only free
	// decoding was measured.
	Grounded *groundedPart
}

// groundedPart is free decoding (what the weights alone do) beside
// grounded decoding (what vulntune guarantees), for both models.
type groundedPart struct {
	TunedRegenerated, BaseRegenerated, N int
	Rows                                 []groundedRow
}

type groundedRow struct {
	Metric                   string
	BaseFree, BaseGrounded   *float64
	TunedFree, TunedGrounded *float64
	LowerIsBetter            bool
}

type ungroundedRow struct {
	Kind        string
	Base, Tuned int
}

// evalRow is one line of base → tuned figures.
type evalRow struct {
	Kind        string
	Base, Tuned evaluate.Metrics
}

type gatePart struct {
	NotRun  string
	Verdict string // "passed" or "failed"
	Detail  string
	Checks  []gateCheck
}

type gateCheck struct {
	Name, Status, Detail string
}

type samplesPart struct {
	NotRun  string
	Split   string
	Total   int
	Samples []sample
}

type sample struct {
	Index                 int
	Kind, FindingID       string
	Prompt, Reference     string
	Base, Tuned           string
	BaseScore, TunedScore string
}

// maxDropsShown bounds the dropped examples listed one by one.
const maxDropsShown = 20

// maxSamples is how many held-out answers the page shows.
const maxSamples = 6

func build(opts Options) (*page, error) {
	m, err := readManifest(opts.RunDir)
	if err != nil {
		return nil, err
	}
	p := &page{RunDir: opts.RunDir, Model: m.Model, Created: stamp(m.Created), Updated: stamp(m.Updated)}
	for _, in := range m.Inputs {
		p.Inputs = append(p.Inputs, input{Path: relTo(opts.RunDir, in.Path), SHA256: in.SHA256, Bytes: in.Bytes})
		p.InputBytes += in.Bytes
	}
	for _, name := range phaseOrder(m) {
		ph := m.Phases[name]
		row := phaseRow{Name: name, Status: ph.Status, Duration: duration(ph)}
		switch {
		case ph.Error != "":
			row.Detail = ph.Error
		case ph.Notes["reason"] != "":
			row.Detail = ph.Notes["reason"]
		case len(ph.Outputs) > 0:
			outs := make([]string, len(ph.Outputs))
			for i, o := range ph.Outputs {
				outs[i] = relTo(opts.RunDir, o)
			}
			row.Detail = strings.Join(outs, ", ")
		}
		p.Phases = append(p.Phases, row)
	}
	for _, in := range m.Interruptions {
		p.Interruptions = append(p.Interruptions, fmt.Sprintf("%s stopped by %s at %s", in.Phase, in.Signal, stamp(in.At)))
	}
	p.Findings = readFindings(opts.RunDir, m)
	dsDir := opts.datasetDir(m)
	p.Dataset = readDataset(dsDir, m)
	modelDir := opts.modelDir(m)
	p.Loss = readLoss(modelDir, m)
	var res *evaluate.Results
	p.Eval, res = readEval(modelDir, m)
	p.Gate = readGate(m)
	p.Samples = readSamples(modelDir, dsDir, res, m)
	return p, nil
}

// phaseOrder lists run.json's phases in the pipeline's order, any other
// (publish-dataset, publish-model) after the one it follows in time.
func phaseOrder(m *manifest) []string {
	rank := map[string]int{phaseParse: 0, phaseDataset: 1, "publish-dataset": 2, phaseFinetune: 3, phaseEvaluate: 4, phaseValidate: 5, "publish-model": 6}
	names := make([]string, 0, len(m.Phases))
	for n := range m.Phases {
		names = append(names, n)
	}
	sort.Slice(names, func(a, b int) bool {
		ra, oka := rank[names[a]]
		rb, okb := rank[names[b]]
		if !oka {
			ra = 100
		}
		if !okb {
			rb = 100
		}
		if ra != rb {
			return ra < rb
		}
		return names[a] < names[b]
	})
	return names
}

func duration(p *phaseRecord) string {
	if p.Status == "skipped" || p.Status == "pending" {
		return ""
	}
	d := p.Duration
	switch {
	case d < 60:
		return fmt.Sprintf("%.1f s", d)
	case d < 3600:
		return fmt.Sprintf("%dm %02ds", int(d)/60, int(d)%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d)/3600, int(d)%3600/60)
}

// relTo shows p relative to the run dir when it is inside it.
func relTo(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && filepath.IsAbs(p) && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(p)
}

// readFindings counts findings.jsonl by tool, kind and severity.
func readFindings(dir string, m *manifest) findings {
	if why := m.notRun(phaseParse); why != "" && !m.reached(phaseParse) {
		if m.Phases[phaseParse] == nil {
			why = "not run: this run started from a built dataset (its findings are counted in the dataset below)"
		}
		return findings{NotRun: why}
	}
	f, err := os.Open(filepath.Join(dir, "findings.jsonl"))
	if err != nil {
		return findings{NotRun: missing("findings.jsonl", err)}
	}
	defer f.Close()
	var out findings
	tools, kinds, sevs := map[string]int{}, map[string]int{}, map[string]int{}
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var x struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
			Kind       string `json:"kind"`
			Severity   string `json:"severity"`
			Suppressed bool   `json:"suppressed"`
		}
		if err := dec.Decode(&x); err != nil {
			return findings{NotRun: "cannot read findings.jsonl: " + err.Error()}
		}
		out.Total++
		if x.Suppressed {
			out.Suppressed++
		}
		for _, t := range x.Tools {
			tools[t.Name]++
		}
		kinds[x.Kind]++
		sevs[x.Severity]++
	}
	out.ByTool, out.ByKind = byCount(tools), byCount(kinds)
	for _, s := range []string{"critical", "high", "medium", "low", "info"} {
		if sevs[s] > 0 {
			out.BySeverity = append(out.BySeverity, count{s, sevs[s]})
			delete(sevs, s)
		}
	}
	out.BySeverity = append(out.BySeverity, byCount(sevs)...)
	if len(out.BySeverity) > 0 {
		out.Chart = barChart("Findings by severity", out.BySeverity)
	}
	return out
}

// byCount sorts m by count, then name.
func byCount(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].N != out[b].N {
			return out[a].N > out[b].N
		}
		return out[a].Name < out[b].Name
	})
	return out
}

func readDataset(dir string, m *manifest) datasetPart {
	if m.Phases[phaseDataset] != nil && !m.reached(phaseDataset) {
		return datasetPart{NotRun: m.notRun(phaseDataset)}
	}
	var st dataset.Stats
	if err := jsonfile.Read(filepath.Join(dir, "stats.json"), &st); err != nil {
		return datasetPart{NotRun: missing("the dataset's stats.json", err)}
	}
	d := datasetPart{Examples: st.Examples, MaxPerRule: st.MaxPerRule}
	for _, s := range []string{dataset.Train, dataset.Valid, dataset.Test} {
		if _, ok := st.Splits[s]; ok {
			d.Splits = append(d.Splits, s)
		}
	}
	rows := func(by map[string]map[string]int) []splitRow {
		var out []splitRow
		for _, c := range byCount(totals(by)) {
			r := splitRow{Name: c.Name}
			for _, s := range d.Splits {
				r.Counts = append(r.Counts, by[c.Name][s])
			}
			out = append(out, r)
		}
		return out
	}
	d.ByKind, d.BySeverity = rows(st.ByKind), rows(st.BySeverity)
	d.Dropped, d.Capped = byCount(st.Dropped), byCount(st.Capped)
	if a := st.Augmentation; a != nil {
		d.Copies = a.Added
		names := map[string]int{}
		for k, n := range a.Before {
			names[k] += n
		}
		for k, n := range a.After {
			names[k] += n
		}
		for _, c := range byCount(names) {
			d.Mix = append(d.Mix, mixRow{Name: c.Name, Before: a.Before[c.Name], After: a.After[c.Name]})
		}
	}
	d.DroppedExamples = st.DroppedExamples
	if len(d.DroppedExamples) > maxDropsShown {
		d.MoreDropped = len(d.DroppedExamples) - maxDropsShown
		d.DroppedExamples = d.DroppedExamples[:maxDropsShown]
	}
	return d
}

func totals(by map[string]map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range by {
		for _, n := range v {
			out[k] += n
		}
	}
	return out
}

func readLoss(modelDir string, m *manifest) lossPart {
	if !m.reached(phaseFinetune) || modelDir == "" {
		return lossPart{NotRun: m.notRun(phaseFinetune)}
	}
	path := filepath.Join(modelDir, "training", "metrics.jsonl")
	if _, err := os.Stat(path); err != nil {
		return lossPart{NotRun: missing("training/metrics.jsonl", err)}
	}
	met, err := train.ReadMetrics(path)
	if err != nil {
		return lossPart{NotRun: "cannot read training/metrics.jsonl: " + err.Error()}
	}
	ts, tl := met.Series("train")
	es, el := met.Series("eval")
	if len(ts)+len(es) == 0 {
		return lossPart{NotRun: "training/metrics.jsonl holds no loss"}
	}
	return lossPart{Train: len(ts), Eval: len(es), Cut: cutNote(modelDir), Chart: lossChart([]series{
		{Name: "train", Class: "train", X: ts, Y: tl},
		{Name: "validation", Class: "valid", X: es, Y: el, Dots: true},
	})}
}

// cutNote reads from the model's metadata.json how many examples were
// longer than the training sequence length: a cut row trains the model on
// an answer without its end (issue 16). "" when the metadata predates the
// count or cannot be read; the loss curves stand without it.
func cutNote(modelDir string) string {
	var md train.Metadata
	if jsonfile.Read(filepath.Join(modelDir, modelstore.MetadataFile), &md) != nil || md.Metrics == nil {
		return ""
	}
	m, n := md.Metrics, md.Hyperparameters.MaxSeqLength
	longest := max(m.LongestTrain, m.LongestValid)
	if longest == 0 || n == 0 {
		return ""
	}
	return fmt.Sprintf("Max sequence length %d: %d of %d training and %d of %d validation examples were longer and cut to it (longest %d tokens).",
		n, m.TruncatedTrain, md.Dataset.Train, m.TruncatedValid, md.Dataset.Valid, longest)
}

func readEval(modelDir string, m *manifest) (evalPart, *evaluate.Results) {
	if !m.reached(phaseEvaluate) || modelDir == "" {
		return evalPart{NotRun: m.notRun(phaseEvaluate)}, nil
	}
	res, err := evaluate.ReadResults(modelDir)
	if err != nil {
		return evalPart{NotRun: "cannot read eval/results.json: " + err.Error()}, nil
	}
	out := evalPart{Tables: []evalTable{table("In-domain (held-out "+res.Dataset.Split+" split)", res)}}
	// Other evaluations of the same model (issue 16's corpus of other
	// projects) are stored as eval/<set>/results.json, one table each.
	sets, _ := filepath.Glob(filepath.Join(modelDir, "eval", "*", evaluate.ResultsFile))
	sort.Strings(sets)
	for _, s := range sets {
		dir := filepath.Dir(s)
		var r evaluate.Results
		if err := jsonfile.Read(s, &r); err != nil {
			out.Tables = append(out.Tables, evalTable{Title: evaluate.SetTitle(filepath.Base(dir)), Note: "cannot read: " + err.Error()})
			continue
		}
		et := table(evaluate.SetTitle(filepath.Base(dir)), &r)
		if sel := r.Selection; sel != nil {
			et.Note += fmt.Sprintf("; findings of projects, scanners and ecosystems the model was not trained on, %d chosen of %d (%s)", sel.Selected, sel.From, sel.Rule)
		}
		out.Tables = append(out.Tables, et)
	}
	return out, res
}

func table(t string, r *evaluate.Results) evalTable {
	et := evalTable{Title: t, Rows: []evalRow{{Kind: "all", Base: r.Base, Tuned: r.Tuned}}}
	et.Note = fmt.Sprintf("%d of %d examples evaluated, base %s vs tuned %s, %s decoding, at most %d tokens per answer",
		r.Dataset.Evaluated, r.Dataset.Examples, orDash(r.BaseModel), orDash(r.Model), orDash(r.Decoding), r.MaxTokens)
	if b := r.Bound; b != nil {
		if b.BelowLongestReference {
			et.Note += fmt.Sprintf(", below the longest reference answer (%d tokens): answers are not read whole", b.LongestReference)
		} else {
			et.Note += fmt.Sprintf(" (longest reference answer: %d tokens)", b.LongestReference)
		}
	}
	for _, k := range r.Kinds() {
		et.Rows = append(et.Rows, evalRow{Kind: k, Base: r.ByKind[k].Base, Tuned: r.ByKind[k].Tuned})
	}
	for _, t := range r.Tools() {
		et.Tools = append(et.Tools, evalRow{Kind: t, Base: r.ByTool[t].Base, Tuned: r.ByTool[t].Tuned})
	}
	if r.Base.UngroundedByKind != nil || r.Tuned.UngroundedByKind != nil {
		for _, k := range ident.Kinds {
			et.Ungrounded = append(et.Ungrounded, ungroundedRow{Kind: k, Base: r.Base.UngroundedByKind[k], Tuned: r.Tuned.UngroundedByKind[k]})
		}
	}
	if g := r.Grounded; g != nil {
		gp := &groundedPart{TunedRegenerated: g.TunedRegenerated, BaseRegenerated: g.BaseRegenerated, N: r.Tuned.N}
		for _, m := range []struct {
			name  string
			get   func(evaluate.Metrics) *float64
			lower bool
		}{
			{"hallucination", func(m evaluate.Metrics) *float64 { return m.HallucinationRate }, true},
			{"fixed version", func(m evaluate.Metrics) *float64 { return m.FixedVersionAccuracy }, false},
			{"CWE", func(m evaluate.Metrics) *float64 { return m.CWEAccuracy }, false},
			{"location", func(m evaluate.Metrics) *float64 { return m.LocationAccuracy }, false},
			{"fix snippet", func(m evaluate.Metrics) *float64 { return m.SnippetAccuracy }, false},
			{"ended", func(m evaluate.Metrics) *float64 { return m.EndedShare }, false},
		} {
			gp.Rows = append(gp.Rows, groundedRow{Metric: m.name, BaseFree: m.get(r.Base), BaseGrounded: m.get(g.Base),
				TunedFree: m.get(r.Tuned), TunedGrounded: m.get(g.Tuned), LowerIsBetter: m.lower})
		}
		et.Grounded = gp
	}
	return et
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// readGate reads the quality gate's verdict from the validate phase: its
// status, error and the gate checks its summary keeps.
func readGate(m *manifest) gatePart {
	p := m.Phases[phaseValidate]
	if p == nil || (p.Status != "done" && p.Status != "failed") {
		return gatePart{NotRun: m.notRun(phaseValidate)}
	}
	g := gatePart{Verdict: "passed"}
	if p.Status == "failed" {
		g.Verdict, g.Detail = "failed", p.Error
	}
	if raw, ok := p.Summary["gate"]; ok {
		b, _ := json.Marshal(raw)
		var checks []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &checks) == nil {
			for _, c := range checks {
				g.Checks = append(g.Checks, gateCheck(c))
			}
		}
	}
	return g
}

// readSamples pairs a few held-out answers of both models with the
// dataset's reference answer, one per kind first.
func readSamples(modelDir, dsDir string, res *evaluate.Results, m *manifest) samplesPart {
	if res == nil {
		return samplesPart{NotRun: m.notRun(phaseEvaluate)}
	}
	f, err := os.Open(filepath.Join(modelDir, "eval", evaluate.GenerationsFile))
	if err != nil {
		return samplesPart{NotRun: missing("eval/"+evaluate.GenerationsFile, err)}
	}
	defer f.Close()
	type both struct{ base, tuned *evaluate.Generation }
	byIndex := map[int]*both{}
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var g evaluate.Generation
		if err := dec.Decode(&g); err != nil {
			return samplesPart{NotRun: "cannot read eval/" + evaluate.GenerationsFile + ": " + err.Error()}
		}
		b := byIndex[g.Index]
		if b == nil {
			b = &both{}
			byIndex[g.Index] = b
		}
		switch g.Model {
		case "base":
			b.base = &g
		case "tuned":
			b.tuned = &g
		}
	}
	var idx []int
	for i, b := range byIndex {
		if b.base != nil && b.tuned != nil {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	if len(idx) == 0 {
		return samplesPart{NotRun: "eval/" + evaluate.GenerationsFile + " holds no answer of both models"}
	}
	// One per kind first, then in order.
	var pick []int
	seen, taken := map[string]bool{}, map[int]bool{}
	for _, i := range idx {
		if k := byIndex[i].tuned.Kind; !seen[k] && len(pick) < maxSamples {
			seen[k], taken[i] = true, true
			pick = append(pick, i)
		}
	}
	for _, i := range idx {
		if len(pick) >= maxSamples {
			break
		}
		if !taken[i] {
			pick = append(pick, i)
		}
	}
	sort.Ints(pick)
	rows := splitRows(filepath.Join(dsDir, res.Dataset.Split+".jsonl"))
	out := samplesPart{Split: res.Dataset.Split, Total: len(idx)}
	for _, i := range pick {
		b := byIndex[i]
		s := sample{Index: i, Kind: b.tuned.Kind, FindingID: b.tuned.FindingID, Base: b.base.Text, Tuned: b.tuned.Text,
			BaseScore: scores(b.base), TunedScore: scores(b.tuned)}
		s.Reference = "(the dataset's reference answer is not available)"
		if i < len(rows) && rows[i] != nil {
			s.Prompt, s.Reference = chat.FirstUser(rows[i]), chat.Answer(rows[i])
		}
		out.Samples = append(out.Samples, s)
	}
	return out
}

// splitRows reads the chat turns of each row of a split file (nil for a
// row that does not parse; none when the file cannot be read).
func splitRows(path string) [][]chat.Message {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]chat.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var row struct {
			Messages []chat.Message `json:"messages"`
		}
		if json.Unmarshal(sc.Bytes(), &row) != nil {
			out = append(out, nil)
			continue
		}
		out = append(out, row.Messages)
	}
	return out
}

// scores says in a line what evaluation found in one answer.
func scores(g *evaluate.Generation) string {
	var parts []string
	mark := func(name string, ok *bool) {
		if ok == nil {
			return
		}
		if *ok {
			parts = append(parts, name+" ✓")
		} else {
			parts = append(parts, name+" ✗")
		}
	}
	mark("fixed version", g.Scores.FixedVersion)
	mark("CWE", g.Scores.CWE)
	mark("location", g.Scores.Location)
	mark("fix snippet", g.Scores.Snippet)
	if n := len(g.Scores.Ungrounded); n > 0 {
		parts = append(parts, fmt.Sprintf("%d ungrounded: %s", n, strings.Join(g.Scores.Ungrounded, ", ")))
	}
	if g.FinishReason == "length" {
		parts = append(parts, "cut at the token limit")
	}
	if len(parts) == 0 {
		return "no fact to check"
	}
	return strings.Join(parts, " · ")
}

// pct formats a fraction as a percentage, "–" when there is none.
func pct(f *float64) string {
	if f == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", *f*100)
}

// num formats a value with 3 decimals, "–" when there is none.
func num(f *float64) string {
	if f == nil || math.IsNaN(*f) {
		return "–"
	}
	return fmt.Sprintf("%.3f", *f)
}

// pair says whether tuned is better than base ("better", "worse", "same"
// or "" when either is missing), lower being better when lowerWins.
func pair(b, t *float64, lowerWins bool) string {
	if b == nil || t == nil {
		return ""
	}
	d := *t - *b
	if lowerWins {
		d = -d
	}
	switch {
	case d > 1e-9:
		return "better"
	case d < -1e-9:
		return "worse"
	}
	return "same"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
