// Package engine owns vulntune's Python engine: the virtual environment that
// `vulntune setup` builds from pinned, hashed lock files, the embedded worker
// that speaks JSON lines, and the lifecycle of every Python child process
// (process group, SIGTERM on cancel, bounded grace, stderr kept in a log).
// No other package starts Python.
package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Layout under the data dir.
const (
	engineSubdir = "engine"
	venvSubdir   = "venv"
	logsSubdir   = "logs"
	workerSubdir = "worker"
	stampName    = "vulntune-stamp.json"
)

// Engine runs worker ops and servers with one interpreter.
type Engine struct {
	Launcher
	// WorkerDir receives the embedded worker script.
	WorkerDir string
	// BLAS is the library Launcher.Preload holds, and why it was chosen.
	BLAS BLAS
	// Backend is the venv's backend (cpu, cuda, metal) when Open read it
	// from the install stamp; "" for an engine built by New.
	Backend string
	// Workers is how many processes the evaluate and answer ops split a
	// request's examples over, each loading the model once, and how many
	// train together, data parallel (Train): 0 lets the engine choose (two
	// on a Linux CPU engine with two cores or more, see workersAuto), 1
	// keeps one process. WorkersEnv sets it.
	Workers int
	// workersProblem is WorkersEnv's value when it was not a number.
	workersProblem string
}

// Warnings are what a user must hear every time the engine is opened, not
// only from doctor: on the reference BLAS a Linux CPU engine trains in
// hours what takes minutes, and nothing else would say why.
func (e *Engine) Warnings() []string {
	var out []string
	if e.workersProblem != "" {
		out = append(out, e.workersProblem)
	}
	if e.Backend == BackendCPU && runtime.GOOS == "linux" && !e.BLAS.Optimised() {
		out = append(out, fmt.Sprintf("the engine runs on the reference BLAS, about 30x slower (%s); fix: %s", e.BLAS.Reason, BLASHint))
	}
	return out
}

// Paths are where the engine lives under a data dir.
type Paths struct {
	Root, Venv, Logs, Worker string
}

// PathsFor returns the engine layout under dataDir.
func PathsFor(dataDir string) Paths {
	root := filepath.Join(dataDir, engineSubdir)
	return Paths{
		Root:   root,
		Venv:   filepath.Join(root, venvSubdir),
		Logs:   filepath.Join(root, logsSubdir),
		Worker: filepath.Join(root, workerSubdir),
	}
}

// VenvPython returns the interpreter inside a venv.
func VenvPython(venv string) string { return filepath.Join(venv, "bin", "python") }

// New returns an engine that runs python (any interpreter with mlx-lm
// importable, e.g. a CI-built venv) and keeps logs and the worker under
// dataDir.
func New(python, dataDir string) *Engine {
	p := PathsFor(dataDir)
	// The interpreter's venv holds the engine's OpenBLAS: python is
	// <venv>/bin/python.
	blas := hostBLAS(filepath.Dir(filepath.Dir(python)))
	workers, problem := hostWorkers(os.Getenv)
	return &Engine{
		Workers:        workers,
		workersProblem: problem,
		Launcher:       Launcher{Python: python, LogDir: p.Logs, Preload: blas.Library, Malloc: hostMalloc(), Kernels: hostKernels()},
		WorkerDir:      p.Worker,
		BLAS:           blas,
	}
}

// Open returns the engine that `vulntune setup` installed under dataDir. A
// venv without a stamp was interrupted mid-install and counts as missing.
func Open(dataDir string) (*Engine, error) {
	p := PathsFor(dataDir)
	st, err := ReadStamp(p.Venv)
	if err != nil {
		return nil, &NotInstalledError{VenvDir: p.Venv, Reason: err.Error()}
	}
	py := VenvPython(p.Venv)
	if _, err := os.Stat(py); err != nil {
		return nil, &NotInstalledError{VenvDir: p.Venv, Reason: "no interpreter in the venv"}
	}
	e := New(py, dataDir)
	e.Backend = st.Backend
	return e, nil
}

// Stamp records a completed install. It is written last, so its presence
// means the venv is whole.
type Stamp struct {
	LockName      string `json:"lock_name"`
	LockSHA256    string `json:"lock_sha256"`
	PythonVersion string `json:"python_version"`
	Backend       string `json:"backend"`
	InstalledAt   string `json:"installed_at"`
}

// ReadStamp reads the stamp of the venv at dir.
func ReadStamp(venv string) (*Stamp, error) {
	b, err := os.ReadFile(filepath.Join(venv, stampName))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no install stamp (setup never finished)")
		}
		return nil, fmt.Errorf("read install stamp: %w", err)
	}
	var s Stamp
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read install stamp %s: %w", filepath.Join(venv, stampName), err)
	}
	return &s, nil
}
