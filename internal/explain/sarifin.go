package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

// Enriching the input SARIF: when every input is a SARIF file, the SARIF
// output is those logs (their runs, in input order, in one log) with each
// result whose finding was explained given the answer as in the minimal
// log: appended to message.text (and message.markdown when the scanner
// wrote one), and as properties.vulntune. Everything else in the input,
// the scanner's own fixes included, is kept; results left out (below --min-severity, over --limit,
// suppressed) or not matched stay as they were.
//
// Results are matched to findings by the ids ingest computes: each result
// is written alone into a log of its own (its run's other members kept,
// the rules cut to the one it names), every such log is read with
// ingest.Run in one go, and the sources of each finding name the logs,
// hence the results, it was read from. Re-implementing the fingerprint
// would drift from ingest's; reading each result through ingest cannot.

// sarifInput is one input SARIF log and the finding id of each result
// (ids[run][result], "" when ingest made no finding of it).
type sarifInput struct {
	log map[string]any
	ids [][]string
}

// sarifInputs reads every input as a SARIF log, or returns nil when one is
// not a SARIF file (a directory, another format): the minimal log is
// written then.
func sarifInputs(ctx context.Context, paths []string, tempDir string) ([]sarifInput, error) {
	var logs []map[string]any
	for _, p := range paths {
		lg, ok := readSARIF(p)
		if !ok {
			return nil, nil
		}
		logs = append(logs, lg)
	}
	if len(logs) == 0 {
		return nil, nil
	}
	work, err := os.MkdirTemp(tempDir, "explain-sarif-")
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer os.RemoveAll(work)
	out := make([]sarifInput, len(logs))
	for li, lg := range logs {
		runs, _ := lg["runs"].([]any)
		out[li] = sarifInput{log: lg, ids: make([][]string, len(runs))}
		for ri, r := range runs {
			run, _ := r.(map[string]any)
			results, _ := run["results"].([]any)
			out[li].ids[ri] = make([]string, len(results))
			for xi, res := range results {
				b, err := json.Marshal(singleResult(lg, run, res))
				if err != nil {
					return nil, err
				}
				name := filepath.Join(work, fmt.Sprintf("l%d-r%d-x%d.sarif", li, ri, xi))
				if err := os.WriteFile(name, b, 0o644); err != nil {
					return nil, fmt.Errorf("explain: %w", err)
				}
			}
		}
	}
	res, err := ingest.Run(ctx, []string{work}, ingest.Options{TempDir: tempDir})
	if err != nil {
		return nil, err
	}
	for _, f := range res.Findings {
		for _, s := range f.Sources {
			m := singleName.FindStringSubmatch(s.ToolFile)
			if m == nil {
				continue
			}
			li, _ := strconv.Atoi(m[1])
			ri, _ := strconv.Atoi(m[2])
			xi, _ := strconv.Atoi(m[3])
			if li < len(out) && ri < len(out[li].ids) && xi < len(out[li].ids[ri]) {
				out[li].ids[ri][xi] = f.ID
			}
		}
	}
	return out, nil
}

var singleName = regexp.MustCompile(`l(\d+)-r(\d+)-x(\d+)\.sarif$`)

// readSARIF decodes path when it is a SARIF file (ingest's sniff), with
// numbers kept as written.
func readSARIF(path string) (map[string]any, bool) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil || !(sarif.Format{}).Sniff(b[:min(len(b), 1<<20)]) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))))
	dec.UseNumber()
	var lg map[string]any
	if dec.Decode(&lg) != nil {
		return nil, false
	}
	if _, ok := lg["runs"].([]any); !ok {
		return nil, false
	}
	return lg, true
}

