// Package interrupt turns SIGINT and SIGTERM into context cancellation that
// remembers which signal it was, so every layer can stop the same way (a
// context is cancelled) while the run manifest records what stopped it and
// the process exits with the shell's code for that signal (130, 143).
package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Signal is the cause of a context that a signal cancelled.
type Signal struct {
	Sig os.Signal
}

func (s *Signal) Error() string { return "interrupted by " + Name(s.Sig) }

// Unwrap makes a signal's cause a context.Canceled, so code that only
// knows contexts treats it as the cancellation it is.
func (s *Signal) Unwrap() error { return context.Canceled }

// ExitCode is the shell's code for a process ended by the signal: 128 + n.
func (s *Signal) ExitCode() int {
	if n, ok := s.Sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

// Name is the signal's conventional name ("SIGTERM").
func Name(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprint(sig)
}

// Context returns a context cancelled, with a *Signal as its cause, on the
// first SIGINT or SIGTERM. stop releases the signal handlers.
func Context(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(&Signal{Sig: s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// From returns the signal that cancelled ctx, if one did.
func From(ctx context.Context) (*Signal, bool) {
	var s *Signal
	if errors.As(context.Cause(ctx), &s) {
		return s, true
	}
	return nil, false
}
