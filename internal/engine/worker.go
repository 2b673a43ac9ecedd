package engine

import (
	"bufio"
	"bytes"
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

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

// scriptCall is one run of a module of the engine's Python package.
type scriptCall struct {
	Module  string   // vulntune_engine.<Module>: worker, train, evaluate, hub
	Op      string   // op name: log file, errors, and the module's first argument
	Args    []string // argv after the module (default: Op)
	Req     any      // sent as JSON on stdin
	HFToken string
	Env     []string
	// Grace, when longer than the launcher's, gives the module more time
	// to finish after SIGTERM (the trainer checkpoints).
	Grace time.Duration
}

// runWorker runs one op of the main worker script.
func (e *Engine) runWorker(ctx context.Context, op string, req any, hfToken string, onEvent func(Event), out any) error {
	return e.runScript(ctx, scriptCall{Module: "worker", Op: op, Req: req, HFToken: hfToken}, onEvent, out)
}

// runScript runs a module of the engine's package: the request as JSON on
// stdin, events passed to onEvent as they arrive, the result event decoded
// into out, and every failure mapped to an *EngineError quoting the
// module's stderr.
func (e *Engine) runScript(ctx context.Context, c scriptCall, onEvent func(Event), out any) error {
	root, err := installPython(e.WorkerDir)
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
		Args:    append(moduleArgs(root, c.Module), args...),
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