// singleResult is lg with one run holding only res. The driver's rules are
// cut to the one res names by index, which becomes 0: a log per result
// would otherwise repeat every rule (megabytes for Semgrep) each time.
func singleResult(lg, run map[string]any, res any) map[string]any {
	one := map[string]any{}
	for k, v := range lg {
		one[k] = v
	}
	r := map[string]any{}
	for k, v := range run {
		r[k] = v
	}
	x, ok := res.(map[string]any)
	if ok {
		r["tool"], x = pruneRules(run["tool"], x)
	}
	r["results"] = []any{x}
	one["runs"] = []any{r}
	return one
}

// pruneRules returns tool with only the driver rule res points to by
// ruleIndex (or rule.index without a toolComponent, or else ruleId), and
// res pointing to it as index 0. Anything else is returned as is.
func pruneRules(tool any, res map[string]any) (any, map[string]any) {
	t, _ := tool.(map[string]any)
	driver, _ := t["driver"].(map[string]any)
	rules, _ := driver["rules"].([]any)
	idx, where := -1, ""
	if n, ok := res["ruleIndex"].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			idx, where = int(i), "ruleIndex"
		}
	} else if rule, ok := res["rule"].(map[string]any); ok && rule["toolComponent"] == nil {
		if n, ok := rule["index"].(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				idx, where = int(i), "rule"
			}
		}
	}
	if id, ok := res["ruleId"].(string); ok && where == "" {
		// Named by id only (Semgrep): the rule with that id, if one has.
		for i, rv := range rules {
			if rm, ok := rv.(map[string]any); ok && rm["id"] == id {
				idx = i
				break
			}
		}
	}
	if idx < 0 || idx >= len(rules) {
		return tool, res
	}
	nd := map[string]any{}
	for k, v := range driver {
		nd[k] = v
	}
	nd["rules"] = []any{rules[idx]}
	nt := map[string]any{}
	for k, v := range t {
		nt[k] = v
	}
	nt["driver"] = nd
	nr := map[string]any{}
	for k, v := range res {
		nr[k] = v
	}
	if where == "ruleIndex" {
		nr["ruleIndex"] = json.Number("0")
	}
	if rule, ok := res["rule"].(map[string]any); ok && rule["toolComponent"] == nil {
		rr := map[string]any{}
		for k, v := range rule {
			rr[k] = v
		}
		if _, has := rr["index"]; has {
			rr["index"] = json.Number("0")
		}
		nr["rule"] = rr
	}
	return nt, nr
}

// writeEnriched writes the input logs' runs, each explained result
// enriched, as one SARIF log.
func writeEnriched(w io.Writer, r *Report, ins []sarifInput) error {
	by := map[string]*Explanation{}
	for i := range r.Findings {
		by[r.Findings[i].FindingID] = &r.Findings[i]
	}
	var runs []any
	schema := any(sarifSchema)
	for _, in := range ins {
		if s, ok := in.log["$schema"]; ok {
			schema = s
		}
		rs, _ := in.log["runs"].([]any)
		for ri, rv := range rs {
			run, _ := rv.(map[string]any)
			results, _ := run["results"].([]any)
			for xi, xv := range results {
				x, ok := xv.(map[string]any)
				if !ok || ri >= len(in.ids) || xi >= len(in.ids[ri]) {
					continue
				}
				if e := by[in.ids[ri][xi]]; e != nil {
					enrich(x, r.Model, e)
				}
			}
			runs = append(runs, rv)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"$schema": schema, "version": SARIFVersion, "runs": runs})
}

// enrich adds the answer to result x: after its message's text (and
// markdown), and as properties.vulntune. A message given only by id (a
// rule's message string) is left alone: a text would replace it.
func enrich(x map[string]any, model string, e *Explanation) {
	if msg, ok := x["message"].(map[string]any); ok {
		note := answerNote(model, e)
		for _, k := range []string{"text", "markdown"} {
			if t, ok := msg[k].(string); ok && note != "" {
				msg[k] = t + note
			}
		}
	}
	props, _ := x["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	props["vulntune"] = explainProps(model, e)
	x["properties"] = props
}
