package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Children inherit this process's core-file limit: a child the watchdog
// aborts leaves its traceback, not a core file of a loaded model in the
// package directory.
func init() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_CORE, &lim) == nil {
		lim.Cur = 0
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)
	}
}

// abortChildrenAfter sends SIGABRT to this process's children once d has
// passed, telling report which it aborted; the returned func disarms it.
func abortChildrenAfter(d time.Duration, report func(pids []int)) (stop func()) {
	timer := time.AfterFunc(d, func() { report(abortChildren()) })
	return func() { timer.Stop() }
}

// abortChildren sends SIGABRT to this process's children and returns them.
func abortChildren() []int {
	pids := childPids(os.Getpid())
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGABRT)
	}
	return pids
}

// firstWrite closes ready on its first write.
type firstWrite struct {
	ready chan struct{}
	once  sync.Once
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ready) })
	return len(p), nil
}

// childPids lists the processes whose parent is ppid, from /proc; none
// where there is no /proc.
func childPids(ppid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited since the glob
		}
		if pid, parent, ok := parseStat(string(b)); ok && parent == ppid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// parseStat reads the pid and parent pid from a /proc/PID/stat line. The
// command name is in parentheses and may itself hold spaces and
// parentheses, so the fields after it are found from the last ')'.
func parseStat(line string) (pid, ppid int, ok bool) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 1 || end < open {
		return 0, 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return 0, 0, false
	}
	fields := strings.Fields(line[end+1:]) // state, ppid, ...
	if len(fields) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return pid, ppid, err == nil
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line      string
		pid, ppid int
		ok        bool
	}{
		{"4242 (python3.11) S 4200 4242 4200 0 -1", 4242, 4200, true},
		{"17 (a) b (c)) R 1 17 17", 17, 1, true},
		{"17 (python", 0, 0, false},
		{"x (python) S 1", 0, 0, false},
		{"17 (python) S", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		pid, ppid, ok := parseStat(tt.line)
		if pid != tt.pid || ppid != tt.ppid || ok != tt.ok {
			t.Errorf("parseStat(%q) = %d, %d, %v; want %d, %d, %v", tt.line, pid, ppid, ok, tt.pid, tt.ppid, tt.ok)
		}
	}
}

// TestAbortedChildShowsTraceback runs a child that would sleep for five
// minutes and checks that the watchdog's abort ends it with its Python
// traceback in the engine error, which is what a stuck test reports.
func TestAbortedChildShowsTraceback(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	l := fakeLauncher(t)
	aborted := make(chan []int, 1)
	start := time.Now()
	c := fakeCall("stubborn")
	// The child prints a line once its script runs, faulthandler installed
	// (-X faulthandler); aborted after a fixed second instead, on a loaded
	// machine it died before the interpreter could show a traceback.
	ready := make(chan struct{})
	c.Stdout = &firstWrite{ready: ready}
	go func() {
		select {
		case <-ready:
		case <-time.After(time.Minute):
		}
		aborted <- abortChildren()
	}()
	err := l.Run(context.Background(), c)
	var ee *EngineError
	if !errors.As(err, &ee) {
		t.Fatalf("Run = %v, want *EngineError", err)
	}
	if pids := <-aborted; len(pids) != 1 {
		t.Errorf("aborted %v, want the one child", pids)
	}
	if time.Since(start) > time.Minute {
		t.Errorf("child ended after %v, want soon after the abort", time.Since(start))
	}
	for _, want := range []string{"Fatal Python error: Aborted", "fake_worker.py"} {
		if !strings.Contains(ee.StderrTail, want) {
			t.Errorf("stderr tail %q lacks %q", ee.StderrTail, want)
		}
	}
}
