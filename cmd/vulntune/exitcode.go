package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/interrupt"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// Exit codes; docs/exit-codes.md documents the same table.
const (
	exitOK          = 0
	exitError       = 1   // unexpected error
	exitUsage       = 2   // usage or config error
	exitGate        = 3   // a quality gate failed
	exitEngine      = 4   // the engine child process failed
	exitInput       = 5   // some inputs could not be read; the rest were processed
	exitEmpty       = 6   // nothing to build a dataset from: every finding suppressed, capped or dropped
	exitInterrupted = 130 // SIGINT; SIGTERM exits 143 (interrupt.Signal)
)

// usageError marks errors in how vulntune was called (bad flags, bad config).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// inputError marks a command that finished but could not read every input.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// gateError marks a check that failed: validation (artifacts, functional
// check, quality gate) or an evaluation below threshold.
type gateError struct{ err error }

func (e gateError) Error() string { return e.err.Error() }
func (e gateError) Unwrap() error { return e.err }

// hinted is an error with a way forward for the user.
type hinted interface{ Hint() string }

func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		if s, ok := interrupt.From(ctx); ok {
			return s.ExitCode()
		}
		return exitInterrupted
	}
	var ue usageError
	var ie inputError
	var ee *engine.EngineError
	var ge gateError
	var refused *hub.RefusedError
	var access *hub.AccessError
	var name *hub.NameError
	switch {
	case errors.Is(err, dataset.ErrEmpty):
		return exitEmpty
	case errors.As(err, &ge), pipeline.GateFailed(err), errors.As(err, &refused):
		return exitGate
	// A publish (a command's or a run's phase) without a token that may
	// write, or to a repo name the Hub refuses: configuration.
	case errors.Is(err, hub.ErrNoToken), errors.As(err, &access), errors.As(err, &name):
		return exitUsage
	case errors.As(err, &ee), errors.Is(err, engine.ErrNotInstalled):
		return exitEngine
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ie):
		return exitInput
	case isCobraUsage(err):
		return exitUsage
	}
	return exitError
}

// isCobraUsage recognises cobra's own argument errors, which it returns as
// plain errors; their texts are stable across cobra releases.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func userMessage(err error) string {
	var h hinted
	if errors.As(err, &h) && h.Hint() != "" {
		return fmt.Sprintf("%v\n  hint: %s", err, h.Hint())
	}
	return err.Error()
}
