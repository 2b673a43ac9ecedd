package explain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
)

// inputs are the findings read from every input and what went wrong.
type inputs struct {
	findings []finding.Finding
	errors   []string
	// warnings are problems the parsers worked around (ingest.Result's).
	warnings []string
}

// readInputs reads findings.jsonl files with finding.ReadJSONL and
// everything else through ingest.Run (the formats, redaction and dedupe of
// `vulntune parse`). A finding found in several inputs is kept once.
func readInputs(ctx context.Context, paths []string, tempDir string) (*inputs, error) {
	in := &inputs{errors: []string{}}
	var reports []string
	var all []finding.Finding
	for _, p := range paths {
		if !isFindingsJSONL(p) {
			reports = append(reports, p)
			continue
		}
		fs, errs := finding.ReadJSONL(p)
		for _, e := range errs {
			in.errors = append(in.errors, e.Error())
		}
		all = append(all, fs...)
	}
	if len(reports) > 0 {
		res, err := ingest.Run(ctx, reports, ingest.Options{TempDir: tempDir})
		if err != nil {
			return nil, err
		}
		for _, e := range res.Errors {
			in.errors = append(in.errors, e.Error())
		}
		for _, w := range res.Warnings {
			in.warnings = append(in.warnings, w.Error())
		}
		if len(res.Files) == 0 && len(res.Errors) == 0 {
			in.errors = append(in.errors, fmt.Sprintf("no scanner reports found in %v", reports))
		}
		all = append(all, res.Findings...)
	}
	seen := map[string]bool{}
	for _, f := range all {
		if !seen[f.ID] {
			seen[f.ID] = true
			in.findings = append(in.findings, f)
		}
	}
	return in, nil
}

// isFindingsJSONL tells a findings.jsonl by content, as ingest tells
// formats: a regular file whose first line is a finding object (an id and
// a known kind). A SARIF or native report never is: its first line is not
// a whole object with those fields.
func isFindingsJSONL(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var f finding.Finding
		return json.Unmarshal(line, &f) == nil && f.ID != "" && f.Kind.Valid()
	}
	return false
}
