package engine

import (
	"errors"
	"fmt"
	"strings"
)

// EngineError reports an engine child process that failed: it exited with a
// non-zero status, was killed, or reported an error event. StderrTail holds
// the last lines the process wrote, LogPath the full log.
type EngineError struct {
	Op         string // what was running: "generate", "setup: install packages", ...
	Code       int    // exit status; -1 when killed by a signal or never started
	Kind       string // the worker's error type, when it reported one
	Message    string // the worker's own error message, when it reported one
	StderrTail string
	LogPath    string
	Err        error // the underlying cause (*exec.ExitError, context error, ...)
}

func (e *EngineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine %s failed", e.Op)
	if e.Code >= 0 {
		fmt.Fprintf(&b, " (exit %d)", e.Code)
	}
	switch {
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.StderrTail != "":
		fmt.Fprintf(&b, ":\n%s", indent(e.StderrTail))
	case e.Err != nil:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *EngineError) Unwrap() error { return e.Err }

// Hint points at the full log.
func (e *EngineError) Hint() string {
	if e.LogPath == "" {
		return ""
	}
	return "full log: " + e.LogPath
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  | " + l
	}
	return strings.Join(lines, "\n")
}

// ErrNotInstalled is returned by Open when the engine venv is missing or was
// never completed.
var ErrNotInstalled = errors.New("engine not installed")

// NotInstalledError says which venv is missing and how to create it.
type NotInstalledError struct {
	VenvDir string
	Reason  string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("engine not installed in %s: %s", e.VenvDir, e.Reason)
}

// Is makes errors.Is(err, ErrNotInstalled) true.
func (e *NotInstalledError) Is(target error) bool { return target == ErrNotInstalled }

// Hint names the fixing command.
func (e *NotInstalledError) Hint() string { return "run `vulntune setup`" }
