package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/interrupt"
	"github.com/vulntune/vulntune/internal/pipeline"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	signalled := func(sig syscall.Signal) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&interrupt.Signal{Sig: sig})
		return ctx
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"success", live, nil, exitOK},
		{"a bug", live, errors.New("boom"), exitError},
		{"usage", live, usageError{errors.New("bad flag")}, exitUsage},
		{"gate", live, gateError{errors.New("worse than base")}, exitGate},
		{"engine", live, &engine.EngineError{Op: "train", Code: 1}, exitEngine},
		{"inputs", live, inputError{errors.New("1 bad file")}, exitInput},
		{"an empty dataset", live, fmt.Errorf("phase dataset: %w", dataset.ErrEmpty), exitEmpty},
		{"a run's publish gate refused", live, &pipeline.ErrPhaseFailed{Phase: "publish-dataset", Err: &hub.RefusedError{Kind: "dataset"}}, exitGate},
		{"a run without a token", live, fmt.Errorf("publish-dataset: %w", &pipeline.PublishCheckError{Err: &hub.NoTokenError{}}), exitUsage},
		{"a run with a read-only token", live, &pipeline.PublishCheckError{Err: &hub.AccessError{Reason: "read-only"}}, exitUsage},
		{"a repo name the Hub refuses", live, &pipeline.ErrPhaseFailed{Phase: "publish-model", Err: &hub.NameError{Name: "a b"}}, exitUsage},
		{"SIGINT", signalled(syscall.SIGINT), fmt.Errorf("train: %w", context.Canceled), 130},
		{"SIGTERM", signalled(syscall.SIGTERM), fmt.Errorf("train: %w", context.Canceled), 143},
		{"cancelled without a signal", cancelled, context.Canceled, exitInterrupted},
		{"cancelled but failed otherwise", signalled(syscall.SIGTERM), errors.New("disk full"), exitError},
	}
	for _, tt := range tests {
		if got := exitCode(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}
