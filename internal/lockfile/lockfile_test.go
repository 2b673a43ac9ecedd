package lockfile_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/lockfile"
)

func TestSecondHolderIsRefused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	first, err := lockfile.AcquireDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open file descriptions: a second Acquire in the
	// same process conflicts just as another process would.
	_, err = lockfile.AcquireDir(dir)
	var held *lockfile.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a HeldError", err)
	}
	if held.PID != os.Getpid() || !strings.Contains(err.Error(), dir) || !lockfile.Held(filepath.Join(dir, lockfile.DirName)) {
		t.Fatalf("error %q names pid %d, want %d and the dir", err, held.PID, os.Getpid())
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if lockfile.Held(filepath.Join(dir, lockfile.DirName)) {
		t.Error("released, yet Held says held")
	}
	again, err := lockfile.AcquireDir(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

// A holder killed with SIGKILL leaves no stale lock behind.
func TestKilledHolderLeavesNoLock(t *testing.T) {
	t.Parallel()
	if os.Getenv("LOCKFILE_HOLD") != "" {
		l, err := lockfile.AcquireDir(os.Getenv("LOCKFILE_HOLD"))
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		// Sleep, not select{}: a process whose goroutines all block
		// dies of the runtime's deadlock check, releasing the lock. l
		// stays reachable: a finalized Lock closes its file and flock.
		time.Sleep(time.Hour)
		l.Release()
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolderLeavesNoLock$")
	cmd.Env = append(os.Environ(), "LOCKFILE_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf[:4]) != "held" {
		t.Fatalf("child did not take the lock: %q %v", buf, err)
	}
	var held *lockfile.HeldError
	if _, err := lockfile.AcquireDir(dir); !errors.As(err, &held) || held.PID != cmd.Process.Pid {
		t.Fatalf("while the child holds it: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := lockfile.AcquireDir(dir)
	if err != nil {
		t.Fatalf("after kill -9: %v", err)
	}
	l.Release()
}
