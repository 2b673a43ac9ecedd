package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServeOptions configures an mlx_lm.server child.
type ServeOptions struct {
	Adapter string // LoRA adapter directory
	// DecodeConcurrency is how many requests the server decodes as one
	// batch; 0 keeps mlx-lm's default (32).
	DecodeConcurrency int
	// MaxTokens is the server's default completion length; 0 keeps mlx-lm's.
	MaxTokens int
	// Grounded decodes every completion with grounded decoding
	// (vulntune_engine/serve.py): an answer may name a vulnerability id,
	// CWE id, version, path or URL only if the request's messages (or its
	// "vulntune_ground" field) name it, and the final response object
	// carries "vulntune_grounding", the processor's counts (GroundingStats).
	Grounded bool
	// LoopGuard, with Grounded, steers each completion out of token loops
	// as evaluation and explain decode (vulntune_engine/repeat.py
	// CycleGuard, placed before grounded decoding) and ends it once the
	// guard gives up; the final response object carries
	// "vulntune_loop_guard" (LoopGuardStats). Ignored without Grounded:
	// the plain server is mlx_lm.server unchanged.
	LoopGuard *LoopGuard
	// StartTimeout bounds loading the model and answering the first health
	// check; 0 means 3 minutes.
	StartTimeout time.Duration
}

// Server is a running mlx_lm.server bound to 127.0.0.1. The caller must
// call Close.
type Server struct {
	url    string
	proc   *Process
	cancel context.CancelFunc
	done   chan error
	err    error
}

// URL is the server's base URL; the OpenAI-compatible API is under /v1.
func (s *Server) URL() string { return s.url }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.proc.Pid() }

// LogPath is the server's log file.
func (s *Server) LogPath() string { return s.proc.LogPath }

// Done is closed when the server process has exited, whatever the reason.
func (s *Server) Done() <-chan error { return s.done }

// Close stops the server (SIGTERM to its process group, SIGKILL after the
// grace period) and waits for it. Stopping it this way is not an error.
func (s *Server) Close() error {
	s.cancel()
	err, ok := <-s.done
	if !ok {
		err = s.err
	}
	s.err = err
	if err != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serveAttempts bounds retries when another process grabs the chosen port
// between picking it and the server binding it.
const serveAttempts = 3

// Serve starts `python -m mlx_lm server` (with opts.Grounded, the engine's
// serve module, which runs the same server with grounded decoding hooked
// in) on a free loopback port and waits until it answers GET /v1/models
// and one completion. It fails early, quoting the server's stderr, if the
// process exits first.
func (e *Engine) Serve(ctx context.Context, model string, opts ServeOptions) (*Server, error) {
	if _, err := os.Stat(filepath.Join(model, "config.json")); err != nil {
		return nil, fmt.Errorf("serve %s: not a model directory: %w", model, err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	program := []string{"-I", "-m", "mlx_lm", "server"}
	if opts.Grounded {
		root, err := installPython(e.WorkerDir)
		if err != nil {
			return nil, err
		}
		program = moduleArgs(root, "serve")
		if opts.LoopGuard != nil {
			if err := opts.LoopGuard.validate(); err != nil {
				return nil, fmt.Errorf("serve: loop guard: %w", err)
			}
			spec, err := json.Marshal(opts.LoopGuard)
			if err != nil {
				return nil, err
			}
			program = append(program, "--vulntune-loop-guard", string(spec))
		}
	}
	var last error
	for range serveAttempts {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := e.startServer(ctx, program, model, port, opts)
		if err == nil {
			return s, nil
		}
		last = err
		var ee *EngineError
		if !errors.As(err, &ee) || !strings.Contains(ee.StderrTail, "Address already in use") {
			return nil, err
		}
	}
	return nil, last
}

// startServer runs program (the argv after the interpreter that starts
// mlx-lm's server) with the server's flags.
func (e *Engine) startServer(ctx context.Context, program []string, model string, port int, opts ServeOptions) (*Server, error) {
	args := append(slices.Clip(program), "--model", model,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port))
	if opts.Adapter != "" {
		args = append(args, "--adapter-path", opts.Adapter)
	}
	if opts.DecodeConcurrency > 0 {
		args = append(args, "--decode-concurrency", strconv.Itoa(opts.DecodeConcurrency))
	}
	if opts.MaxTokens > 0 {
		args = append(args, "--max-tokens", strconv.Itoa(opts.MaxTokens))
	}
	sctx, cancel := context.WithCancel(ctx)
	p, err := e.Launcher.Start(sctx, Call{Op: "serve", Args: args, Stdout: io.Discard})
	if err != nil {
		cancel()
		return nil, err
	}
	s := &Server{url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := p.Wait()
		s.done <- err
		close(s.done)
	}()
	if err := s.waitHealthy(ctx, opts.StartTimeout); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	delay := 50 * time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/v1/models", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s.warmUp(ctx)
			}
		}
		select {
		case err, ok := <-s.done:
			s.err = err
			if err == nil || !ok {
				err = &EngineError{Op: "serve", Code: 0, Message: "server exited before it was ready", LogPath: s.proc.LogPath}
			}
			// Put the result back so Close sees it.
			s.done = closedWith(err)
			return err
		case <-deadline.C:
			return fmt.Errorf("mlx_lm server at %s not ready after %v (log: %s)", s.url, timeout, s.proc.LogPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// warmUp asks for one token. mlx_lm.server loads the model lazily on the
// first request and answers /v1/models before that, so only a completion
// proves the model loads; a broken model fails here, not in the caller's
// first request.
func (s *Server) warmUp(ctx context.Context) error {
	body := `{"model":"default_model","messages":[{"role":"user","content":"hi"}],"max_tokens":1}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return &EngineError{Op: "serve", Code: -1, Message: "model failed to load: " + err.Error(),
		StderrTail: s.proc.out.tail(), LogPath: s.proc.LogPath, Err: err}
}

func closedWith(err error) chan error {
	c := make(chan error, 1)
	c <- err
	close(c)
	return c
}

// freePort asks the kernel for a free loopback port. Another process can
// take it before the server binds; Serve retries on that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
