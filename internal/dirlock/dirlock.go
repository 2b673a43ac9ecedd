// Package dirlock gives one process at a time a directory: a run directory
// (two `vulntune run` into one output dir would mix one run's findings with
// the other's dataset) or a daemon's state dir. The lock is an advisory
// flock on a file inside the directory, so it disappears with the process
// however it ends (kill -9 included) and is never left stale.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Name is the lock file inside a locked directory.
const Name = ".vulntune.lock"

// Lock is a held directory lock. Release it when done; exiting releases it
// too.
type Lock struct {
	f *os.File
}

// HeldError says another process holds the directory.
type HeldError struct {
	Dir string
	PID int // 0 when the holder did not say
}

func (e *HeldError) Error() string {
	who := "another vulntune process"
	if e.PID > 0 {
		who = fmt.Sprintf("another vulntune process (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is using %s", who, e.Dir)
}

// Hint says what to do about it.
func (e *HeldError) Hint() string {
	return "wait for it to finish, or give this run another directory (--output-dir)"
}

// Acquire locks dir for this process, without waiting: a held lock is a
// *HeldError naming the holder's pid.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, Name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, errHeld) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &HeldError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	// The pid is for the holder's error message only; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release gives the directory up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

var errHeld = errors.New("held by another process")
