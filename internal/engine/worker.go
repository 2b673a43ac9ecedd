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

	"github.com/vulntune/vulntune/internal/atomicfile"
)

//go:embed py/worker.py
var workerSource []byte

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

// writeWorker puts the embedded worker under dir, named by its checksum, and
// rewrites it when the file on disk does not match (edited, truncated).
func writeWorker(dir string) (string, error) {
	path := filepath.Join(dir, "worker-"+WorkerSHA256[:16]+".py")
	if b, err := os.ReadFile(path); err == nil {
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) == WorkerSHA256 {
			return path, nil
		}
	}
	if err := atomicfile.WriteFile(path, workerSource, 0o644); err != nil {
		return "", fmt.Errorf("install engine worker: %w", err)
	}
	return path, nil
}

// runWorker runs one worker op: req is sent as JSON on stdin, events are
// passed to onEvent as they arrive, and the result event is decoded into out.
func (e *Engine) runWorker(ctx context.Context, op string, req any, hfToken string, onEvent func(Event), out any) error {
	script, err := writeWorker(e.WorkerDir)
	if err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", op, err)
	}
	// -I: isolated mode, so neither PYTHON* variables nor the current
	// directory can inject modules into the engine.
	p, err := e.Launcher.Start(ctx, Call{
		Op:      op,
		Args:    []string{"-I", script, op},
		Stdin:   bytes.NewReader(body),
		HFToken: hfToken,
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
			ee = &EngineError{Op: op, Code: -1, LogPath: p.LogPath}
		}
		ee.Kind, ee.Message = werr.Type, werr.Message
		return ee
	case waitErr != nil:
		return waitErr
	case derr != nil:
		return &EngineError{Op: op, Code: 0, Message: derr.Error(), LogPath: p.LogPath}
	case result == nil:
		return &EngineError{Op: op, Code: 0, Message: "worker exited without a result event", LogPath: p.LogPath}
	}
	if out != nil {
		if err := json.Unmarshal(result, out); err != nil {
			return &EngineError{Op: op, Code: 0, Message: fmt.Sprintf("decode result: %v", err), LogPath: p.LogPath}
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
