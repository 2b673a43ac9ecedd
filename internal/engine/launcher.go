package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultGrace is how long a cancelled child gets between SIGTERM and
// SIGKILL. mlx_lm.server and the worker exit in well under a second.
const DefaultGrace = 5 * time.Second

// passEnv is the allow-list of variables a child inherits. Everything else,
// tokens included, stays in the vulntune process unless a Call asks for it.
var passEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM",
	"HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_XET",
	"XDG_CACHE_HOME", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
	"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
	"CUDA_VISIBLE_DEVICES", "MLX_METAL_FAST_SYNCH",
}

// Launcher starts engine child processes. It is the only way vulntune starts
// Python. The zero value is not usable: Python and LogDir must be set.
type Launcher struct {
	Python string        // interpreter that runs every Call
	LogDir string        // each call's stdout/stderr log goes here
	Grace  time.Duration // SIGTERM to SIGKILL; DefaultGrace when zero
	Log    *slog.Logger  // nil: discard
	// Preload is a shared library every child preloads (LD_PRELOAD): the
	// optimised BLAS on Linux (see SystemBLAS); "" for none.
	Preload string
	// Malloc is extra environment for the interpreter's children: the
	// allocator tuning of MallocTuning on Linux; nil for none.
	Malloc []string
	// Kernels is extra environment that picks the scripts' CPU kernels
	// (see CPUKernels); nil for MLX's own.
	Kernels []string
}

// Call describes one child process.
type Call struct {
	Op   string   // short name used for the log file and errors ("generate")
	Args []string // argv after the interpreter
	// Program replaces the interpreter (e.g. a base python creating the venv).
	Program string
	// HFToken is passed as HF_TOKEN only when set: explicit opt-in for the
	// calls that talk to the Hub.
	HFToken string
	// Env adds KEY=VALUE pairs after the allow-listed ones.
	Env []string
	// PassPrefixes lets variables with these prefixes through (e.g. "PIP_"
	// so a user's index mirror reaches pip).
	PassPrefixes []string
	Stdin        io.Reader
	// Stdout receives the child's stdout, which is also copied to the log.
	// When nil, Process.Stdout is a pipe the caller must read to EOF.
	Stdout io.Writer
}

// Process is a running child. The caller must call Wait.
type Process struct {
	Op      string
	LogPath string
	// Stdout is set when Call.Stdout was nil.
	Stdout io.ReadCloser
	ctx    context.Context
	cmd    *exec.Cmd
	logf   *os.File
	out    *logWriter
	exited chan struct{} // closed by Wait
}

// enforceGrace ends a cancelled child's whole process group once grace has
// passed, and closes our end of its stdout. exec's own WaitDelay kills only
// the group leader, and the group's other processes (a server the child
// started, a helper deaf to SIGTERM) would run on until Wait's killGroup;
// vulntune promises to stop within seconds of a signal, whatever its
// children do.
func (p *Process) enforceGrace(grace time.Duration) {
	select {
	case <-p.ctx.Done():
	case <-p.exited:
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-t.C:
		killGroup(p.cmd)
		if p.Stdout != nil {
			_ = p.Stdout.Close()
		}
	case <-p.exited:
	}
}

