package sarif_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/ingest/report"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }

// semgrepSample is the 2 MB real Semgrep SARIF; it is read in place
// rather than copied, and its golden holds a summary and the first findings.
const semgrepSample = "../../../examples/artifacts/semgrep/semgrep.sarif"

// goldenHead is how many findings the golden of a large sample keeps.
const goldenHead = 12

type goldenDoc struct {
	Summary  *summary        `json:"summary,omitempty"`
	Findings []goldenFinding `json:"findings"`
	Errors   []string        `json:"errors"`
}

type summary struct {
	Findings   int            `json:"findings"`
	ByKind     map[string]int `json:"by_kind"`
	BySeverity map[string]int `json:"by_severity"`
	WithCWE    int            `json:"with_cwe"`
	WithFix    int            `json:"with_fix"`
}

// goldenFinding shows the fields that never serialise as well.
type goldenFinding struct {
	finding.Finding
	PartialFingerprint string   `json:"partial_fingerprint,omitempty"`
	Secrets            []string `json:"secrets,omitempty"`
}

func parseFile(t testing.TB, path string) ([]finding.Finding, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return sarif.Format{}.Parse(context.Background(), report.Input{Name: filepath.Base(path), Size: -1}, f)
}

func errStrings(err error) []string {
	out := []string{}
	if err == nil {
		return out
	}
	return append(out, strings.Split(err.Error(), "\n")...)
}

func render(fs []finding.Finding, err error, head int) []byte {
	g := goldenDoc{Findings: []goldenFinding{}, Errors: errStrings(err)}
	if head > 0 {
		s := &summary{Findings: len(fs), ByKind: map[string]int{}, BySeverity: map[string]int{}}
		for _, f := range fs {
			s.ByKind[string(f.Kind)]++
			s.BySeverity[string(f.Severity)]++
			if len(f.CWE) > 0 {
				s.WithCWE++
			}
			if len(f.Fixes) > 0 {
				s.WithFix++
			}
		}
		g.Summary = s
		fs = fs[:min(head, len(fs))]
	}
	for _, f := range fs {
		g.Findings = append(g.Findings, goldenFinding{Finding: f, PartialFingerprint: f.PartialFingerprint, Secrets: f.Secrets})
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// TestSARIFGolden parses every testdata/sarif/*.sarif (handcrafted cases and
// copies of real CI artifacts) and the Semgrep sample, and compares with
// <case>.golden.json (golden.Assert). Rewrite with: go test ./internal/ingest/sarif -run SARIFGolden -update
func TestSARIFGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/sarif/*.sarif")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no SARIF cases: %v", err)
	}
	cases = append(cases, semgrepSample)
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".sarif")
		head := 0
		if path == semgrepSample {
			name, head = "semgrep-sample", goldenHead
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fs, err := parseFile(t, path)
			got := render(fs, err, head)
			golden.Assert(t, filepath.Join("testdata", "sarif", name+".golden.json"), got)
		})
	}
}

// TestSARIFGoldenNoOrphans fails on a golden file whose input is gone.
func TestSARIFGoldenNoOrphans(t *testing.T) {
	goldens, _ := filepath.Glob("testdata/sarif/*.golden.json")
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".golden.json")
		if name == "semgrep-sample" {
			continue
		}
		if _, err := os.Stat(filepath.Join("testdata", "sarif", name+".sarif")); err != nil {
			t.Errorf("orphaned golden %s: no %s.sarif", g, name)
		}
	}
}
