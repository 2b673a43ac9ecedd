package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the Python worker ships inside the binary
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

//go:embed py/protocol.py
var protocolSource []byte

//go:embed py/worker.py
var workerBody []byte

// workerSource is the worker as written to disk: the shared protocol
// prelude, then the worker's ops.
var workerSource = withProtocol(workerBody)

// withProtocol prepends the JSON-lines protocol (py/protocol.py) to an
// engine script, since python -I cannot import it as a module.
func withProtocol(body []byte) []byte {
	out := make([]byte, 0, len(protocolSource)+1+len(body))
	out = append(out, protocolSource...)
	out = append(out, '\n')
	return append(out, body...)
}

//go:embed py/cpumath.py
var cpumathSource []byte

//go:embed py/lmhead.py
var lmheadSource []byte

// withMLX prepends the protocol, the CPU kernels (py/cpumath.py) and the
// output-layer split (py/lmhead.py) to a script that trains or scores with
// MLX.
func withMLX(body []byte) []byte {
	var out []byte
	for _, part := range [][]byte{cpumathSource, lmheadSource, body} {
		out = append(append(out, part...), '\n')
	}
	return withProtocol(out)
}

// WorkerSHA256 is the checksum of the embedded worker; the file on disk is
// named after it and verified before every use.
var WorkerSHA256 = func() string { s := sha256.Sum256(workerSource); return hex.EncodeToString(s[:]) }()

// Event is one JSON line from the worker. Event is progress, metric,
// artifact, log, result or error; Raw holds the whole line for typed decoding.
type Event struct {
	Event   string          `json:"event"`
	Message string          `json:"message,omitempty"`
	Type    string          `json:"type,omitempty"` // error events: the Python exception class
	Raw     json.RawMessage `json:"-"`
}

// maxEventBytes bounds one event line; generated texts travel in one line.
const maxEventBytes = 64 << 20

// writeWorker puts the embedded worker under dir (see writeScript).
func writeWorker(dir string) (string, error) { return writeScript(dir, "worker", workerSource) }

// writeScript puts an embedded script under dir, named by its checksum, and
// rewrites it when the file on disk does not match (edited, truncated).
func writeScript(dir, name string, src []byte) (string, error) {
	sum := sha256.Sum256(src)
	hexSum := hex.EncodeToString(sum[:])
	path := filepath.Join(dir, name+"-"+hexSum[:16]+".py")
	if b, err := os.ReadFile(path); err == nil {
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) == hexSum {
			return path, nil
		}
	}
	if err := atomicfile.WriteFile(path, src, 0o644); err != nil {
		return "", fmt.Errorf("install engine %s script: %w", name, err)
	}
	return path, nil
}

// scriptCall is one run of an embedded engine script.
type scriptCall struct {
	Name    string // script name, for the file on disk
	Source  []byte
	Op      string   // op name: log file, errors, and the script's first argument
	Args    []string // argv after the script path (default: Op)
	Req     any      // sent as JSON on stdin
	HFToken string
	Env     []string
	// Grace, when longer than the launcher's, gives the script more time
	// to finish after SIGTERM (the trainer checkpoints).
	Grace time.Duration
}

// runWorker runs one op of the main worker script.
func (e *Engine) runWorker(ctx context.Context, op string, req any, hfToken string, onEvent func(Event), out any) error {
	return e.runScript(ctx, scriptCall{Name: "worker", Source: workerSource, Op: op, Req: req, HFToken: hfToken}, onEvent, out)
}

// runScript runs an embedded script: the request as JSON on stdin, events
// passed to onEvent as they arrive, the result event decoded into out, and
// every failure mapped to an *EngineError quoting the script's stderr.
func (e *Engine) runScript(ctx context.Context, c scriptCall, onEvent func(Event), out any) error {
	script, err := writeScript(e.WorkerDir, c.Name, c.Source)
	if err != nil {
		return err
	}
	body, err := json.Marshal(c.Req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", c.Op, err)
	}
	args := c.Args
	if args == nil {
		args = []string{c.Op}
	}
	l := e.Launcher
	if c.Grace > l.Grace {
		l.Grace = c.Grace
	}
	// -I: isolated mode, so neither PYTHON* variables nor the current
	// directory can inject modules into the engine.
	p, err := l.Start(ctx, Call{
		Op:      c.Op,
		Args:    append([]string{"-I", script}, args...),
		Stdin:   bytes.NewReader(body),
		HFToken: c.HFToken,
		Env:     c.Env,
	})
	if err != nil {
		return err
	}
	result, werr, derr := decodeEvents(p.Stdout, onEvent)
	if derr != nil {
		// Unread output would block the child; drain before waiting.
		_, _ = io.Copy(io.Discard, p.Stdout)
	}
	waitErr := p.Wait()
	var ee *EngineError
	switch {
	case werr != nil:
		if !errors.As(waitErr, &ee) {
			ee = &EngineError{Op: c.Op, Code: -1, LogPath: p.LogPath, Err: ctx.Err()}
		}
		ee.Kind, ee.Message = werr.Type, werr.Message
		return ee
	case waitErr != nil:
		return waitErr
	case derr != nil:
		return &EngineError{Op: c.Op, Code: 0, Message: derr.Error(), LogPath: p.LogPath}
	case result == nil:
		return &EngineError{Op: c.Op, Code: 0, Message: "engine script exited without a result event", LogPath: p.LogPath}
	}
	if out != nil {
		if err := json.Unmarshal(result, out); err != nil {
			return &EngineError{Op: c.Op, Code: 0, Message: fmt.Sprintf("decode result: %v", err), LogPath: p.LogPath}
		}
	}
	return nil
}

// decodeEvents reads JSON lines until EOF. It returns the result line, the
// worker's error event if any, and a protocol error for a line that is not
// an event (the worker routes stray prints to stderr, so this is a bug).
func decodeEvents(r io.Reader, onEvent func(Event)) (json.RawMessage, *Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	var result json.RawMessage
	var werr *Event
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Event == "" {
			return result, werr, fmt.Errorf("worker protocol: line is not an event: %.200q", line)
		}
		ev.Raw = append(json.RawMessage(nil), line...)
		switch ev.Event {
		case "result":
			result = ev.Raw
		case "error":
			e := ev
			werr = &e
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
	if err := sc.Err(); err != nil {
		return result, werr, fmt.Errorf("worker protocol: %w", err)
	}
	return result, werr, nil
}
