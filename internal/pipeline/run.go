package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/interrupt"
)

// Phase names, in order.
const (
	PhaseParse    = "parse"
	PhaseDataset  = "dataset"
	PhaseFinetune = "finetune"
	PhaseEvaluate = "evaluate"
	PhaseValidate = "validate"
)

// Phases lists the phases of a run in order.
var Phases = []string{PhaseParse, PhaseDataset, PhaseFinetune, PhaseEvaluate, PhaseValidate}

// PhaseFunc runs one phase. It returns the outputs it wrote (paths relative
// to the run dir or absolute) and a short summary for run.json.
type PhaseFunc func(ctx context.Context) (outputs []string, summary map[string]any, err error)

// Runner executes phases against a run directory and its manifest.
type Runner struct {
	Dir      string
	Manifest *Manifest
	Now      func() time.Time
	Log      *slog.Logger
	// Force reruns every phase even when its key matches.
	Force bool
	// Events receives one line per phase outcome for the user.
	Events func(phase, status, detail string)
}

// ErrPhaseFailed wraps a phase's error with its name.
type ErrPhaseFailed struct {
	Phase string
	Err   error
}

func (e *ErrPhaseFailed) Error() string { return fmt.Sprintf("phase %s: %v", e.Phase, e.Err) }
func (e *ErrPhaseFailed) Unwrap() error { return e.Err }

// Do runs phase name unless the manifest shows it done with the same key
// and its outputs still exist. The manifest is saved before and after, so a
// crash leaves the phase marked running and a later run repeats it.
func (r *Runner) Do(ctx context.Context, name, key string, fn PhaseFunc) (ran bool, err error) {
	p := r.Manifest.Phases[name]
	if !r.Force && p != nil && p.Status == StatusDone && p.Key == key {
		changed := r.changedOutput(p)
		if changed == "" {
			r.event(name, "up to date", fmt.Sprintf("key %s", key))
			return false, nil
		}
		r.event(name, "rerunning", changed)
	}
	if p != nil && p.Status == StatusRunning {
		r.event(name, "resuming", "a previous run stopped during this phase")
	}
	p = &PhaseRecord{Status: StatusRunning, Key: key, Started: r.Now(), Outputs: []string{}}
	r.Manifest.Phases[name] = p
	if err := r.Manifest.Save(r.Dir, r.Now()); err != nil {
		return false, err
	}
	r.event(name, "running", "")
	outputs, summary, err := fn(ctx)
	p.Finished = r.Now()
	p.Duration = p.Finished.Sub(p.Started).Seconds()
	p.Summary = summary
	if outputs != nil {
		p.Outputs = outputs
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// Left "running" on purpose: the next run resumes this phase.
			p.Error = "interrupted"
			if s, ok := interrupt.From(ctx); ok {
				p.Error = s.Error()
				r.Manifest.Interruptions = append(r.Manifest.Interruptions,
					Interruption{Phase: name, Signal: interrupt.Name(s.Sig), At: p.Finished})
			}
		} else {
			p.Status, p.Error = StatusFailed, err.Error()
		}
		if serr := r.Manifest.Save(r.Dir, r.Now()); serr != nil {
			return true, errors.Join(err, serr)
		}
		r.event(name, "failed", err.Error())
		return true, &ErrPhaseFailed{Phase: name, Err: err}
	}
	p.Hashes = map[string]string{}
	for _, o := range p.Outputs {
		h, err := outputHash(r.abs(o))
		if err != nil {
			return true, fmt.Errorf("phase %s: output %s: %w", name, o, err)
		}
		p.Hashes[o] = h
	}
	p.Status = StatusDone
	if err := r.Manifest.Save(r.Dir, r.Now()); err != nil {
		return true, err
	}
	r.event(name, "done", fmt.Sprintf("%.1fs", p.Duration))
	return true, nil
}

// Skip records a phase the user opted out of.
func (r *Runner) Skip(name, why string) error {
	r.Manifest.Phases[name] = &PhaseRecord{Status: StatusSkipped, Outputs: []string{}, Notes: map[string]string{"reason": why}}
	r.event(name, "skipped", why)
	return r.Manifest.Save(r.Dir, r.Now())
}

func (r *Runner) event(phase, status, detail string) {
	if r.Log != nil {
		r.Log.Info("phase", "phase", phase, "status", status, "detail", detail)
	}
	if r.Events != nil {
		r.Events(phase, status, detail)
	}
}

// changedOutput says why a finished phase's outputs can no longer be
// trusted ("" when they can): one is missing, or its content is not what
// the phase wrote (edited, truncated, or recorded by a vulntune that kept
// no hashes).
func (r *Runner) changedOutput(p *PhaseRecord) string {
	for _, o := range p.Outputs {
		want, ok := p.Hashes[o]
		if !ok {
			return o + " has no recorded hash"
		}
		got, err := outputHash(r.abs(o))
		if err != nil {
			return o + " is missing"
		}
		if got != want {
			return o + " changed since the phase wrote it"
		}
	}
	return ""
}

func (r *Runner) abs(o string) string {
	if filepath.IsAbs(o) {
		return o
	}
	return filepath.Join(r.Dir, o)
}

// runParse runs ingest over the artifacts into out (the run's findings.jsonl).
func runParse(ctx context.Context, paths []string, out, tempDir string) ([]string, map[string]any, error) {
	{
		res, err := ingest.Run(ctx, paths, ingest.Options{Output: out, TempDir: tempDir})
		if err != nil {
			return nil, nil, err
		}
		s := ingest.Summarize(res)
		sum := map[string]any{"files_read": s.FilesRead, "findings": s.Findings, "merged": s.Merged,
			"suppressed": s.Suppressed, "redactions": s.Redactions, "errors": s.Errors, "warnings": s.Warnings}
		if len(res.Errors) > 0 {
			return []string{out}, sum, fmt.Errorf("%w: %d input problem(s), first: %v", ErrInputs, len(res.Errors), res.Errors[0])
		}
		return []string{out}, sum, nil
	}
}

// runDataset builds the dataset from the run's findings.
func runDataset(ctx context.Context, o DatasetOptions) ([]string, map[string]any, error) {
	{
		res, err := BuildDataset(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		sum := map[string]any{"examples": res.Examples, "splits": res.Stats.Splits, "groups": res.Stats.Split.Groups,
			"dropped": res.Stats.Dropped}
		if res.Analysis != nil {
			sum["analysis"] = res.Analysis
		}
		outs := []string{}
		for _, f := range dataset.Files {
			if _, err := os.Stat(filepath.Join(o.OutDir, f)); err == nil {
				outs = append(outs, filepath.Join(o.OutDir, f))
			}
		}
		return outs, sum, nil
	}
}
