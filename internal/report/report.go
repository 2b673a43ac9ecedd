// Package report renders a run directory as report.html: one
// self-contained page (inline CSS, charts drawn as inline SVG here, no
// script, nothing fetched) with what the run read, what each phase did,
// the findings, the dataset, the loss curves, base-vs-tuned evaluation, the
// quality gate's verdict and sample answers beside their references. It
// only reads the files the phases wrote (run.json, findings.jsonl,
// dataset/stats.json, the model's training/ and eval/); a part the run did
// not reach says so, with run.json's reason. No home directory leaves it.
package report

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/homepath"
)

// FileName is the report's name inside a run directory.
const FileName = "report.html"

// Phase names as run.json records them (the pipeline's; report reads
// run.json as a file and does not import the pipeline, which calls it).
const (
	phaseParse    = "parse"
	phaseDataset  = "dataset"
	phaseFinetune = "finetune"
	phaseEvaluate = "evaluate"
	phaseValidate = "validate"
)

// Options say where a run's files are.
type Options struct {
	// RunDir holds run.json (and findings.jsonl for a run from artifacts).
	RunDir string
	// DatasetDir is the run's dataset; empty: RunDir/dataset, or the
	// directory of the inputs of a run that started from a dataset.
	DatasetDir string
	// ModelDir is the fine-tuned model; empty: the finetune phase's output
	// in run.json.
	ModelDir string
}

// WriteFile renders the report of opts.RunDir into path (atomically).
func WriteFile(path string, opts Options) error {
	var buf bytes.Buffer
	if err := Render(&buf, opts); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// Render writes the report of opts.RunDir to w.
func Render(w io.Writer, opts Options) error {
	p, err := build(opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err = io.WriteString(w, scrub(buf.String(), homepath.Local()))
	return err
}

//go:embed page.html.tmpl
var tmplFS embed.FS

var pageTmpl = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"pct":  pct,
	"num":  num,
	"pair": pair,
}).ParseFS(tmplFS, "page.html.tmpl"))

// manifest is the part of run.json the report reads.
type manifest struct {
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Inputs  []struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
		Bytes  int64  `json:"bytes"`
	} `json:"inputs"`
	Model  string                  `json:"model_name"`
	Phases map[string]*phaseRecord `json:"phases"`
	// Interruptions are the signals that stopped a phase.
	Interruptions []struct {
		Phase  string    `json:"phase"`
		Signal string    `json:"signal"`
		At     time.Time `json:"at"`
	} `json:"interruptions"`
}

type phaseRecord struct {
	Status   string            `json:"status"`
	Outputs  []string          `json:"outputs"`
	Duration float64           `json:"duration_s"`
	Error    string            `json:"error"`
	Summary  map[string]any    `json:"summary"`
	Notes    map[string]string `json:"notes"`
}

func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("report: %s: %w", filepath.Join(dir, "run.json"), err)
	}
	if m.Phases == nil {
		m.Phases = map[string]*phaseRecord{}
	}
	return &m, nil
}

// notRun says why a phase left nothing to show ("" when it finished):
// skipped with run.json's reason, failed with its error, stopped, or not
// part of this run.
func (m *manifest) notRun(phase string) string {
	p := m.Phases[phase]
	switch {
	case p == nil:
		return "not run: this run has no " + phase + " phase"
	case p.Status == "done":
		return ""
	case p.Status == "skipped":
		why := p.Notes["reason"]
		if why == "" {
			why = "no reason recorded"
		}
		return "not run: skipped (" + why + ")"
	case p.Status == "failed":
		return "not run to the end: failed: " + p.Error
	case p.Status == "running" && p.Error != "":
		return "not run to the end: stopped (" + p.Error + "); the next run resumes it"
	case p.Status == "running":
		return "not run to the end: the run stopped during this phase"
	}
	return "not run: status " + p.Status
}

// reached says whether phase got far enough to leave files to read (done,
// or failed after writing them: a failed gate still has its evaluation).
func (m *manifest) reached(phase string) bool {
	p := m.Phases[phase]
	return p != nil && (p.Status == "done" || p.Status == "failed")
}

// datasetDir resolves the run's dataset directory.
func (o Options) datasetDir(m *manifest) string {
	if o.DatasetDir != "" {
		return o.DatasetDir
	}
	if p := m.Phases[phaseDataset]; p != nil {
		for _, out := range p.Outputs {
			if filepath.Base(out) == "stats.json" {
				return abs(o.RunDir, filepath.Dir(out))
			}
		}
	}
	if m.Phases[phaseParse] == nil && len(m.Inputs) > 0 {
		// A run from a dataset: its inputs are the dataset's files.
		return filepath.Dir(m.Inputs[0].Path)
	}
	return filepath.Join(o.RunDir, "dataset")
}

// modelDir resolves the fine-tuned model's directory ("" when none).
func (o Options) modelDir(m *manifest) string {
	if o.ModelDir != "" {
		return o.ModelDir
	}
	if p := m.Phases[phaseFinetune]; p != nil && len(p.Outputs) > 0 {
		return abs(o.RunDir, p.Outputs[0])
	}
	return ""
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// missing says why a file a finished phase should have written is not
// there to show.
func missing(what string, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return what + " is missing"
	}
	return "cannot read " + what + ": " + err.Error()
}

// scrub replaces every home-directory path in the page: the local home by
// "~", any other by what homepath keeps of it (never the user's name).
func scrub(s string, id homepath.Identity) string {
	if h := strings.TrimRight(id.Home, "/"); h != "" && homepath.FindHome(h) != nil {
		s = strings.ReplaceAll(s, h+"/", "~/")
		s = strings.ReplaceAll(s, h, "~")
	}
	s, _ = homepath.Roots{}.Text(s)
	return s
}
