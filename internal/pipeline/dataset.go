// Package pipeline wires the phases together: parse → dataset → finetune →
// evaluate → validate, each as a function from files to files, and the run
// manifest that lets `vulntune run` resume and skip work already done.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"time"

	"github.com/vulntune/vulntune/internal/analyze"
	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

// DatasetOptions configures BuildDataset.
type DatasetOptions struct {
	// FindingsPath is a findings.jsonl; or ArtifactPaths are parsed first.
	FindingsPath  string
	ArtifactPaths []string
	// TempDir holds ingest's spill files ("" = the system's temp dir).
	TempDir string
	OutDir  string
	Split   dataset.SplitOptions
	// MaxPerRule caps the examples of one scanner rule (0: no cap).
	MaxPerRule int
	// Augment adds identifier-replaced copies of training examples and
	// balances kinds and tools (zero: none).
	Augment Augmentation
	Name    string
	License string
	// IncludeSuppressed keeps suppressed findings (excluded by default: a
	// waived finding is not a lesson).
	IncludeSuppressed bool
	// Analysis, when non-nil, adds grounded LLM prose; nil means --no-llm.
	Analysis *analyze.Options
	// Strict makes any build-check failure fatal (CI): without it an
	// example that fails a check is dropped and reported, and only
	// problems of the dataset as a whole (an empty split, a leak across
	// splits) stop the build.
	Strict bool
	// Canaries are planted secrets that must appear in no output (tests).
	Canaries []string
	Log      *slog.Logger
	Progress func(phase string, done, total int)
}

// DatasetResult reports what BuildDataset did.
type DatasetResult struct {
	Findings   int `json:"findings"`
	Suppressed int `json:"suppressed_excluded"`
	// Examples counts the examples made from findings; Copies the
	// identifier-replaced copies added to the training split besides.
	Examples    int            `json:"examples"`
	Copies      int            `json:"copies"`
	Capped      int            `json:"capped"`
	Dropped     []dataset.Drop `json:"dropped"`
	Stats       *dataset.Stats `json:"stats"`
	Analysis    *analyze.Stats `json:"analysis,omitempty"`
	InputErrors []string       `json:"input_errors"`
	// InputWarnings are problems the parsers worked around, keeping the
	// findings (ingest.Result's Warnings): no input error.
	InputWarnings []string            `json:"input_warnings,omitempty"`
	Remedy        map[string]int      `json:"remediation"`
	Provenance    map[string][]string `json:"provenance"`
	Duration      time.Duration       `json:"duration_ns"`
}

// ErrInputs marks a dataset that was built although some inputs failed.
var ErrInputs = errors.New("some inputs could not be read")

