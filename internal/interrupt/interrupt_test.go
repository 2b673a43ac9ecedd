package interrupt_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/interrupt"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sig  os.Signal
		code int
		name string
	}{
		{os.Interrupt, 130, "SIGINT"},
		{syscall.SIGTERM, 143, "SIGTERM"},
	}
	for _, tt := range tests {
		s := &interrupt.Signal{Sig: tt.sig}
		if got := s.ExitCode(); got != tt.code {
			t.Errorf("%v: exit code %d, want %d", tt.sig, got, tt.code)
		}
		if got := interrupt.Name(tt.sig); got != tt.name {
			t.Errorf("%v: name %q, want %q", tt.sig, got, tt.name)
		}
		if !errors.Is(s, context.Canceled) {
			t.Errorf("%v: not a context.Canceled", tt.sig)
		}
	}
}

// A real SIGTERM to this process cancels the context with the signal as its
// cause (and does not kill the test binary: the handler owns it).
func TestContextRemembersTheSignal(t *testing.T) {
	ctx, stop := interrupt.Context(context.Background())
	defer stop()
	if _, ok := interrupt.From(ctx); ok {
		t.Fatal("a live context reports a signal")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	s, ok := interrupt.From(ctx)
	if !ok || s.Sig != syscall.SIGTERM || s.ExitCode() != 143 {
		t.Fatalf("cause %v, want SIGTERM", context.Cause(ctx))
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("ctx.Err() = %v", ctx.Err())
	}
}
