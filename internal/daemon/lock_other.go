//go:build !unix

package daemon

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("lock held")

// tryLock: the daemon runs as a launchd or systemd service, so only Unix
// is supported; elsewhere it refuses rather than run unlocked.
func tryLock(*os.File) error {
	return errors.New("the daemon's state lock needs a Unix system (macOS or Linux)")
}

func lockHeld(string) bool { return false }