// BuildDataset reads findings, builds remediation, optional grounded
// analysis and one chat example per finding, splits them without leaks and
// writes the checked dataset directory.
func BuildDataset(ctx context.Context, o DatasetOptions) (*DatasetResult, error) {
	start := time.Now()
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &DatasetResult{InputErrors: []string{}, Remedy: map[string]int{}, Dropped: []dataset.Drop{}}
	var all []finding.Finding
	redactions := map[string]int{}
	switch {
	case o.FindingsPath != "":
		fs, errs := finding.ReadJSONL(o.FindingsPath)
		for _, e := range errs {
			res.InputErrors = append(res.InputErrors, e.Error())
		}
		all = fs
	case len(o.ArtifactPaths) > 0:
		ir, err := ingest.Run(ctx, o.ArtifactPaths, ingest.Options{TempDir: o.TempDir})
		if err != nil {
			return nil, err
		}
		for _, e := range ir.Errors {
			res.InputErrors = append(res.InputErrors, e.Error())
		}
		for _, w := range ir.Warnings {
			res.InputWarnings = append(res.InputWarnings, w.Error())
			log.Warn("input warning", "warning", w.Error())
		}
		all = ir.Findings
	default:
		return nil, errors.New("no input: give a findings file or artifact paths")
	}
	res.Findings = len(all)
	for _, f := range all {
		for k, v := range f.Redactions {
			redactions[k] += v
		}
	}

	var use []finding.Finding
	for _, f := range all {
		if f.Suppressed && !o.IncludeSuppressed {
			res.Suppressed++
			continue
		}
		use = append(use, f)
	}
	res.Provenance = provenance(use)

	var prose map[string]analyze.Analysis
	llmName := ""
	llmStats := map[string]int{}
	if o.Analysis != nil && len(use) > 0 {
		a := analyze.New(*o.Analysis)
		p, st, err := a.Analyze(ctx, use, func(done, total int) {
			if o.Progress != nil {
				o.Progress("analyze", done, total)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("analysis: %w", err)
		}
		prose, res.Analysis, llmName = p, &st, o.Analysis.Model
		llmStats = map[string]int{"requested": st.Requested, "accepted": st.Accepted, "rejected": st.Rejected, "cache hits": st.CacheHits, "errors": st.Errors}
	}

	ex := make([]dataset.Example, 0, len(use))
	byID := make(map[string]*finding.Finding, len(use))
	for i := range use {
		f := &use[i]
		rem, err := remedy.For(f)
		if err != nil {
			res.InputErrors = append(res.InputErrors, fmt.Sprintf("finding %s: %v", f.ID, err))
			continue
		}
		if rem.Choice != nil {
			res.Remedy[string(rem.Choice.Status)]++
		} else {
			res.Remedy[string(f.Kind)]++
		}
		var p *narrate.Prose
		if a, ok := prose[f.ID]; ok {
			p = &narrate.Prose{Summary: a.Summary, Impact: a.Impact, Exploitation: a.Exploitation, FixRationale: a.FixRationale}
		}
		e := narrate.Example(f, rem, p)
		byID[f.ID] = f
		if p != nil && !e.Meta.LLM {
			llmStats["left out (named what the prompt does not show)"]++
		}
		ex = append(ex, e)
		if o.Progress != nil {
			o.Progress("narrate", i+1, len(use))
		}
	}
	ex, drops := dataset.Screen(ex)
	res.Dropped = drops
	for _, d := range drops {
		log.Info("example dropped", "finding", d.FindingID, "reason", d.Reason, "detail", d.Detail)
	}
	if o.Strict && len(drops) > 0 {
		problems := make([]string, len(drops))
		for i, d := range drops {
			problems[i] = fmt.Sprintf("finding %s: %s: %s", d.FindingID, d.Reason, d.Detail)
		}
		return res, &dataset.CheckError{Problems: problems}
	}
	ex, capped := dataset.CapPerRule(ex, o.MaxPerRule, o.Split.Seed)
	for rule, n := range capped {
		res.Capped += n
		log.Debug("rule capped", "rule", rule, "dropped", n, "kept", o.MaxPerRule)
	}
	splitStats, err := dataset.Split(ex, o.Split)
	if err != nil {
		return nil, err
	}
	originals := len(ex)
	var aug *dataset.Augmentation
	if o.Augment.on() {
		ex, aug = augmentTrain(ex, byID, o.Augment, o.Split, log)
	}
	st, err := dataset.Write(o.OutDir, ex, dataset.WriteOptions{
		Name: o.Name, License: o.License, Provenance: res.Provenance, Redactions: redactions,
		Split: splitStats, LLM: llmName, LLMStats: llmStats, Canaries: o.Canaries,
		NearDupThreshold: o.Split.NearDupThreshold, MaxPerRule: o.MaxPerRule, Capped: capped, Drops: drops,
		Augmentation: aug,
	})
	if err != nil {
		return nil, err
	}
	res.Examples, res.Copies, res.Stats = originals, len(ex)-originals, st
	res.Duration = time.Since(start)
	log.Debug("dataset written", "dir", o.OutDir, "examples", len(ex))
	if len(res.InputErrors) > 0 {
		return res, fmt.Errorf("%w: %d problem(s)", ErrInputs, len(res.InputErrors))
	}
	return res, nil
}

func provenance(fs []finding.Finding) map[string][]string {
	seen := map[string]map[string]bool{}
	for _, f := range fs {
		for _, t := range f.Tools {
			if seen[t.Name] == nil {
				seen[t.Name] = map[string]bool{}
			}
			if t.Version != "" {
				seen[t.Name][t.Version] = true
			}
		}
	}
	out := map[string][]string{}
	for name, vs := range seen {
		list := []string{}
		for v := range vs {
			list = append(list, v)
		}
		sort.Strings(list)
		out[name] = list
	}
	return out
}

// AugmentOptions are the dataset settings' identifier augmentation: the one
// place a command or the daemon turns them into the pipeline's options.
func AugmentOptions(d config.Dataset) Augmentation {
	a := d.Augment
	return Augmentation{Copies: a.Copies, MaxCopies: a.MaxCopies, EcosystemCopies: a.EcosystemCopies, Catalogue: augment.Catalogue{
		Packages: map[string][]string{
			"maven": a.Packages.Maven, "npm": a.Packages.NPM, "pypi": a.Packages.PyPI, "go": a.Packages.Go,
			"cargo": a.Packages.Cargo, "rubygems": a.Packages.RubyGems, "nuget": a.Packages.NuGet, "composer": a.Packages.Composer,
		},
		Other: a.Packages.Other, Directories: a.Directories, FileStems: a.FileStems, RuleNames: a.RuleNames,
		RuleNamespaces: a.RuleNamespaces, RuleNamespaceShare: a.RuleNamespaceShare,
		StemQualifiers: a.StemQualifiers, StemQualifierShare: a.StemQualifierShare, CWEs: a.CWEs,
		Ecosystems: a.Ecosystems, EcosystemShare: a.EcosystemShare, FixShare: a.FixShare, LineMoveShare: a.LineMoveShare,
		CWEDropShare: a.CWEDropShare, LineDropShare: a.LineDropShare, DirectoryShare: a.DirectoryShare, LinkDropShare: a.LinkDropShare,
	}}
}

// SplitOptions are the dataset settings' split: the one place a command or
// the daemon turns them into the dataset package's options.
func SplitOptions(d config.Dataset) dataset.SplitOptions {
	return dataset.SplitOptions{ValidFraction: d.ValidFraction, TestFraction: d.TestFraction, Seed: d.Seed}
}

// AnalysisOptions configure grounded LLM analysis against endpoint (model
// named model), its answer cache in the data dir, and CWE names and
// descriptions from the shipped catalogue as the reference entries.
func AnalysisOptions(cfg *config.Config, endpoint, model string, log *slog.Logger) *analyze.Options {
	return &analyze.Options{
		Endpoint: endpoint, Model: model, Concurrency: cfg.Analysis.Concurrency,
		CacheDir: filepath.Join(cfg.DataDir, "cache", "analysis"), Logger: log,
		References: func(id string) (string, string, bool) {
			e, ok := remedy.CWE(id)
			return e.Name, e.Description, ok
		},
	}
}
