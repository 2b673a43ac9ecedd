//go:build !unix

package lockfile

import (
	"errors"
	"os"
)

// lockFile has no advisory lock to take where there is no flock: vulntune's
// engine (MLX) and its daemon's services run on macOS and Linux only, and
// running unlocked would be worse than refusing.
func lockFile(*os.File) error {
	return errors.New("lock files need a Unix system (macOS or Linux)")
}

func unlockFile(*os.File) error { return nil }

func probeShared(*os.File) bool { return false }