// Start starts c in its own process group. Cancelling ctx sends SIGTERM to
// the whole group and, after the grace period, SIGKILL.
func (l *Launcher) Start(ctx context.Context, c Call) (*Process, error) {
	if err := os.MkdirAll(l.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("create engine log dir: %w", err)
	}
	logPath := filepath.Join(l.LogDir, fmt.Sprintf("%s-%s.log", sanitize(c.Op), time.Now().Format("20060102-150405.000000")))
	logf, err := os.Create(logPath) // #nosec: a log of our own child, not an artifact
	if err != nil {
		return nil, fmt.Errorf("create engine log: %w", err)
	}
	prog := c.Program
	if prog == "" {
		prog = l.Python
	}
	args := c.Args
	if c.Program == "" {
		// A crashed or aborted interpreter prints every thread's Python
		// traceback into the log and the error's stderr tail. An option, not
		// PYTHONFAULTHANDLER: scripts run under -I, which ignores PYTHON*.
		args = append([]string{"-X", "faulthandler"}, args...)
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = childEnv(os.Environ(), c)
	if l.Preload != "" && c.Program == "" {
		cmd.Env = append(cmd.Env, "LD_PRELOAD="+l.Preload)
	}
	if c.Program == "" {
		cmd.Env = append(cmd.Env, l.Malloc...)
		cmd.Env = append(cmd.Env, l.Kernels...)
	}
	setProcessGroup(cmd)
	cmd.WaitDelay = l.Grace
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = DefaultGrace
	}
	fmt.Fprintf(logf, "# %s: %s %s\n", c.Op, prog, strings.Join(args, " "))
	lw := &logWriter{f: logf}
	cmd.Stderr = lw
	cmd.Stdin = c.Stdin
	p := &Process{Op: c.Op, LogPath: logPath, ctx: ctx, cmd: cmd, logf: logf, out: lw}
	if c.Stdout != nil {
		cmd.Stdout = io.MultiWriter(c.Stdout, lw)
	} else {
		r, err := cmd.StdoutPipe()
		if err != nil {
			logf.Close()
			return nil, fmt.Errorf("engine %s: %w", c.Op, err)
		}
		p.Stdout = r
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, &EngineError{Op: c.Op, Code: -1, LogPath: logPath, Err: err}
	}
	p.exited = make(chan struct{})
	go p.enforceGrace(cmd.WaitDelay)
	if l.Log != nil {
		l.Log.Debug("engine started", "op", c.Op, "pid", cmd.Process.Pid, "log", logPath)
	}
	return p, nil
}

// Pid returns the child's process id (also its process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the child, kills whatever is left of its process group and
// maps a failure to *EngineError.
func (p *Process) Wait() error {
	err := p.cmd.Wait()
	close(p.exited)
	killGroup(p.cmd)
	p.logf.Close()
	if err == nil {
		return nil
	}
	e := &EngineError{Op: p.Op, Code: -1, StderrTail: p.out.tail(), LogPath: p.LogPath, Err: err}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		e.Code = xe.ExitCode()
	}
	if ctxErr := p.ctx.Err(); ctxErr != nil {
		e.Err = errors.Join(ctxErr, err)
	}
	return e
}

// Run starts c and waits for it.
func (l *Launcher) Run(ctx context.Context, c Call) error {
	p, err := l.Start(ctx, c)
	if err != nil {
		return err
	}
	if p.Stdout != nil {
		_, _ = io.Copy(p.out, p.Stdout)
	}
	return p.Wait()
}

func childEnv(environ []string, c Call) []string {
	allowed := make(map[string]bool, len(passEnv))
	for _, k := range passEnv {
		allowed[k] = true
	}
	var env []string
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		pass := allowed[k]
		for _, p := range c.PassPrefixes {
			pass = pass || strings.HasPrefix(k, p)
		}
		if pass {
			env = append(env, kv)
		}
	}
	// Unbuffered so events arrive as they happen; no user site-packages so
	// the venv is all the engine sees; no telemetry from the Hub client.
	env = append(env, "PYTHONUNBUFFERED=1", "PYTHONNOUSERSITE=1", "PYTHONDONTWRITEBYTECODE=1",
		"HF_HUB_DISABLE_TELEMETRY=1", "TOKENIZERS_PARALLELISM=false")
	if c.HFToken != "" {
		env = append(env, "HF_TOKEN="+c.HFToken)
	}
	return append(env, c.Env...)
}

func sanitize(op string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, op)
}

// tailLines is how much of a failing child's output an EngineError quotes.
const tailLines = 20

// logWriter copies everything to the log file and keeps the last bytes in
// memory for the error message. exec writes stdout and stderr from two
// goroutines, hence the lock.
type logWriter struct {
	mu  sync.Mutex
	f   *os.File
	buf []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.f.Write(b) // a full disk must not kill the child; the tail survives
	w.buf = append(w.buf, b...)
	if len(w.buf) > 64<<10 {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-32<<10:]...)
	}
	return len(b), nil
}

func (w *logWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := bytes.Split(bytes.TrimRight(w.buf, "\n"), []byte("\n"))
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
