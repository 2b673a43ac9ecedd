package engine

import (
	"context"
	"embed"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Backends accepted by setup. "auto" picks one for the machine.
const (
	BackendAuto  = "auto"
	BackendCPU   = "cpu"
	BackendCUDA  = "cuda"
	BackendMetal = "metal"
)

//go:embed lock/*.txt
var lockFiles embed.FS

// Lock is one embedded, hashed requirements file.
type Lock struct {
	Name    string // "linux-cpu"
	Content []byte
}

// Packages counts the pinned requirements (one "name==version" line each).
func (l Lock) Packages() int {
	n := 0
	for _, line := range strings.Split(string(l.Content), "\n") {
		if strings.Contains(line, "==") && !strings.HasPrefix(line, "#") && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			n++
		}
	}
	return n
}

// ResolveBackend turns "auto" (or "") into a concrete backend for goos/goarch
// and checks that the backend can run there. hasNvidiaGPU is consulted only
// on Linux with auto.
func ResolveBackend(ctx context.Context, want, goos, goarch string, hasNvidiaGPU func(context.Context) bool) (string, error) {
	switch want {
	case "", BackendAuto:
		switch {
		case goos == "darwin" && goarch == "arm64":
			return BackendMetal, nil
		case goos == "linux" && hasNvidiaGPU(ctx):
			return BackendCUDA, nil
		case goos == "linux":
			return BackendCPU, nil
		}
		return "", fmt.Errorf("no MLX build for %s/%s (supported: darwin/arm64, linux/amd64, linux/arm64)", goos, goarch)
	case BackendMetal:
		if goos != "darwin" || goarch != "arm64" {
			return "", fmt.Errorf("backend metal needs macOS on Apple silicon, not %s/%s", goos, goarch)
		}
	case BackendCPU, BackendCUDA:
		if goos != "linux" {
			return "", fmt.Errorf("backend %s is locked for Linux only, not %s", want, goos)
		}
	default:
		return "", fmt.Errorf("unknown backend %q (want auto, cpu, cuda or metal)", want)
	}
	return want, nil
}

// LockFor returns the embedded lock file for a concrete backend.
func LockFor(backend string) (Lock, error) {
	name := map[string]string{BackendCPU: "linux-cpu", BackendCUDA: "linux-cuda12", BackendMetal: "darwin-arm64"}[backend]
	if name == "" {
		return Lock{}, fmt.Errorf("no lock file for backend %q", backend)
	}
	b, err := lockFiles.ReadFile("lock/" + name + ".txt")
	if err != nil {
		return Lock{}, fmt.Errorf("read embedded lock %s: %w", name, err)
	}
	return Lock{Name: name, Content: b}, nil
}

// NvidiaGPU reports whether nvidia-smi lists at least one GPU.
func NvidiaGPU(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nvidia-smi", "-L").Output()
	return err == nil && strings.Contains(string(out), "GPU ")
}

// HostBackend resolves want for the running machine.
func HostBackend(ctx context.Context, want string) (string, error) {
	return ResolveBackend(ctx, want, runtime.GOOS, runtime.GOARCH, NvidiaGPU)
}
