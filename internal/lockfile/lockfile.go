// Package lockfile gives one process at a time a lock file: a run
// directory's (two `vulntune run` into one output dir would mix one run's
// findings with the other's dataset), a daemon's state dir, the fine-tune
// workspace. The lock is an advisory flock, so it disappears with the
// process however it ends (kill -9 included) and is never left stale; the
// file holds the holder's pid for the message a second process prints.
package lockfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DirName is the lock file inside a locked directory (AcquireDir).
const DirName = ".vulntune.lock"

// Lock is a held lock. Release it when done; exiting releases it too.
type Lock struct {
	f *os.File
}

// HeldError says another process holds the lock.
type HeldError struct {
	Path string
	PID  int // 0 when the holder did not say
}

func (e *HeldError) Error() string {
	who := "another vulntune process"
	if e.PID > 0 {
		who = fmt.Sprintf("another vulntune process (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s holds %s", who, e.Path)
}

// Hint says what to do about it.
func (e *HeldError) Hint() string {
	return "wait for it to finish or stop it; a run can take another directory (--output-dir), a daemon another data_dir"
}

// Acquire takes the lock file at path without waiting (but for a moment:
// a status probe may hold it for an instant); a lock held by another
// process is a *HeldError naming its pid.
func Acquire(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	err = lockFile(f)
	for i := 0; i < 5 && errors.Is(err, errHeld); i++ {
		time.Sleep(20 * time.Millisecond)
		err = lockFile(f)
	}
	if err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, errHeld) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &HeldError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is for the holder's error message only; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// AcquireDir locks the directory dir (created if missing) through the lock
// file DirName inside it.
func AcquireDir(dir string) (*Lock, error) {
	return Acquire(filepath.Join(dir, DirName))
}

// Release gives the lock up.
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

// Held reports whether some process holds the lock at path, by taking a
// shared lock for an instant: refused exactly while a holder has its
// exclusive one (Acquire retries briefly, so a holder starting during that
// instant is not turned away).
func Held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return probeShared(f)
}

var errHeld = errors.New("held by another process")
