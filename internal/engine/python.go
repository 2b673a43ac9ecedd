package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MinPython is the oldest interpreter the lock files support: mlx-lm 0.32.2
// declares Requires-Python >= 3.11.
var MinPython = [2]int{3, 11}

// pythonCandidates are searched on PATH in order, newest first.
var pythonCandidates = []string{"python3.13", "python3.12", "python3.11", "python3"}

// Interpreter is a Python found for building the venv.
type Interpreter struct {
	Path    string
	Version string // "3.11.7"
}

// NoPythonError lists what was tried when no usable interpreter exists.
type NoPythonError struct {
	Tried []string
}

func (e *NoPythonError) Error() string {
	return fmt.Sprintf("no Python >= %d.%d found (tried %s)", MinPython[0], MinPython[1], strings.Join(e.Tried, "; "))
}

// Hint says how to get one.
func (e *NoPythonError) Hint() string {
	return fmt.Sprintf("install Python %d.%d or newer, or pass `vulntune setup --python /path/to/python3`", MinPython[0], MinPython[1])
}

// FindPython returns explicit if set (it must be recent enough), else the
// first candidate on pathList (a PATH-style list) that runs and is recent
// enough. Shims that exist but fail (pyenv without that version) are skipped.
func FindPython(ctx context.Context, explicit, pathList string) (*Interpreter, error) {
	if explicit != "" {
		v, err := pythonVersion(ctx, explicit)
		if err != nil {
			return nil, fmt.Errorf("--python %s: %w", explicit, err)
		}
		if !atLeast(v, MinPython) {
			return nil, &NoPythonError{Tried: []string{fmt.Sprintf("%s: %s is too old", explicit, v)}}
		}
		return &Interpreter{Path: explicit, Version: v}, nil
	}
	var tried []string
	for _, name := range pythonCandidates {
		path := lookPath(name, pathList)
		if path == "" {
			tried = append(tried, name+": not on PATH")
			continue
		}
		v, err := pythonVersion(ctx, path)
		switch {
		case err != nil:
			tried = append(tried, fmt.Sprintf("%s: %v", path, err))
		case !atLeast(v, MinPython):
			tried = append(tried, fmt.Sprintf("%s: %s is too old", path, v))
		default:
			return &Interpreter{Path: path, Version: v}, nil
		}
	}
	return nil, &NoPythonError{Tried: tried}
}

// lookPath is exec.LookPath over an explicit list, so a test (or a caller)
// decides what PATH means.
func lookPath(name, pathList string) string {
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func pythonVersion(ctx context.Context, python string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])")
	cmd.Env = childEnv(os.Environ(), Call{})
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("does not run: %w", err)
	}
	v := strings.TrimSpace(string(out))
	if _, ok := parseVersion(v); !ok {
		return "", fmt.Errorf("unexpected version %q", v)
	}
	return v, nil
}

func parseVersion(v string) ([2]int, bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return [2]int{maj, minor}, err1 == nil && err2 == nil
}

func atLeast(v string, min [2]int) bool {
	p, ok := parseVersion(v)
	return ok && (p[0] > min[0] || p[0] == min[0] && p[1] >= min[1])
}
