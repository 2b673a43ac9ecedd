//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

// lockFile has no advisory lock to take where there is no flock; vulntune's
// engine (MLX) runs on macOS and Linux only.
func lockFile(*os.File) error {
	return errors.New("directory locks need a Unix system")
}

func unlockFile(*os.File) error { return nil }
