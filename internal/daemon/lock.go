package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockedError says another process holds a lock; PID is 0 when it could
// not be read.
type LockedError struct {
	Path string
	PID  int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is held by another vulntune daemon (pid %d): one state directory serves one daemon", e.Path, e.PID)
	}
	return fmt.Sprintf("%s is held by another process: one state directory serves one daemon", e.Path)
}

// Hint tells the user how to get past the lock.
func (e *LockedError) Hint() string {
	return "stop the other daemon (vulntune daemon uninstall, or kill the pid) or give this one another data_dir"
}

// Lock is an exclusive advisory lock on a file (flock on Unix): the
// kernel drops it when the holder exits in any way, kill -9 included, so a
// stale lock file never blocks a restart.
type Lock struct {
	f    *os.File
	path string
}

// AcquireLock takes the lock at path without waiting and writes this
// process's id into the file. It fails with *LockedError when another
// process holds it.
func AcquireLock(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	err = tryLock(f)
	for i := 0; i < 5 && errors.Is(err, errWouldBlock); i++ {
		time.Sleep(20 * time.Millisecond) // `daemon status` may be probing it
		err = tryLock(f)
	}
	if err != nil {
		defer f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Path: path, PID: readPID(f)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is for the error a second daemon prints; the lock itself is
	// the flock, so a torn write here misleads nobody about who holds it.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		_ = f.Sync()
	}
	return &Lock{f: f, path: path}, nil
}

// Release drops the lock. The file stays, so the next holder reuses it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}
