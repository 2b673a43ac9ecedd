//go:build !unix

package engine

import "os/exec"

// setProcessGroup falls back to killing the direct child on platforms
// without process groups; mlx has no supported engine there.
func setProcessGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {}
