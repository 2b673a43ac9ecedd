// Package validate decides whether a model directory is fit to publish:
// artifact checks (safetensors headers and sizes against config.json, no
// NaN/Inf in sampled weights, no pickles, no empty or placeholder files, a
// clean metadata.json), engine checks (the tokenizer round-trips text, the
// chat template renders, the model answers a security prompt) and the
// quality gate over eval/results.json (the tuned model beats its base).
package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vulntune/vulntune/internal/engine"
)

// Status is the outcome of one check.
type Status string

// Check outcomes. Only FAIL fails validation; WARN is shown and kept in the
// report.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Warn Status = "WARN"
	Skip Status = "SKIP"
)

// Check groups, used to tell artifact failures from a failed quality gate.
const (
	GroupArtifact   = "artifact"
	GroupFunctional = "functional"
	GroupGate       = "gate"
)

// Check is one row of the report.
type Check struct {
	Group  string `json:"group"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is every check run on one model directory, in order.
type Report struct {
	ModelDir string  `json:"model_dir"`
	Checks   []Check `json:"checks"`
}

func (r *Report) add(group, name string, st Status, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Group: group, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
}

// Failed returns the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Err returns nil when no check failed, else a *FailedError naming them.
func (r *Report) Err() error {
	if f := r.Failed(); len(f) > 0 {
		return &FailedError{Checks: f}
	}
	return nil
}

// FailedError lists the failed checks of a validation.
type FailedError struct{ Checks []Check }

func (e *FailedError) Error() string {
	parts := make([]string, len(e.Checks))
	for i, c := range e.Checks {
		parts[i] = c.Name + ": " + c.Detail
	}
	return fmt.Sprintf("validation failed (%d checks): %s", len(e.Checks), strings.Join(parts, "; "))
}

// Checker is the part of the engine validation needs.
type Checker interface {
	CheckModel(ctx context.Context, req engine.CheckModelRequest) (*engine.ModelCheck, error)
}

// Options say what to validate and how strict the gate is.
type Options struct {
	ModelDir string
	// Engine runs the tokenizer, template and functional checks; nil skips
	// them (reported as SKIP).
	Engine Checker
	// SkipFunctional skips the answer to a security prompt (the tokenizer
	// and template checks still run when Engine is set).
	SkipFunctional bool
	// RequireEval fails validation when eval/results.json is missing;
	// otherwise a fine-tuned model without one gets a WARN.
	RequireEval bool
	Gate        GateOptions
}

// Run validates opts.ModelDir. The error is for validation that could not
// run (no such directory, the engine crashed); failed checks are in the
// report, and Report.Err turns them into an error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := validFactsMode(opts.Gate.Facts); err != nil {
		return nil, err
	}
	fi, err := os.Stat(opts.ModelDir)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("validate: %s is not a directory", opts.ModelDir)
	}
	// The directory itself may be a link (a models dir pointing elsewhere);
	// links inside it are reported by the artifact checks.
	if opts.ModelDir, err = filepath.EvalSymlinks(opts.ModelDir); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	r := &Report{ModelDir: opts.ModelDir}
	meta := checkArtifacts(r, opts.ModelDir)
	if err := checkEngine(ctx, r, opts); err != nil {
		return r, err
	}
	checkGate(r, opts, meta)
	return r, nil
}

// errEngine marks an engine that could not run at all.
var errEngine = errors.New("engine check could not run")
